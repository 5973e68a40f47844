package app.imp.android.platform

import android.app.ActivityManager
import android.content.ClipData
import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.content.Intent
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.StatFs
import android.speech.tts.TextToSpeech
import android.speech.tts.UtteranceProgressListener
import android.view.HapticFeedbackConstants
import android.view.View
import android.view.accessibility.AccessibilityManager
import app.imp.kit.DeviceProfile
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import java.io.File
import java.lang.ref.WeakReference
import java.util.concurrent.atomic.AtomicInteger

/** The platform's text-to-speech, started on first use (binding the engine takes a moment). */
class TextToSpeechVoice(private val context: Context) : SpeechVoice {
    private val main = Handler(Looper.getMainLooper())
    private var tts: TextToSpeech? = null
    private var ready = false
    private var failed = false
    private val waiting = mutableListOf<() -> Unit>()
    private val callbacks = mutableMapOf<String, () -> Unit>()
    private val ids = AtomicInteger()

    override fun speak(text: String, rate: Float, onDone: () -> Unit) {
        start()
        val say = say@{
            val engine = tts
            if (failed || engine == null) return@say onDone()
            val id = "imp-${ids.incrementAndGet()}"
            callbacks[id] = onDone
            engine.setSpeechRate(rate)
            if (engine.speak(text, TextToSpeech.QUEUE_ADD, null, id) != TextToSpeech.SUCCESS) done(id)
        }
        if (ready || failed) say() else waiting += say
    }

    override fun stop() {
        waiting.clear()
        tts?.stop()
        // The engine reports the interrupted utterance through onStop; the others never start.
        val pending = callbacks.values.toList()
        callbacks.clear()
        pending.forEach { it() }
    }

    private fun start() {
        if (tts != null || failed) return
        tts = TextToSpeech(context.applicationContext) { status ->
            main.post {
                ready = status == TextToSpeech.SUCCESS
                failed = !ready
                val queued = waiting.toList()
                waiting.clear()
                queued.forEach { it() }
            }
        }.apply {
            setOnUtteranceProgressListener(object : UtteranceProgressListener() {
                override fun onStart(utteranceId: String) = Unit

                override fun onDone(utteranceId: String) = done(utteranceId)

                @Deprecated("Deprecated in Java")
                override fun onError(utteranceId: String) = done(utteranceId)

                override fun onStop(utteranceId: String, interrupted: Boolean) = done(utteranceId)
            })
        }
    }

    // Utterance callbacks come on a binder thread.
    private fun done(id: String) {
        main.post { callbacks.remove(id)?.invoke() }
    }
}

/** The system's own shutter sound (MediaActionSound plays it even where the camera's sound is mandatory). */
class SystemShutterSound {
    private val sound = runCatching { android.media.MediaActionSound().apply { load(android.media.MediaActionSound.SHUTTER_CLICK) } }.getOrNull()

    fun play() {
        runCatching { sound?.play(android.media.MediaActionSound.SHUTTER_CLICK) }
    }
}

/**
 * Haptics through the window's view: needs no VIBRATE permission and follows
 * the person's system setting for touch feedback. MainActivity attaches its view.
 */
class ViewHaptics : Haptics {
    private var view = WeakReference<View>(null)

    fun attach(view: View?) {
        this.view = WeakReference(view)
    }

    override fun play(event: HapticEvent) {
        val v = view.get() ?: return
        val modern = Build.VERSION.SDK_INT >= Build.VERSION_CODES.R
        val constant = when (event) {
            HapticEvent.AnswerStarted -> if (modern) HapticFeedbackConstants.GESTURE_START else HapticFeedbackConstants.CLOCK_TICK
            HapticEvent.AnswerFinished -> if (modern) HapticFeedbackConstants.CONFIRM else HapticFeedbackConstants.CONTEXT_CLICK
            HapticEvent.AnswerStopped -> HapticFeedbackConstants.CONTEXT_CLICK
            HapticEvent.Failure -> if (modern) HapticFeedbackConstants.REJECT else HapticFeedbackConstants.LONG_PRESS
            HapticEvent.PictureTaken -> HapticFeedbackConstants.VIRTUAL_KEY
        }
        v.performHapticFeedback(constant)
    }
}

/** Whether a screen reader explores the screen by touch (TalkBack, or another one). */
class SystemAccessibilityStatus(context: Context) : AccessibilityStatus {
    private val manager = context.getSystemService(AccessibilityManager::class.java)
    private val state = MutableStateFlow(manager?.isTouchExplorationEnabled == true)
    override val screenReaderOn: StateFlow<Boolean> = state.asStateFlow()

    init {
        manager?.addTouchExplorationStateChangeListener { enabled -> state.value = enabled }
    }
}

/** The active network's capabilities (Wi-Fi and Ethernet are unmetered; so is no network, which fails anyway). */
class ConnectivityNetworkCost(private val context: Context) : NetworkCost {
    override fun isUnmetered(): Boolean {
        val connectivity = context.getSystemService(ConnectivityManager::class.java) ?: return true
        val capabilities = connectivity.getNetworkCapabilities(connectivity.activeNetwork) ?: return true
        return capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
    }
}

class AndroidDeviceInfo(private val context: Context) : DeviceInfo {
    override fun profile(): DeviceProfile {
        val memory = ActivityManager.MemoryInfo()
        context.getSystemService(ActivityManager::class.java)?.getMemoryInfo(memory)
        return DeviceProfile(
            totalRamBytes = memory.totalMem,
            availableRamBytes = memory.availMem.takeIf { it > 0 },
            freeStorageBytes = StatFs(context.filesDir.path).availableBytes,
        )
    }

    override val bigCores: Int by lazy {
        val cpus = File("/sys/devices/system/cpu").listFiles { f -> f.name.matches(Regex("cpu\\d+")) }.orEmpty()
        val freqs = cpus.mapNotNull { File(it, "cpufreq/cpuinfo_max_freq").takeIf(File::canRead)?.readText()?.trim()?.toLongOrNull() }
        BigCores.count(freqs, Runtime.getRuntime().availableProcessors())
    }
}

object BigCores {
    /**
     * The cores faster than the slowest cluster: a phone's 4 little + 3 mid + 1
     * prime gives 4. Threads on the little cores slow a token down (each step
     * waits for its slowest thread), so inference uses only the others. Equal
     * cores (or unreadable frequencies) count as all big.
     */
    fun count(maxFrequencies: List<Long>, processors: Int): Int {
        if (maxFrequencies.isEmpty()) return processors.coerceAtLeast(1)
        val slowest = maxFrequencies.min()
        val fast = maxFrequencies.count { it > slowest }
        return if (fast == 0) maxFrequencies.size else fast
    }
}

class SystemClipboard(private val context: Context) : Clipboard {
    override fun copy(label: String, text: String) {
        context.getSystemService(android.content.ClipboardManager::class.java)
            ?.setPrimaryClip(ClipData.newPlainText(label, text))
    }
}

/** The system share sheet, from the application context (a new task, as the chooser wants it). */
class ChooserShareSheet(private val context: Context, private val title: String) : ShareSheet {
    override fun share(text: String) {
        val send = Intent(Intent.ACTION_SEND).setType("text/plain").putExtra(Intent.EXTRA_TEXT, text)
        context.startActivity(Intent.createChooser(send, title).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
    }
}
