import Foundation
import ImpKit
import Observation

/// The settings screen. Every change is saved at once and reported through
/// `onChange`, which reloads the model when what it was loaded with changed.
@MainActor
@Observable
public final class SettingsViewModel: DescribesControls {
    public private(set) var settings: AppSettings
    /// Installed models that can be chosen (the unusable are on the models screen).
    public private(set) var models: [(id: String, title: String)] = []

    @ObservationIgnored private let storage: any SettingsStorage
    @ObservationIgnored private let device: any DeviceFacts
    @ObservationIgnored public var onChange: @MainActor (_ old: AppSettings, _ new: AppSettings) -> Void = { _, _ in }
    /// The native image size of the chosen model, if known.
    @ObservationIgnored public var chosenModelImageSize: @MainActor () -> Int? = { nil }

    public init(storage: any SettingsStorage, device: any DeviceFacts) {
        self.storage = storage
        self.device = device
        settings = storage.load() ?? AppSettings()
    }

    public func setModels(_ installed: [InstalledModel], titles: (InstalledModel) -> String) {
        models = installed.filter { $0.problem == nil }.map { ($0.id, titles($0)) }
    }

    public func update(_ change: (inout AppSettings) -> Void) {
        var new = settings
        change(&new)
        new.speechRate = min(1, max(0, new.speechRate))
        if let threads = new.threads { new.threads = min(device.allCores, max(1, threads)) }
        guard new != settings else { return }
        let old = settings
        settings = new
        storage.save(new)
        onChange(old, new)
    }

    public func chooseModel(_ id: String?) { update { $0.modelId = id } }
    public func setResolution(_ mode: ResolutionMode) { update { $0.resolution = mode } }
    public func setAnswerLength(_ length: AnswerLength) { update { $0.answerLength = length } }
    public func setThreads(_ threads: Int?) { update { $0.threads = threads } }
    public func setSpeech(_ mode: SpeechMode) { update { $0.speech = mode } }
    public func setSpeechRate(_ rate: Float) { update { $0.speechRate = rate } }
    public func setHaptics(_ on: Bool) { update { $0.haptics = on } }
    public func setWifiOnly(_ on: Bool) { update { $0.wifiOnly = on } }

    /// Thread choices: automatic (one per performance core), then 1...all cores.
    public var threadChoices: [Int?] { [nil] + Array(1...max(1, device.allCores)) }

    public func threadTitle(_ threads: Int?) -> String {
        guard let threads else {
            let cores = device.performanceCores.map { " (\($0))" } ?? ""
            return "Automatic: performance cores\(cores)"
        }
        return threads == 1 ? "1 thread" : "\(threads) threads"
    }

    /// Whether the detailed mode changes anything for the chosen model.
    public var resolutionNote: String? {
        guard let native = chosenModelImageSize() else { return nil }
        if native <= 196 {
            return "The chosen model sees 196-pixel pictures in both modes. A 384-pixel model reads finer detail."
        }
        return settings.resolution == .fast
            ? "Pictures encode about four times faster; fine print may be missed."
            : "Reads finer detail, such as small text; pictures take longer to encode."
    }

    public var controls: [Control] {
        let modelTitle = models.first(where: { $0.id == settings.modelId })?.title ?? "None"
        return [
            Control(.chooseModel, label: "Model", hint: "Chooses the model that answers.",
                    isEnabled: !models.isEmpty, value: modelTitle),
            Control(.resolution, label: "Resolution", hint: "Fast reads a smaller picture; detailed reads more.",
                    value: settings.resolution.title),
            Control(.answerLength, label: "Answer length", hint: "How long answers may be.",
                    value: settings.answerLength.title),
            Control(.threads, label: "Threads", hint: "How many processor cores compute answers.",
                    value: threadTitle(settings.threads)),
            Control(.speechMode, label: "Speak answers",
                    hint: "When answers are read aloud as they are written. With VoiceOver on, VoiceOver reads them, "
                        + "and a braille display shows them.",
                    value: settings.speech.title),
            Control(.speechRate, label: "Speaking rate", hint: "How fast answers are read aloud.",
                    value: "\(Int((settings.speechRate * 100).rounded())) percent"),
            Control(.haptics, label: "Vibrate", hint: "A short vibration when an answer starts and ends.",
                    value: settings.haptics ? "On" : "Off"),
            Control(.wifiOnly, label: "Download models on Wi-Fi only",
                    hint: "Off Wi-Fi, asks before a model's download uses mobile data.",
                    value: settings.wifiOnly ? "On" : "Off"),
            Control(.openBenchmark, label: "Benchmark", hint: "Measures how fast this phone runs the model."),
        ]
    }
}
