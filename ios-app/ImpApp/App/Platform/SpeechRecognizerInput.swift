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
    /// The audio session as it was before listening, put back after.
    private var sessionBefore: (category: AVAudioSession.Category, mode: AVAudioSession.Mode,
                                options: AVAudioSession.CategoryOptions)?

    var isAvailable: Bool { recognizer?.isAvailable ?? false }

    var recognizesOnDevice: Bool { recognizer?.supportsOnDeviceRecognition ?? false }

    func requestAccess() async -> RecognitionAccess {
        switch await Self.speechAuthorization() {
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
        sessionBefore = (session.category, session.mode, session.categoryOptions)
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
        // Out of record mode, and other apps' sound back up: the microphone was
        // for this one question.
        let session = AVAudioSession.sharedInstance()
        try? session.setActive(false, options: .notifyOthersOnDeactivation)
        if let before = sessionBefore {
            try? session.setCategory(before.category, mode: before.mode, options: before.options)
            sessionBefore = nil
        }
    }

    // The authorization handler, the audio tap and the result handler run on
    // the framework's threads: they are built outside the main actor so that
    // they are not main-actor closures (Swift 6 would check the actor in each
    // and trap on the framework's queue).

    private nonisolated static func speechAuthorization() async -> SFSpeechRecognizerAuthorizationStatus {
        await withCheckedContinuation { (done: CheckedContinuation<SFSpeechRecognizerAuthorizationStatus, Never>) in
            SFSpeechRecognizer.requestAuthorization { status in done.resume(returning: status) }
        }
    }

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
