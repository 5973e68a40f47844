package app.imp.android

import androidx.compose.foundation.layout.Box
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.test.SemanticsMatcher
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.capture.Aiming
import app.imp.android.ui.capture.AimingHint
import app.imp.android.ui.capture.CaptureActions
import app.imp.android.ui.capture.CaptureScreen
import app.imp.android.ui.capture.CaptureUiState
import org.junit.Assert.assertEquals
import org.junit.Test

/** The capture screen's aiming help as it is seen and heard: the hint over the preview, and the torch. */
open class CaptureScreenTest : ScreenTest() {
    @Test
    fun aDarkSceneIsSaidOverThePreviewAndTheTorchIsAtHand() {
        var torch = 0
        compose.setContent {
            ImpTheme {
                CaptureScreen(
                    CaptureUiState.Previewing,
                    CaptureActions(onTorch = { torch++ }),
                    preview = { Box(it) },
                    aiming = Aiming(hint = AimingHint.TooDark, torchOn = false, hasTorch = true),
                )
            }
        }
        compose.onNodeWithText(text(R.string.aim_too_dark_torch), useUnmergedTree = true).assertExists()
        compose.onNode(SemanticsMatcher.expectValue(SemanticsProperties.LiveRegion, LiveRegionMode.Polite), useUnmergedTree = true)
            .assertExists()
        compose.onNodeWithText(text(R.string.action_torch_on)).performClick()
        assertEquals(1, torch)
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("capture-too-dark")
    }
}
