package app.imp.android.ui.common

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.size
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import app.imp.android.speech.Announcement

/** The test tag of a screen's live region. */
const val LIVE_REGION_TAG = "live-region"

/**
 * A screen's messages for TalkBack: a live region whose text is the latest
 * [Announcement]. TalkBack reads a live region when its text changes, so the
 * streamed answer reaches it sentence by sentence (the narrator decides what is
 * said) instead of token by token, which is what a live region on the answer
 * text itself would do. Takes no space: the same words are on screen elsewhere.
 */
@Composable
fun LiveAnnouncer(announcement: Announcement?, modifier: Modifier = Modifier) {
    val text = announcement?.text.orEmpty()
    Box(
        modifier
            .size(1.dp)
            .testTag(LIVE_REGION_TAG)
            .semantics {
                liveRegion = if (announcement?.interrupting == true) LiveRegionMode.Assertive else LiveRegionMode.Polite
                if (text.isNotEmpty()) contentDescription = text
            },
    )
}
