package app.imp.android.ui.capture

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.engine.Texts
import app.imp.android.platform.Camera
import app.imp.android.platform.CameraNotReady
import app.imp.android.platform.Clock
import app.imp.android.platform.HapticEvent
import app.imp.android.platform.Haptics
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import java.io.File

/**
 * The capture screen's logic: permission, preview and shutter, with no dead
 * end. A denial the system would ask again leads back to "Allow"; a
 * permission granted in the system settings is seen on return ([refresh]); a
 * shutter pressed before the camera is ready, or a failed shot, says so and
 * leaves the shutter working. Taking a picture is felt and heard at once.
 * While the preview runs, the frames' looks become aiming hints ([AimingCoach]:
 * too dark, moving, blurred), and the torch can be lit.
 */
class CaptureViewModel(
    private val camera: Camera,
    /** Whether the app may use the camera, as the system says now. */
    private val permitted: () -> Boolean,
    /** Keeps the JPEG in the app's files (the picture store, off the main thread). */
    private val keep: suspend (ByteArray) -> File,
    private val haptics: Haptics,
    /** The shutter's sound (the system's own). */
    private val shutterSound: () -> Unit,
    private val texts: Texts,
    private val clock: Clock = Clock { System.currentTimeMillis() },
) : ViewModel() {
    private val state = MutableStateFlow(current())
    val uiState: StateFlow<CaptureUiState> = state.asStateFlow()

    private val coach = AimingCoach()
    private val aim = MutableStateFlow(Aiming(hasTorch = camera.hasTorch))
    val aiming: StateFlow<Aiming> = aim.asStateFlow()

    init {
        viewModelScope.launch {
            camera.looks.collect { look ->
                val hint = if (state.value == CaptureUiState.Previewing) coach.see(look, clock.nowMs()) else null
                aim.update { it.copy(hint = hint) }
            }
        }
    }

    /** Lights the torch if it is out, puts it out if it is lit. */
    fun toggleTorch() {
        val on = !aim.value.torchOn
        camera.setTorch(on)
        aim.update { it.copy(torchOn = on) }
    }

    /** Looks again (the screen is back in front: the permission may have changed in Settings). */
    fun refresh() {
        val now = current()
        val showing = state.value
        state.value = when {
            // A shot under way, or its failure, stays while the camera is usable.
            now == CaptureUiState.Previewing && (showing == CaptureUiState.Taking || showing is CaptureUiState.ShotFailed) -> showing
            // A denial stays on screen until the permission really changes.
            now == CaptureUiState.NeedsPermission && showing is CaptureUiState.NoCamera -> showing
            else -> now
        }
    }

    /** The system's answer; [canAskAgain]: it would show its question again (else only Settings can grant it). */
    fun permissionResult(granted: Boolean, canAskAgain: Boolean) {
        state.value = when {
            granted -> CaptureUiState.Previewing
            // The system will ask again: the explanation and "Allow" stay.
            canAskAgain -> CaptureUiState.NeedsPermission
            else -> CaptureUiState.NoCamera(Problem.cameraDenied(texts, canAskAgain = false))
        }
    }

    /** Takes a picture and hands its file to [onPicture]. */
    fun takePicture(onPicture: (File) -> Unit) {
        if (state.value != CaptureUiState.Previewing && state.value !is CaptureUiState.ShotFailed) return
        state.value = CaptureUiState.Taking
        viewModelScope.launch {
            try {
                val jpeg = camera.takePicture()
                shutterSound()
                haptics.play(HapticEvent.PictureTaken)
                val file = keep(jpeg)
                state.value = CaptureUiState.Previewing
                onPicture(file)
            } catch (e: CancellationException) {
                throw e
            } catch (e: CameraNotReady) {
                state.value = CaptureUiState.ShotFailed(Problem.cameraNotReady(texts))
            } catch (e: Exception) {
                haptics.play(HapticEvent.Failure)
                state.value = CaptureUiState.ShotFailed(Problem.shotFailed(texts))
            }
        }
    }

    private fun current(): CaptureUiState = when {
        !camera.isAvailable -> CaptureUiState.NoCamera(Problem.cameraUnavailable(texts))
        permitted() -> CaptureUiState.Previewing
        else -> CaptureUiState.NeedsPermission
    }
}
