import Foundation
import ImpKit

/// Everything the person can set. Unknown or missing keys decode to defaults,
/// so an older app's saved settings still load.
public struct AppSettings: Codable, Equatable, Sendable {
    /// The installed model to answer with.
    public var modelId: String?
    public var resolution: ResolutionMode = .fast
    public var answerLength: AnswerLength = .normal
    /// Inference threads; nil means one per performance core.
    public var threads: Int?
    public var speech: SpeechMode = .whenVoiceOverIsOn
    /// The synthesizer's rate, 0...1 (0.5 is its default).
    public var speechRate: Float = 0.5
    public var haptics: Bool = true
    /// Off Wi-Fi, a model's download asks before using mobile data.
    public var wifiOnly: Bool = true

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AppSettings()
        modelId = try c.decodeIfPresent(String.self, forKey: .modelId)
        resolution = (try? c.decodeIfPresent(ResolutionMode.self, forKey: .resolution)) ?? d.resolution
        answerLength = (try? c.decodeIfPresent(AnswerLength.self, forKey: .answerLength)) ?? d.answerLength
        threads = try? c.decodeIfPresent(Int.self, forKey: .threads)
        speech = (try? c.decodeIfPresent(SpeechMode.self, forKey: .speech)) ?? d.speech
        speechRate = (try? c.decodeIfPresent(Float.self, forKey: .speechRate)) ?? d.speechRate
        haptics = (try? c.decodeIfPresent(Bool.self, forKey: .haptics)) ?? d.haptics
        wifiOnly = (try? c.decodeIfPresent(Bool.self, forKey: .wifiOnly)) ?? d.wifiOnly
    }
}

/// The paper's resolution reduction: 196 px pictures (196 image tokens) encode
/// about 4x faster than 384 px ones (729 tokens) and read less fine detail.
public enum ResolutionMode: String, Codable, CaseIterable, Sendable {
    case fast
    case detailed

    public var title: String {
        switch self {
        case .fast: "Fast (196 pixels)"
        case .detailed: "Detailed (384 pixels)"
        }
    }

    /// The vision input size to load a model with: nil keeps the model's own.
    /// A model trained at 196 px stays at 196 in both modes (running it larger
    /// would only stretch its position embeddings).
    public func imageSize(forModelTrainedAt native: Int) -> UInt32? {
        switch self {
        case .fast: native > 196 ? 196 : nil
        case .detailed: nil
        }
    }
}

public enum AnswerLength: String, Codable, CaseIterable, Sendable {
    case short, normal, long

    public var maxTokens: UInt32 {
        switch self {
        case .short: 96
        case .normal: 256
        case .long: 512
        }
    }

    public var title: String {
        switch self {
        case .short: "Short"
        case .normal: "Normal"
        case .long: "Long"
        }
    }
}

/// When answers are read aloud as they are written (AnswerNarrator, rule 2):
/// by VoiceOver when it runs, by the speech synthesizer otherwise.
public enum SpeechMode: String, Codable, CaseIterable, Sendable {
    case whenVoiceOverIsOn
    case always
    case never

    public var title: String {
        switch self {
        case .whenVoiceOverIsOn: "When VoiceOver is on"
        case .always: "Always"
        case .never: "Never"
        }
    }
}

extension AppSettings {
    /// Options to load `model` with under these settings.
    public func engineOptions(nativeImageSize: Int?, device: any DeviceFacts) -> EngineOptions {
        EngineOptions(
            threads: (threads ?? device.performanceCores).map { UInt32(max(1, $0)) },
            imageSize: nativeImageSize.flatMap { resolution.imageSize(forModelTrainedAt: $0) },
            availableMemoryBytes: device.profile().availableRamBytes)
    }

    public var answerSettings: AnswerSettings { AnswerSettings(maxTokens: answerLength.maxTokens) }
}

/// Settings in memory (tests, previews, and where nothing should persist).
public final class MemorySettingsStorage: SettingsStorage, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: AppSettings?
    public init(_ settings: AppSettings? = nil) { stored = settings }
    public func load() -> AppSettings? { lock.withLock { stored } }
    public func save(_ settings: AppSettings) { lock.withLock { stored = settings } }
}
