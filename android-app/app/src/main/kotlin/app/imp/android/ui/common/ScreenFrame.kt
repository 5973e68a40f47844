package app.imp.android.ui.common

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import app.imp.android.speech.Announcement

/**
 * The frame the app's scrolling screens share: their background, clear of the
 * system bars and cut-outs, 16 dp margins and 12 dp between items, with the
 * screen's live region for TalkBack first.
 */
@Composable
fun ScrollingScreen(announcement: Announcement?, modifier: Modifier = Modifier, content: @Composable ColumnScope.() -> Unit) {
    Surface(modifier = modifier.fillMaxSize(), color = MaterialTheme.colorScheme.background) {
        Column(
            Modifier.fillMaxSize().safeDrawingPadding().verticalScroll(rememberScrollState()).padding(16.dp),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            LiveAnnouncer(announcement)
            content()
        }
    }
}

/** A screen's title: a heading, which TalkBack users move between screens' parts by. */
@Composable
fun ScreenTitle(text: String, modifier: Modifier = Modifier) {
    Text(text, style = MaterialTheme.typography.headlineSmall, modifier = modifier.semantics { heading() })
}

/** The button that leaves a screen ("Back", "Done"). */
@Composable
fun LeaveButton(label: String, onClick: () -> Unit) {
    TextButton(onClick = onClick, modifier = Modifier.touchTarget()) { Text(label) }
}
