import Foundation
import ImpKit

/// What the person hears and feels while an answer is written: the one place
/// that decides it, so the rules can be tested. They are written for the
/// Android app to follow too (docs/ios.md, "The iOS app"):
///
/// 1. The answer is never spoken token by token: `SpeechQueue` releases whole
///    sentences.
/// 2. One voice at a time. With VoiceOver running, each answer's sentences go
///    to VoiceOver as queued announcements: spoken in the person's own voice
///    and rate, and shown on a braille display (the speech synthesizer would
///    leave a braille reader with nothing while the answer streams). Without
///    VoiceOver they go to the speech synthesizer when Settings says "always".
///    "Never" reads nothing by itself: the answer is on screen, to be read.
/// 3. Asking: with VoiceOver running, "Answering." (the picture encoding and the
///    prompt take seconds of silence otherwise).
/// 4. The first piece of the answer: the answer-started haptic.
/// 5. The end: the answer-finished haptic at once; once the last sentence has
///    been spoken, with VoiceOver running, a short status ("End of answer.",
///    or why it ended early), and then focus moves to the question field.
/// 6. Stop: silence at once, the stopped haptic, and with VoiceOver running
///    "Stopped." interrupting whatever it was saying.
/// 7. An error: silence, the failure haptic, and the problem announced
///    interrupting (with VoiceOver running).
@MainActor
public final class AnswerNarrator {
    public let speech: SpeechQueue
    private let synthesizer: any SpeechVoice
    private let voiceOverVoice: any SpeechVoice
    private let announcements: Announcements
    private let haptics: any Haptics
    private let settings: @MainActor () -> AppSettings
    private var started = false
    /// Caveats already said in this run of the app (each is said once).
    private var caveatsSaid: Set<String> = []

    public init(speech: SpeechQueue, synthesizer: any SpeechVoice, voiceOverVoice: any SpeechVoice,
                announcements: Announcements, haptics: any Haptics,
                settings: @escaping @MainActor () -> AppSettings) {
        self.speech = speech
        self.synthesizer = synthesizer
        self.voiceOverVoice = voiceOverVoice
        self.announcements = announcements
        self.haptics = haptics
        self.settings = settings
    }

    /// The voice this answer's sentences go to (rule 2).
    public var answerVoice: (any SpeechVoice)? {
        switch settings().speech {
        case .never: nil
        case .whenVoiceOverIsOn: announcements.isVoiceOverRunning ? voiceOverVoice : nil
        case .always: readingVoice
        }
    }

    /// The voice that reads when the person asks: VoiceOver's when it runs
    /// (braille too), else the synthesizer.
    private var readingVoice: any SpeechVoice {
        announcements.isVoiceOverRunning ? voiceOverVoice : synthesizer
    }

    public func questionAsked() {
        started = false
        speech.begin(voice: answerVoice, rate: settings().speechRate)
        announce("Answering.", interrupting: true)
    }

    public func answerText(_ piece: String) {
        if !started {
            started = true
            feel(.answerStarted)
        }
        speech.append(piece)
    }

    /// The answer ended by itself; `then` runs once it has been heard. A
    /// `caveat` (what to keep in mind about this kind of answer) is said after
    /// it the first time only: with VoiceOver in the end status, else by the
    /// voice reading the answer.
    public func answerFinished(_ reason: StopReason, caveat: String? = nil,
                               then: @escaping @MainActor () -> Void) {
        feel(.answerFinished)
        let note = caveat.flatMap { caveatsSaid.insert($0).inserted ? $0 : nil }
        let voiceOver = announcements.isVoiceOverRunning
        if let note, !voiceOver { speech.append("\n\(note)") }
        speech.finish { [weak self] in
            let status = [Self.endStatus(reason), voiceOver ? note : nil].compactMap { $0 }.joined(separator: " ")
            self?.announce(status, interrupting: false)
            then()
        }
    }

    public func answerStopped() {
        speech.stop()
        feel(.answerStopped)
        announce("Stopped.", interrupting: true)
    }

    public func failed(_ problem: Problem) {
        speech.stop()
        feel(.failure)
        announce(problem.announcement, interrupting: true)
    }

    /// Something the person should hear now (a picture taken, a copy made).
    public func say(_ message: String, haptic: HapticEvent? = nil) {
        if let haptic { feel(haptic) }
        announce(message, interrupting: false)
    }

    /// The microphone is about to open: silence (or the recogniser hears the
    /// answer), and a tap to say it is listening.
    public func listening() {
        speech.stop()
        feel(.listening)
    }

    /// Silence, e.g. when the person leaves the conversation.
    public func silence() {
        speech.stop()
    }

    /// Reads a finished answer again, whatever the setting (the person asked
    /// for it).
    public func readAgain(_ text: String) {
        speech.speak(text, voice: readingVoice, rate: settings().speechRate)
    }

    static func endStatus(_ reason: StopReason) -> String {
        switch reason {
        case .endOfAnswer: "End of answer."
        case .maxTokens: "The answer reached its length limit."
        case .contextFull: "This conversation is full. Take a new picture to ask more."
        case .cancelled: "Stopped."
        }
    }

    private func announce(_ message: String, interrupting: Bool) {
        announcements.say(message, interrupting: interrupting)
    }

    private func feel(_ event: HapticEvent) {
        if settings().haptics { haptics.play(event) }
    }
}
