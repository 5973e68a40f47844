package app.imp.android.speech

import app.imp.android.platform.SpeechVoice
import app.imp.kit.SentenceChunker
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Speaks a streaming answer sentence by sentence. Pieces go through the
 * core's [SentenceChunker]; each whole sentence is handed to the voice only after the
 * previous one has been spoken, so Stop silences the rest at once and the end of
 * the speech is known (when focus may move). Main thread only.
 */
class SpeechQueue {
    private val speaking = MutableStateFlow(false)

    /** A sentence is being spoken or waits to be. */
    val isSpeaking: StateFlow<Boolean> = speaking.asStateFlow()

    private val chunker = SentenceChunker()
    private var voice: SpeechVoice? = null
    private var rate = 1f
    private val waiting = ArrayDeque<String>()
    private var inVoice = false
    private var finished = false
    private var onDrained: (() -> Unit)? = null

    /** Callbacks from an earlier answer's voice are ignored. */
    private var generation = 0

    /** Starts a new answer, silencing the previous one. With no voice the sentences are dropped. */
    fun begin(voice: SpeechVoice?, rate: Float) {
        stop()
        this.voice = voice
        this.rate = rate
    }

    /** Adds a piece of the answer as it streams. */
    fun append(piece: String) = enqueue(chunker.append(piece))

    /** The answer is complete: speaks what is left, then [then] once the last sentence was spoken. */
    fun finish(then: () -> Unit) {
        finished = true
        onDrained = then
        enqueue(chunker.finish())
        drainIfDone()
    }

    /** Speaks a whole text (an earlier answer read again). */
    fun speak(text: String, voice: SpeechVoice, rate: Float, then: () -> Unit = {}) {
        begin(voice, rate)
        append(text)
        finish(then)
    }

    /** Silence now; the pending sentences and the completion are dropped. */
    fun stop() {
        generation++
        val wasSpeaking = inVoice || waiting.isNotEmpty()
        chunker.finish() // drops what the previous answer held back
        waiting.clear()
        inVoice = false
        finished = false
        onDrained = null
        speaking.value = false
        if (wasSpeaking) voice?.stop()
    }

    private fun enqueue(sentences: List<String>) {
        if (voice == null) return
        waiting.addAll(sentences)
        speakNext()
    }

    private fun speakNext() {
        val v = voice ?: return
        if (inVoice || waiting.isEmpty()) return
        val sentence = waiting.removeFirst()
        inVoice = true
        speaking.value = true
        val spokenIn = generation
        v.speak(sentence, rate) {
            if (generation == spokenIn) {
                inVoice = false
                speakNext()
                drainIfDone()
            }
        }
    }

    private fun drainIfDone() {
        if (!finished || inVoice || waiting.isNotEmpty()) return
        speaking.value = false
        finished = false
        val done = onDrained
        onDrained = null
        done?.invoke()
    }
}
