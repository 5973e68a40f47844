package app.imp.android

import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import app.imp.android.engine.Problem
import app.imp.android.engine.Texts
import app.imp.android.platform.Camera
import app.imp.android.platform.CameraNotReady
import app.imp.android.platform.FrameLook
import app.imp.android.platform.HapticEvent
import app.imp.android.ui.capture.CaptureUiState
import app.imp.android.ui.capture.AimingHint
import app.imp.android.ui.capture.CaptureViewModel
import kotlinx.coroutines.flow.MutableSharedFlow
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import java.io.File

/** A camera whose shots are scripted: each call takes the next outcome; its looks are sent by the test. */
class FakeCamera(override val isAvailable: Boolean = true, override val hasTorch: Boolean = true) : Camera {
    val shots = ArrayDeque<() -> ByteArray>()
    override val looks = MutableSharedFlow<FrameLook>(extraBufferCapacity = 16)
    val torch = mutableListOf<Boolean>()

    @Composable
    override fun Preview(modifier: Modifier) = Unit

    override suspend fun takePicture(): ByteArray = shots.removeFirst()()

    override fun setTorch(on: Boolean) {
        torch += on
    }
}

/**
 * Issue 27, defects 3 and 4: the capture screen has no dead end (a shutter
 * pressed while the camera starts, a failed shot, a denial the system would
 * ask again, a permission granted in Settings), and a picture taken is felt
 * and heard at once.
 */
@RunWith(RobolectricTestRunner::class)
class CaptureViewModelTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }
    private val camera = FakeCamera()
    private var permitted = true
    private val felt = mutableListOf<HapticEvent>()
    private var clicks = 0
    private val taken = mutableListOf<File>()

    private var nowMs = 0L

    private fun viewModel(camera: Camera = this.camera) = CaptureViewModel(
        camera, { permitted }, { jpeg -> temp.newFile().apply { writeBytes(jpeg) } }, { felt += it }, { clicks++ }, texts,
        clock = { nowMs },
    )

    @Test
    fun aDarkSceneIsToldAndTheTorchLightsFromTheScreen() {
        val vm = viewModel()
        idle()
        val dark = FrameLook(brightness = 10, detail = 0, sharpness = 1f, motion = 0)
        for (t in 0L..1_000L step 250L) {
            nowMs = t
            camera.looks.tryEmit(dark)
            idle()
        }
        assertEquals(AimingHint.TooDark, vm.aiming.value.hint)
        assertTrue(vm.aiming.value.hasTorch)
        vm.toggleTorch()
        assertEquals(listOf(true), camera.torch)
        assertTrue(vm.aiming.value.torchOn)
        vm.toggleTorch()
        assertEquals(listOf(true, false), camera.torch)
    }

    @Test
    fun noHintWithoutAPreview() {
        permitted = false
        val vm = viewModel()
        idle()
        for (t in 0L..2_000L step 250L) {
            nowMs = t
            camera.looks.tryEmit(FrameLook(brightness = 10, detail = 0, sharpness = 1f, motion = 0))
            idle()
        }
        assertEquals(CaptureUiState.NeedsPermission, vm.uiState.value)
        assertEquals(null, vm.aiming.value.hint)
    }

    private fun shoot(vm: CaptureViewModel) {
        vm.takePicture { taken += it }
        idle()
    }

    @Test
    fun aShutterPressedWhileTheCameraStartsSaysSoAndPressingAgainWorks() {
        val vm = viewModel()
        camera.shots += { throw CameraNotReady() }
        camera.shots += { byteArrayOf(1, 2, 3) }
        shoot(vm)
        val failed = vm.uiState.value as CaptureUiState.ShotFailed
        assertEquals(app.getString(R.string.problem_camera_starting_title), failed.problem.title)
        assertEquals(Problem.Recovery.TryAgain, failed.problem.recovery)
        assertTrue(taken.isEmpty())

        shoot(vm)
        assertEquals(CaptureUiState.Previewing, vm.uiState.value)
        assertEquals(listOf(1, 2, 3), taken.single().readBytes().map { it.toInt() })
        // Felt and heard the moment it was taken.
        assertEquals(listOf(HapticEvent.PictureTaken), felt)
        assertEquals(1, clicks)
    }

    @Test
    fun aFailedShotOffersTryAgainAndKeepsThePreview() {
        val vm = viewModel()
        camera.shots += { error("The camera did not answer.") }
        shoot(vm)
        val failed = vm.uiState.value as CaptureUiState.ShotFailed
        assertEquals(app.getString(R.string.problem_shot_failed_title), failed.problem.title)
        assertEquals(listOf(HapticEvent.Failure), felt)
        assertEquals(0, clicks)
        // Coming back to the screen does not hide what happened.
        vm.refresh()
        assertEquals(failed, vm.uiState.value)
    }

    @Test
    fun aDenialTheSystemWouldAskAgainKeepsAllowAndAFinalOneLeadsToSettings() {
        permitted = false
        val vm = viewModel()
        assertEquals(CaptureUiState.NeedsPermission, vm.uiState.value)
        vm.permissionResult(granted = false, canAskAgain = true)
        assertEquals(CaptureUiState.NeedsPermission, vm.uiState.value)
        vm.permissionResult(granted = false, canAskAgain = false)
        val denied = vm.uiState.value as CaptureUiState.NoCamera
        assertEquals(Problem.Recovery.OpenSystemSettings, denied.problem.recovery)
        vm.refresh()
        assertEquals(denied, vm.uiState.value)
    }

    @Test
    fun aPermissionGrantedOrTakenAwayInSettingsIsSeenOnReturn() {
        permitted = false
        val vm = viewModel()
        vm.permissionResult(granted = false, canAskAgain = false)
        permitted = true
        vm.refresh()
        assertEquals(CaptureUiState.Previewing, vm.uiState.value)
        permitted = false
        vm.refresh()
        assertEquals(CaptureUiState.NeedsPermission, vm.uiState.value)
    }

    @Test
    fun aPhoneWithoutACameraSaysSo() {
        val vm = viewModel(FakeCamera(isAvailable = false))
        val none = vm.uiState.value as CaptureUiState.NoCamera
        assertEquals(app.getString(R.string.problem_camera_unavailable_title), none.problem.title)
    }
}
