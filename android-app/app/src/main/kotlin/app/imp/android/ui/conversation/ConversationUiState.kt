package app.imp.android.ui.conversation

import app.imp.android.engine.Problem
import app.imp.android.speech.Announcement
import app.imp.kit.StopReason
import java.io.File

/** Where a conversation's picture came from. */
enum class PictureSource { Camera, Library, Shared, History }

/**
 * The conversation screen's argument: a picture (a file the camera wrote, or a
 * content URI from the photo picker or another app), or a saved conversation.
 * [key] tells one conversation from the next, also after process death.
 */
data class ConversationArgs(val key: String, val picture: String?, val source: PictureSource, val savedId: String? = null)

data class Turn(
    val id: Int,
    val question: String,
    val answer: String,
    val status: Status,
    val askedAtMs: Long,
) {
    sealed interface Status {
        /** Asked; no words yet (the picture or the prompt is being processed). */
        data object Waiting : Status

        data object Streaming : Status

        data class Complete(val reason: StopReason) : Status

        data object Stopped : Status

        data class Failed(val problem: Problem) : Status

        /** From the history, shown for reading. */
        data object Earlier : Status
    }

    val isDone: Boolean get() = status != Status.Waiting && status != Status.Streaming
}

/** Where focus (and with it TalkBack's) should go next; [serial] makes a repeated request a new one. */
data class FocusRequest(val target: Target, val serial: Int) {
    sealed interface Target {
        data object Describe : Target

        data class Answer(val turnId: Int) : Target

        data object Problem : Target
    }
}

/** What every state of the conversation screen shows. */
data class ConversationContent(
    val picture: File?,
    val source: PictureSource,
    val turns: List<Turn>,
    /** The question field's text. */
    val question: String,
    /** The status line under the picture. */
    val status: String,
    /** The model is loading: its fraction, shown while the picture waits for it. */
    val modelLoading: Float?,
    /** A note that stops nothing (the history could not be saved, earlier answers are for reading). */
    val notice: String?,
    val isSpeaking: Boolean,
    /** What TalkBack is told through the live region. */
    val announcement: Announcement?,
    val focus: FocusRequest?,
    /** Questions can be asked now (they wait for the picture while it is encoded). */
    val canAsk: Boolean,
)

/** The conversation screen: one picture, the questions about it and their streaming answers. */
sealed interface ConversationUiState {
    val content: ConversationContent

    /** No conversation open (a moment, before the screen's argument arrives). */
    data class Empty(override val content: ConversationContent) : ConversationUiState

    /** The picture is being read and encoded; questions may already be asked and wait for it. */
    data class Preparing(override val content: ConversationContent) : ConversationUiState

    /** Nothing is being answered. */
    data class Ready(override val content: ConversationContent) : ConversationUiState

    /** An answer is on its way: [thinking] until its first words. */
    data class Answering(override val content: ConversationContent, val turnId: Int, val thinking: Boolean) :
        ConversationUiState

    /** The picture could not be used, or the last answer failed. */
    data class Failed(override val content: ConversationContent, val problem: Problem) : ConversationUiState
}
