package app.imp.android.speech

import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.engine.Texts
import app.imp.android.platform.AccessibilityStatus
import app.imp.android.platform.HapticEvent
import app.imp.android.platform.Haptics
import app.imp.android.platform.SpeechVoice
import app.imp.android.settings.AppSettings
import app.imp.android.settings.SpeechMode
import app.imp.kit.StopReason
import kotlinx.coroutines.flow.StateFlow

/**
 * What the person hears and feels while an answer is written: the one place
 * that decides it, so the rules can be tested. The same rules as the iOS app's
 * AnswerNarrator:
 *
 * 1. The answer is never spoken token by token: [SpeechQueue] releases whole sentences.
 * 2. One voice at a time. With TalkBack on, sentences go to TalkBack through the
 *    live region: its voice and rate, and a braille display shows them as they
 *    stream (text-to-speech would leave a braille reader with nothing). Without
 *    TalkBack they go to text-to-speech when Settings says "always". "Never"
 *    reads nothing by itself: the answer is on screen, to be read.
 * 3. Asking: "Answering." (the picture and the prompt take seconds of silence otherwise).
 * 4. The first piece of the answer: the answer-started haptic.
 * 5. The end: the answer-finished haptic at once; once the last sentence was
 *    spoken, a short status ("End of answer.", or why it ended early), then the
 *    caller moves focus. TalkBack reads only a live region's latest text, so
 *    sentences released in the same instant (the last ones and the status, or
 *    two finished by one piece) reach it as one announcement.
 * 6. Stop: silence at once, the stopped haptic, and "Stopped." interrupting.
 * 7. An error: silence, the failure haptic, and the problem, interrupting.
 *
 * Messages go to the live region whether or not TalkBack runs: without it they
 * are simply not heard (a sighted person sees the same words on screen).
 */
class AnswerNarrator(
    private val speech: SpeechQueue,
    private val synthesizer: SpeechVoice,
    private val accessibility: AccessibilityStatus,
    private val haptics: Haptics,
    private val settings: () -> AppSettings,
    private val texts: Texts,
    private val announcer: Announcer = Announcer(),
) {
    val announcement: StateFlow<Announcement?> get() = announcer.current
    val isSpeaking: StateFlow<Boolean> get() = speech.isSpeaking
    private var started = false

    /** Sentences for TalkBack released in the current instant, announced together (rule 5). */
    private var held: MutableList<String>? = null

    /** TalkBack as a voice: each sentence becomes the live region's text (TalkBack queues polite ones). */
    private val talkBackVoice = object : SpeechVoice {
        override fun speak(text: String, rate: Float, onDone: () -> Unit) {
            held?.add(text) ?: announce(text, interrupting = false)
            onDone()
        }

        override fun stop() = Unit
    }

    /** Runs [release] (which may hand TalkBack several sentences at once) and announces them as one text. */
    private fun together(release: () -> Unit) {
        held = mutableListOf()
        release()
        val said = held.orEmpty()
        held = null
        if (said.isNotEmpty()) announce(said.joinToString(" "), interrupting = false)
    }

    /** The voice this answer's sentences go to (rule 2). */
    val answerVoice: SpeechVoice?
        get() = when (settings().speech) {
            SpeechMode.Never -> null
            SpeechMode.WhenTalkBackIsOn -> if (accessibility.screenReaderOn.value) talkBackVoice else null
            SpeechMode.Always -> readingVoice
        }

    /** The voice that reads when the person asks: TalkBack's when it is on (braille too), else text-to-speech. */
    private val readingVoice: SpeechVoice
        get() = if (accessibility.screenReaderOn.value) talkBackVoice else synthesizer

    fun questionAsked() {
        started = false
        held = null
        speech.begin(answerVoice, settings().speechRate)
        announce(texts.get(R.string.announce_answering), interrupting = true)
    }

    fun answerText(piece: String) {
        if (!started) {
            started = true
            feel(HapticEvent.AnswerStarted)
        }
        together { speech.append(piece) }
    }

    /** The answer ended by itself; [then] runs once it has been heard. */
    fun answerFinished(reason: StopReason, then: () -> Unit) {
        feel(HapticEvent.AnswerFinished)
        held = mutableListOf()
        speech.finish {
            val last = held.orEmpty()
            held = null
            announce((last + endStatus(reason)).joinToString(" "), interrupting = false)
            then()
        }
        // A voice still speaking finishes later: the sentences from here on go to TalkBack one by one.
        held?.let { pending ->
            held = null
            if (pending.isNotEmpty()) announce(pending.joinToString(" "), interrupting = false)
        }
    }

    /**
     * A long silence while the model works: a soft cue, said by the voice the
     * answer goes to when it is not speaking (the live region for TalkBack).
     */
    fun stillWorking() {
        val text = texts.get(R.string.announce_still_working)
        announce(text, interrupting = false)
        val voice = answerVoice
        if (voice === synthesizer && !speech.isSpeaking.value) synthesizer.speak(text, settings().speechRate) {}
    }

    fun answerStopped() {
        held = null
        speech.stop()
        feel(HapticEvent.AnswerStopped)
        announce(texts.get(R.string.announce_stopped), interrupting = true)
    }

    fun failed(problem: Problem) {
        held = null
        speech.stop()
        feel(HapticEvent.Failure)
        announce(problem.announcement, interrupting = true)
    }

    /** Something the person should hear now (a picture taken, a copy made). */
    fun say(message: String, haptic: HapticEvent? = null) {
        haptic?.let(::feel)
        announce(message, interrupting = false)
    }

    /** Silence, e.g. when the person leaves the conversation or starts speaking a question. */
    fun silence() = speech.stop()

    /** Reads a finished answer again, whatever the setting (the person asked for it). */
    fun readAgain(text: String) = together { speech.speak(text, readingVoice, settings().speechRate) }

    fun endStatus(reason: StopReason): String = texts.get(
        when (reason) {
            StopReason.END_OF_ANSWER -> R.string.announce_end_of_answer
            StopReason.MAX_TOKENS -> R.string.announce_length_limit
            StopReason.CONTEXT_FULL -> R.string.announce_conversation_full
            StopReason.CANCELLED -> R.string.announce_stopped
        },
    )

    private fun announce(text: String, interrupting: Boolean) = announcer.say(text, interrupting)

    private fun feel(event: HapticEvent) {
        if (settings().haptics) haptics.play(event)
    }
}
