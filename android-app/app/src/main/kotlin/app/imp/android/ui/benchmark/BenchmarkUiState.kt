package app.imp.android.ui.benchmark

import app.imp.android.engine.Problem
import app.imp.android.speech.Announcement

/** The benchmark screen: what it shows, and its message for TalkBack. */
data class BenchmarkUiState(val screen: BenchmarkScreenState, val announcement: Announcement?)

sealed interface BenchmarkScreenState {
    /** Looking up the chosen model. */
    data object Checking : BenchmarkScreenState

    /** No usable model chosen: nothing to measure. */
    data class Unavailable(val problem: Problem) : BenchmarkScreenState

    data class Ready(val modelTitle: String) : BenchmarkScreenState

    data class Running(val step: String, val fraction: Float) : BenchmarkScreenState

    data class Finished(
        val modelTitle: String,
        /** Label and value, in Table 4's order. */
        val lines: List<Pair<String, String>>,
        val spokenSummary: String,
        /** The record as `imp bench --format json` prints it, to share. */
        val json: String,
    ) : BenchmarkScreenState

    data class Failed(val modelTitle: String, val problem: Problem) : BenchmarkScreenState
}
