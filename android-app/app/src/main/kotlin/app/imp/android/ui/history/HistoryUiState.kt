package app.imp.android.ui.history

import app.imp.android.engine.Problem
import app.imp.android.speech.Announcement

/** A past conversation as its row shows it; [spoken] is all TalkBack reads for the row, in sentences. */
class HistoryRow(
    val id: String,
    val title: String,
    val answer: String,
    val detail: String,
    val date: String,
    val spoken: String,
    /** A small JPEG of the picture, if the history could read it. */
    val thumbnail: ByteArray?,
)

/** The history screen. */
sealed interface HistoryUiState {
    val announcement: Announcement?

    data class Loading(override val announcement: Announcement?) : HistoryUiState

    /** Nothing saved yet (or everything deleted). */
    data class Empty(override val announcement: Announcement?) : HistoryUiState

    data class Loaded(
        val rows: List<HistoryRow>,
        val canLoadMore: Boolean,
        /** "Delete all" was tapped; the person has to confirm. */
        val confirmingDeleteAll: Boolean,
        /** The last deletion or page failed; what is listed stays. */
        val problem: Problem?,
        override val announcement: Announcement?,
    ) : HistoryUiState

    /** The history could not be read at all. */
    data class Failed(val problem: Problem, override val announcement: Announcement?) : HistoryUiState
}
