package app.imp.android.speech

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** A message for TalkBack: a screen's live region shows it (polite, or assertive to interrupt). */
data class Announcement(val text: String, val interrupting: Boolean, val serial: Int)

/**
 * A screen's messages for TalkBack ("Downloading, 25 percent", "Stopped."): the
 * screen puts [current] in a live region (ui/common/LiveAnnouncer), which
 * TalkBack reads when it changes. Without TalkBack nobody hears it; the same
 * words are on screen.
 */
class Announcer {
    private val latest = MutableStateFlow<Announcement?>(null)
    val current: StateFlow<Announcement?> = latest.asStateFlow()

    fun say(text: String, interrupting: Boolean = false) {
        latest.value = Announcement(text, interrupting, (latest.value?.serial ?: 0) + 1)
    }
}
