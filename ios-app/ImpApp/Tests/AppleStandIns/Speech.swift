// Stand-in for the parts of the Speech framework the app uses (see
// AVFoundation.swift here for why and how).
import AVFoundation
@_exported import Foundation  // as Apple's frameworks do

public enum SFSpeechRecognizerAuthorizationStatus: Int, Sendable {
    case notDetermined, denied, restricted, authorized
}

public final class SFTranscription {
    public var formattedString: String { "" }
}

public final class SFSpeechRecognitionResult {
    public var bestTranscription: SFTranscription { SFTranscription() }
    public var isFinal: Bool { false }
}

public final class SFSpeechRecognitionTask {
    public func cancel() {}
}

public class SFSpeechRecognitionRequest {
    public var shouldReportPartialResults = true
    public var requiresOnDeviceRecognition = false
    public var addsPunctuation = false
}

public final class SFSpeechAudioBufferRecognitionRequest: SFSpeechRecognitionRequest {
    public override init() {}
    public func append(_ audioPCMBuffer: AVAudioPCMBuffer) {}
    public func endAudio() {}
}

public final class SFSpeechRecognizer {
    public init?() {}
    public var isAvailable: Bool { false }
    public var supportsOnDeviceRecognition: Bool { false }
    public class func requestAuthorization(
        _ handler: @escaping (SFSpeechRecognizerAuthorizationStatus) -> Void
    ) {}
    public func recognitionTask(
        with request: SFSpeechRecognitionRequest,
        resultHandler: @escaping (SFSpeechRecognitionResult?, (any Error)?) -> Void
    ) -> SFSpeechRecognitionTask {
        SFSpeechRecognitionTask()
    }
}
