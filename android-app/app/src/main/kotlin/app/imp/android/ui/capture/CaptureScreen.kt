package app.imp.android.ui.capture

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.shape.CircleShape
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.ui.common.touchTarget
import app.imp.android.ui.conversation.ProblemCard

/** The capture screen: the live camera view or why there is none. */
sealed interface CaptureUiState {
    /** The camera permission was not asked yet (or is being asked). */
    data object NeedsPermission : CaptureUiState

    data object Previewing : CaptureUiState

    /** The shutter fired; the picture is on its way to the conversation. */
    data object Taking : CaptureUiState

    /** Permission denied, or no usable camera: the gallery still works. */
    data class NoCamera(val problem: Problem) : CaptureUiState

    /** The last shot did not work ([problem] says why); the preview and the shutter are still there. */
    data class ShotFailed(val problem: Problem) : CaptureUiState
}

/** Aiming help beside the preview: the [hint] now, if any, and the torch. */
data class Aiming(val hint: AimingHint? = null, val torchOn: Boolean = false, val hasTorch: Boolean = false)

data class CaptureActions(
    val onTakePicture: () -> Unit = {},
    val onTorch: () -> Unit = {},
    val onAllowCamera: () -> Unit = {},
    val onPickPhoto: () -> Unit = {},
    val onRecovery: (Problem.Recovery) -> Unit = {},
    val onModels: () -> Unit = {},
    val onHistory: () -> Unit = {},
    val onSettings: () -> Unit = {},
)

/**
 * The first screen: a large shutter over the camera view, and the gallery. The
 * shutter is the largest target on the screen and sits at the bottom centre,
 * where a thumb (or TalkBack's exploring finger) finds it. [preview] is the
 * camera's own view, passed in so tests draw without a camera.
 */
@OptIn(ExperimentalLayoutApi::class)
@Composable
fun CaptureScreen(
    state: CaptureUiState,
    actions: CaptureActions,
    preview: @Composable (Modifier) -> Unit,
    modifier: Modifier = Modifier,
    aiming: Aiming = Aiming(),
) {
    Surface(modifier = modifier.fillMaxSize(), color = MaterialTheme.colorScheme.background) {
        Column(
            Modifier.fillMaxSize().safeDrawingPadding().padding(16.dp),
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Text(stringResource(R.string.home_title), style = MaterialTheme.typography.headlineSmall, modifier = Modifier.semantics { heading() })
            FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                OutlinedButton(onClick = actions.onHistory, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.action_history))
                }
                OutlinedButton(onClick = actions.onSettings, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.action_settings))
                }
                OutlinedButton(onClick = actions.onModels, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.action_models))
                }
                // Here, not beside the shutter: this row wraps at large font sizes.
                if (aiming.hasTorch) {
                    OutlinedButton(onClick = actions.onTorch, modifier = Modifier.touchTarget()) {
                        Text(stringResource(if (aiming.torchOn) R.string.action_torch_off else R.string.action_torch_on))
                    }
                }
            }
            Box(
                Modifier.weight(1f).fillMaxWidth().background(Color.Black),
                contentAlignment = Alignment.Center,
            ) {
                when (state) {
                    CaptureUiState.Previewing, CaptureUiState.Taking -> preview(Modifier.fillMaxSize())
                    is CaptureUiState.ShotFailed -> {
                        preview(Modifier.fillMaxSize())
                        Box(Modifier.padding(16.dp)) { ProblemCard(state.problem, actions.onRecovery) }
                    }
                    CaptureUiState.NeedsPermission -> Column(
                        Modifier.padding(16.dp),
                        verticalArrangement = Arrangement.spacedBy(12.dp),
                        horizontalAlignment = Alignment.CenterHorizontally,
                    ) {
                        Text(stringResource(R.string.camera_why), color = Color.White)
                        Button(onClick = actions.onAllowCamera, modifier = Modifier.touchTarget()) {
                            Text(stringResource(R.string.action_allow_camera))
                        }
                    }
                    is CaptureUiState.NoCamera -> Box(Modifier.padding(16.dp)) {
                        ProblemCard(state.problem, actions.onRecovery)
                    }
                }
                if (state == CaptureUiState.Taking) CircularProgressIndicator()
                if (state == CaptureUiState.Previewing) AimingHintLine(aiming, Modifier.align(Alignment.TopCenter).padding(12.dp))
            }
            Row(
                Modifier.fillMaxWidth(),
                horizontalArrangement = Arrangement.SpaceEvenly,
                verticalAlignment = Alignment.CenterVertically,
            ) {
                OutlinedButton(onClick = actions.onPickPhoto, modifier = Modifier.touchTarget()) {
                    Text(stringResource(R.string.action_pick_photo))
                }
                val label = stringResource(R.string.action_take_picture)
                Button(
                    onClick = actions.onTakePicture,
                    enabled = state == CaptureUiState.Previewing || state is CaptureUiState.ShotFailed,
                    shape = CircleShape,
                    modifier = Modifier.size(96.dp).semantics { contentDescription = label },
                ) {}
            }
        }
    }
}

/**
 * The aiming hint over the preview, in a polite live region: TalkBack reads
 * each new hint (the coach lets one come every few seconds at most), and a
 * sighted person sees the same words. Always composed, empty when there is no
 * hint, so the region exists before its first change.
 */
@Composable
private fun AimingHintLine(aiming: Aiming, modifier: Modifier) {
    val text = when (aiming.hint) {
        AimingHint.TooDark -> stringResource(if (aiming.hasTorch && !aiming.torchOn) R.string.aim_too_dark_torch else R.string.aim_too_dark)
        AimingHint.Moving -> stringResource(R.string.aim_moving)
        AimingHint.Blurred -> stringResource(R.string.aim_blurred)
        null -> ""
    }
    Box(modifier.semantics { liveRegion = LiveRegionMode.Polite }) {
        if (text.isNotEmpty()) {
            Text(
                text,
                color = Color.White,
                style = MaterialTheme.typography.titleMedium,
                modifier = Modifier.background(Color.Black.copy(alpha = 0.7f), MaterialTheme.shapes.medium).padding(12.dp),
            )
        }
    }
}
