import Foundation
import Observation

/// A question spoken instead of typed: tap to listen, tap again to ask (or let
/// the recogniser end it). Recognition runs on the phone where the platform
/// can; where it cannot, the control's hint says the audio goes to Apple's
/// speech service (the answer itself is always computed on the phone).
@MainActor
@Observable
public final class VoiceQuestion {
    public enum State: Equatable {
        case idle
        case requestingAccess
        case listening(transcript: String)
        /// Listening stopped; waiting for the final transcript.
        case finishing(transcript: String)
        case failed(Problem)
    }

    public private(set) var state: State = .idle

    @ObservationIgnored private let recognizer: any SpeechRecognizing
    @ObservationIgnored private var listening: Task<Void, Never>?
    /// Called with the final transcript (not called for an empty one).
    @ObservationIgnored public var onQuestion: @MainActor (String) -> Void = { _ in }
    /// Called before the microphone opens (the answer's speech must stop, or
    /// the recogniser hears it).
    @ObservationIgnored public var beforeListening: @MainActor () -> Void = {}
    /// Called when listening fails (no permission, nothing heard).
    @ObservationIgnored public var onProblem: @MainActor (Problem) -> Void = { _ in }

    public init(recognizer: any SpeechRecognizing) {
        self.recognizer = recognizer
    }

    public var isListening: Bool {
        switch state {
        case .listening, .finishing, .requestingAccess: true
        case .idle, .failed: false
        }
    }

    public var control: Control {
        switch state {
        case .listening:
            return Control(.voiceQuestion, label: "Stop listening and ask", hint: "Asks what you said.")
        case .finishing:
            return Control(.voiceQuestion, label: "Recognising", hint: "Your question is being recognised.",
                           isEnabled: false)
        case .requestingAccess:
            return Control(.voiceQuestion, label: "Ask by voice", hint: "Waiting for permission.", isEnabled: false)
        case .idle, .failed:
            let privacy = recognizer.recognizesOnDevice
                ? "Your voice is recognised on this phone."
                : "This phone cannot recognise your language itself: your voice is sent to Apple's "
                    + "speech recognition. The answer is still computed on the phone."
            return Control(.voiceQuestion, label: "Ask by voice",
                           hint: "Listens for a question, then asks it. \(privacy)")
        }
    }

    /// What has been heard so far.
    public var transcript: String {
        switch state {
        case .listening(let t), .finishing(let t): t
        default: ""
        }
    }

    /// Starts listening, or stops and asks.
    public func toggle() async {
        switch state {
        case .listening(let transcript):
            state = .finishing(transcript: transcript)
            recognizer.finish()
        case .finishing, .requestingAccess:
            break
        case .idle, .failed:
            await start()
        }
    }

    /// Stops listening without asking.
    public func cancel() {
        guard isListening else { return }
        listening?.cancel()
        listening = nil
        recognizer.cancel()
        state = .idle
    }

    private func start() async {
        guard recognizer.isAvailable else {
            fail(.voiceUnavailable)
            return
        }
        state = .requestingAccess
        guard await recognizer.requestAccess() == .granted else {
            fail(.microphoneDenied)
            return
        }
        guard state == .requestingAccess else { return }  // cancelled meanwhile
        beforeListening()
        let updates: AsyncThrowingStream<RecognitionUpdate, Error>
        do {
            updates = try recognizer.start()
        } catch {
            fail(Problem(any: error, while: .answering))
            return
        }
        state = .listening(transcript: "")
        listening = Task { [weak self] in
            do {
                for try await update in updates {
                    guard let self, self.isListening else { return }
                    if update.isFinal {
                        self.heard(update.transcript)
                        return
                    }
                    if case .finishing = self.state {
                        self.state = .finishing(transcript: update.transcript)
                    } else {
                        self.state = .listening(transcript: update.transcript)
                    }
                }
                // The recogniser ended without a final result: use what was heard.
                if let self, self.isListening { self.heard(self.transcript) }
            } catch {
                guard let self, self.isListening else { return }
                self.fail(Problem(
                    .voiceUnavailable, title: "Nothing was heard",
                    message: "The question could not be recognised. Try again, or type it."))
            }
        }
    }

    private func fail(_ problem: Problem) {
        listening = nil
        state = .failed(problem)
        onProblem(problem)
    }

    /// The problem shown under the voice control, if listening failed.
    public var problem: Problem? {
        if case .failed(let problem) = state { problem } else { nil }
    }

    private func heard(_ transcript: String) {
        state = .idle
        listening = nil
        let question = transcript.trimmingCharacters(in: .whitespacesAndNewlines)
        if !question.isEmpty { onQuestion(question) }
    }
}
