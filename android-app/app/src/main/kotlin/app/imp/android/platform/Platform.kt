package app.imp.android.platform

import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import app.imp.kit.DeviceProfile
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.emptyFlow

// What the app needs from the phone, as interfaces: real ones in this package
// (AndroidPlatform.kt, Camera2Camera.kt), fakes in the tests.

/** Speaks one piece of text. */
interface SpeechVoice {
    /** [onDone] runs on the main thread once [text] was spoken (or could not be). */
    fun speak(text: String, rate: Float, onDone: () -> Unit)

    /** Silence now; pending callbacks may still come and are ignored by [app.imp.android.speech.SpeechQueue]. */
    fun stop()
}

enum class HapticEvent { AnswerStarted, AnswerFinished, AnswerStopped, Failure, PictureTaken }

fun interface Haptics {
    fun play(event: HapticEvent)
}

interface AccessibilityStatus {
    /** TalkBack (or another screen reader that explores by touch) is on. */
    val screenReaderOn: StateFlow<Boolean>
}

fun interface Clock {
    fun nowMs(): Long
}

interface DeviceInfo {
    /** Memory and free storage, for the store's fit verdicts and the engine's memory check. */
    fun profile(): DeviceProfile

    /** The phone's fast cores (the default number of inference threads). */
    val bigCores: Int

    /** Every core, the most threads the settings offer. */
    val allCores: Int get() = Runtime.getRuntime().availableProcessors()
}

/** What the phone's network costs: a model is gigabytes, too much for most mobile plans. */
fun interface NetworkCost {
    /** Wi-Fi or another network that does not count the bytes. */
    fun isUnmetered(): Boolean
}

fun interface Clipboard {
    fun copy(label: String, text: String)
}

fun interface ShareSheet {
    fun share(text: String)
}

/** The back camera: a live preview and a still picture. */
interface Camera {
    /** The phone has a camera the app can use. */
    val isAvailable: Boolean

    /** The live view, open while it is on screen and the app is in front (needs the camera permission). */
    @Composable
    fun Preview(modifier: Modifier)

    /** A JPEG of what the preview shows; [CameraNotReady] while the camera is still starting. */
    suspend fun takePicture(): ByteArray

    /** How the preview looks, a few times a second while it runs (aiming help). */
    val looks: Flow<FrameLook> get() = emptyFlow()

    /** The camera has a torch (its flash, kept on). */
    val hasTorch: Boolean get() = false

    /** Lights the torch, or puts it out, for the preview and the shot; kept while the preview restarts. */
    fun setTorch(on: Boolean) = Unit
}

/** The shutter was pressed before the camera was ready: pressing again in a moment works. */
class CameraNotReady : Exception("The camera is still starting.")
