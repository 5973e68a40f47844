import Foundation
import ImpKit

/// What the person hears and feels while an answer is written: the one place
/// that decides it, so the rules can be tested. They are written for the
/// Android app to follow too (docs/ios.md, "The iOS app"):
///
/// 1. The answer is never spoken token by token: `SpeechQueue` releases whole
///    sentences.
/// 2. One voice at a time. Each answer's sentences go to the speech synthesizer
///    when speaking is on for it (Settings: "always", or "when VoiceOver is on"
///    and VoiceOver is running), else to VoiceOver as queued announcements when
///    VoiceOver is running, else nowhere (the text is on screen).
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
        let voiceOver = announcements.isVoiceOverRunning
        if settings().speech.speaks(voiceOverRunning: voiceOver) { return synthesizer }
        return voiceOver ? voiceOverVoice : nil
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

    /// The answer ended by itself; `then` runs once it has been heard.
    public func answerFinished(_ reason: StopReason, then: @escaping @MainActor () -> Void) {
        feel(.answerFinished)
        speech.finish { [weak self] in
            self?.announce(Self.endStatus(reason), interrupting: false)
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

    /// Reads a finished answer again with the synthesizer, whatever the setting
    /// (the person asked for it).
    public func readAgain(_ text: String) {
        speech.speak(text, voice: synthesizer, rate: settings().speechRate)
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
