import AVFoundation
import ImpAppLogic
import Speech

/// Voice questions through the Speech framework, in the person's language.
/// Where the phone can recognise that language itself, recognition is required
/// to stay on the phone (`requiresOnDeviceRecognition`); where it cannot, Apple's
/// service is used, and the voice control's hint says so.
@MainActor
final class SpeechRecognizerInput: SpeechRecognizing {
    private let recognizer = SFSpeechRecognizer()
    private let audioEngine = AVAudioEngine()
    private var request: SFSpeechAudioBufferRecognitionRequest?
    private var task: SFSpeechRecognitionTask?

    var isAvailable: Bool { recognizer?.isAvailable ?? false }

    var recognizesOnDevice: Bool { recognizer?.supportsOnDeviceRecognition ?? false }

    func requestAccess() async -> RecognitionAccess {
        let speech = await withCheckedContinuation { (done: CheckedContinuation<SFSpeechRecognizerAuthorizationStatus, Never>) in
            SFSpeechRecognizer.requestAuthorization { done.resume(returning: $0) }
        }
        switch speech {
        case .authorized: break
        case .restricted: return .restricted
        default: return .denied
        }
        return await AVAudioApplication.requestRecordPermission() ? .granted : .denied
    }

    func start() throws -> AsyncThrowingStream<RecognitionUpdate, Error> {
        guard let recognizer, recognizer.isAvailable else { throw Problem.voiceUnavailable }
        tearDown()
        let session = AVAudioSession.sharedInstance()
        try session.setCategory(.playAndRecord, mode: .measurement, options: [.duckOthers, .defaultToSpeaker])
        try session.setActive(true, options: .notifyOthersOnDeactivation)

        let request = SFSpeechAudioBufferRecognitionRequest()
        request.shouldReportPartialResults = true
        request.addsPunctuation = true
        if recognizer.supportsOnDeviceRecognition {
            request.requiresOnDeviceRecognition = true
        }
        let input = audioEngine.inputNode
        input.installTap(onBus: 0, bufferSize: 1024, format: input.outputFormat(forBus: 0),
                         block: Self.feeding(request))
        audioEngine.prepare()
        try audioEngine.start()

        let (stream, continuation) = AsyncThrowingStream<RecognitionUpdate, Error>.makeStream()
        task = recognizer.recognitionTask(with: request, resultHandler: Self.reporting(to: continuation))
        continuation.onTermination = { [weak self] _ in
            Task { @MainActor in self?.tearDown() }
        }
        self.request = request
        return stream
    }

    func finish() {
        stopAudio()
        request?.endAudio()
    }

    func cancel() {
        task?.cancel()
        tearDown()
    }

    private func stopAudio() {
        if audioEngine.isRunning {
            audioEngine.stop()
            audioEngine.inputNode.removeTap(onBus: 0)
        }
    }

    private func tearDown() {
        stopAudio()
        request = nil
        task = nil
        try? AVAudioSession.sharedInstance().setActive(false, options: .notifyOthersOnDeactivation)
    }

    // The audio tap and the result handler run on the framework's threads:
    // built outside the main actor so that they are not main-actor closures.

    private nonisolated static func feeding(_ request: SFSpeechAudioBufferRecognitionRequest) -> AVAudioNodeTapBlock {
        { buffer, _ in request.append(buffer) }
    }

    private nonisolated static func reporting(
        to continuation: AsyncThrowingStream<RecognitionUpdate, Error>.Continuation
    ) -> @Sendable (SFSpeechRecognitionResult?, Error?) -> Void {
        { result, error in
            if let result {
                continuation.yield(RecognitionUpdate(transcript: result.bestTranscription.formattedString,
                                                     isFinal: result.isFinal))
                if result.isFinal { continuation.finish() }
            } else if let error {
                continuation.finish(throwing: error)
            }
        }
    }
}
