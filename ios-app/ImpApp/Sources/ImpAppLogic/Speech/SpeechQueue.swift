import Foundation
import ImpKit
import Observation

/// Speaks a streaming answer sentence by sentence. Pieces go through the
/// core's `SentenceChunker`; each whole sentence is handed to the voice only after the
/// previous one has been spoken, so that Stop silences the rest at once
/// (VoiceOver's queued announcements cannot be taken back once posted) and the
/// end of the speech is known (when VoiceOver may speak again, and focus move).
@MainActor
@Observable
public final class SpeechQueue {
    /// A sentence is being spoken or waits to be.
    public private(set) var isSpeaking = false

    @ObservationIgnored private let chunker = SentenceChunker()
    @ObservationIgnored private var voice: (any SpeechVoice)?
    @ObservationIgnored private var rate: Float = 0.5
    @ObservationIgnored private var waiting: [String] = []
    @ObservationIgnored private var inVoice = false
    /// The voice has spoken since it was last released.
    @ObservationIgnored private var voiceTaken = false
    @ObservationIgnored private var finished = false
    @ObservationIgnored private var onDrained: (@MainActor () -> Void)?
    /// Callbacks from an earlier answer's voice are ignored.
    @ObservationIgnored private var generation = 0

    public init() {}

    /// Starts a new answer, silencing the previous one. With no voice the
    /// sentences are dropped (the answer is only shown).
    public func begin(voice: (any SpeechVoice)?, rate: Float) {
        stop()
        self.voice = voice
        self.rate = rate
    }

    /// Adds a piece of the answer as it streams.
    public func append(_ piece: String) {
        enqueue(chunker.append(piece))
    }

    /// The answer is complete: speaks what is left, then calls `then` once the
    /// last sentence has been spoken (at once if nothing is to be spoken).
    public func finish(then: @escaping @MainActor () -> Void) {
        finished = true
        onDrained = then
        enqueue(chunker.finish())
        drainIfDone()
    }

    /// Speaks a whole text (an earlier answer read again).
    public func speak(_ text: String, voice: any SpeechVoice, rate: Float, then: @escaping @MainActor () -> Void = {}) {
        begin(voice: voice, rate: rate)
        append(text)
        finish(then: then)
    }

    /// Silence now; the pending sentences and the completion are dropped.
    public func stop() {
        generation += 1
        if inVoice || !waiting.isEmpty { voice?.stop() }
        releaseVoice()
        _ = chunker.finish()  // drops what the previous answer held back
        waiting = []
        inVoice = false
        finished = false
        onDrained = nil
        isSpeaking = false
    }

    private func enqueue(_ sentences: [String]) {
        guard voice != nil else { return }
        waiting += sentences
        speakNext()
    }

    private func speakNext() {
        guard !inVoice, let voice, !waiting.isEmpty else { return }
        let sentence = waiting.removeFirst()
        inVoice = true
        voiceTaken = true
        isSpeaking = true
        let spokenIn = generation
        voice.speak(sentence, rate: rate) { [weak self] in
            guard let self, self.generation == spokenIn else { return }
            self.inVoice = false
            self.speakNext()
            self.drainIfDone()
        }
    }

    private func drainIfDone() {
        guard finished, !inVoice, waiting.isEmpty else { return }
        isSpeaking = false
        finished = false
        releaseVoice()
        let done = onDrained
        onDrained = nil
        done?()
    }

    private func releaseVoice() {
        guard voiceTaken else { return }
        voiceTaken = false
        voice?.release()
    }
}
