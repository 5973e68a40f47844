import AVFoundation
import ImpAppLogic

/// Answers read aloud by AVSpeechSynthesizer, one sentence (utterance) at a
/// time as the SpeechQueue hands them over.
@MainActor
final class SynthesizerVoice: NSObject, SpeechVoice {
    private let synthesizer = AVSpeechSynthesizer()
    private var waiting: [ObjectIdentifier: @MainActor () -> Void] = [:]
    private var sessionReady = false

    override init() {
        super.init()
        synthesizer.delegate = self
        synthesizer.usesApplicationAudioSession = true
    }

    func speak(_ text: String, rate: Float, onFinished: @escaping @MainActor () -> Void) {
        prepareAudioSession()
        let utterance = AVSpeechUtterance(string: text)
        // The setting runs 0...1 over the synthesizer's whole range (0.5 is its default).
        utterance.rate = AVSpeechUtteranceMinimumSpeechRate
            + (AVSpeechUtteranceMaximumSpeechRate - AVSpeechUtteranceMinimumSpeechRate) * rate
        // With VoiceOver on, its voice and rate: the ones the person chose.
        utterance.prefersAssistiveTechnologySettings = true
        waiting[ObjectIdentifier(utterance)] = onFinished
        synthesizer.speak(utterance)
    }

    func stop() {
        waiting.removeAll()
        synthesizer.stopSpeaking(at: .immediate)
    }

    /// The answer has been spoken (or stopped): other apps' audio, ducked while
    /// it played, comes back up; the next answer sets the session again (a
    /// voice question may have changed its category meanwhile).
    func release() {
        try? AVAudioSession.sharedInstance().setActive(false, options: .notifyOthersOnDeactivation)
        sessionReady = false
    }

    /// Spoken audio that plays with the ring/silent switch on (a person who
    /// asked for an answer expects to hear it) and lowers other audio meanwhile.
    private func prepareAudioSession() {
        guard !sessionReady else { return }
        let session = AVAudioSession.sharedInstance()
        try? session.setCategory(.playback, mode: .spokenAudio, options: [.duckOthers])
        try? session.setActive(true)
        sessionReady = true
    }

    private func finished(_ id: ObjectIdentifier) {
        waiting.removeValue(forKey: id)?()
    }
}

extension SynthesizerVoice: AVSpeechSynthesizerDelegate {
    nonisolated func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didFinish utterance: AVSpeechUtterance) {
        let id = ObjectIdentifier(utterance)
        Task { @MainActor in self.finished(id) }
    }

    nonisolated func speechSynthesizer(_ synthesizer: AVSpeechSynthesizer, didCancel utterance: AVSpeechUtterance) {
        let id = ObjectIdentifier(utterance)
        Task { @MainActor in self.finished(id) }
    }
}
