// Stand-in for the parts of AVFoundation the app's adapters use, for
// type-checking them on Linux (linux-checks.sh). Declared as conservatively
// as Apple's SDK might be: classes are not Sendable, closures not @Sendable,
// so a Swift 6 error here is one Xcode would report too. Signatures follow the
// iOS 17 SDK's Swift interface as documented.
@_exported import Foundation  // as Apple's frameworks do

public final class AVAudioSession {
    public struct Category: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let ambient = Category(rawValue: "ambient")
        public static let playback = Category(rawValue: "playback")
        public static let playAndRecord = Category(rawValue: "playAndRecord")
    }
    public struct Mode: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let `default` = Mode(rawValue: "default")
        public static let measurement = Mode(rawValue: "measurement")
        public static let spokenAudio = Mode(rawValue: "spokenAudio")
    }
    public struct CategoryOptions: OptionSet, Sendable {
        public let rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        public static let duckOthers = CategoryOptions(rawValue: 2)
        public static let defaultToSpeaker = CategoryOptions(rawValue: 8)
    }
    public struct SetActiveOptions: OptionSet, Sendable {
        public let rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        public static let notifyOthersOnDeactivation = SetActiveOptions(rawValue: 1)
    }
    public static func sharedInstance() -> AVAudioSession { AVAudioSession() }
    public var category: Category { .ambient }
    public var mode: Mode { .default }
    public var categoryOptions: CategoryOptions { [] }
    public func setCategory(_ category: Category, mode: Mode, options: CategoryOptions = []) throws {}
    public func setActive(_ active: Bool, options: SetActiveOptions = []) throws {}
}

public final class AVAudioApplication {
    public class func requestRecordPermission() async -> Bool { false }
}

public final class AVAudioFormat {}
public final class AVAudioTime {}
public final class AVAudioPCMBuffer {}
public typealias AVAudioNodeTapBlock = (AVAudioPCMBuffer, AVAudioTime) -> Void

public class AVAudioNode {
    public func installTap(onBus bus: Int, bufferSize: UInt32, format: AVAudioFormat?,
                           block: @escaping AVAudioNodeTapBlock) {}
    public func removeTap(onBus bus: Int) {}
    public func outputFormat(forBus bus: Int) -> AVAudioFormat { AVAudioFormat() }
}

public final class AVAudioInputNode: AVAudioNode {}

public final class AVAudioEngine {
    public init() {}
    public var inputNode: AVAudioInputNode { AVAudioInputNode() }
    public var isRunning: Bool { false }
    public func prepare() {}
    public func start() throws {}
    public func stop() {}
}

public final class AVSpeechUtterance: NSObject {
    public init(string: String) {}
    public var rate: Float = 0.5
    public var prefersAssistiveTechnologySettings = false
}

public let AVSpeechUtteranceMinimumSpeechRate: Float = 0
public let AVSpeechUtteranceMaximumSpeechRate: Float = 1

public enum AVSpeechBoundary: Int, Sendable {
    case immediate, word
}

public protocol AVSpeechSynthesizerDelegate: AnyObject {
    func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didFinish utterance: AVSpeechUtterance)
    func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didCancel utterance: AVSpeechUtterance)
}

// Objective-C's optional requirements.
extension AVSpeechSynthesizerDelegate {
    public func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didFinish utterance: AVSpeechUtterance) {}
    public func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didCancel utterance: AVSpeechUtterance) {}
}

public final class AVSpeechSynthesizer: NSObject {
    public override init() {}
    public weak var delegate: (any AVSpeechSynthesizerDelegate)?
    public var usesApplicationAudioSession = true
    public func speak(_ utterance: AVSpeechUtterance) {}
    @discardableResult public func stopSpeaking(at boundary: AVSpeechBoundary) -> Bool { true }
}
