package app.imp.android

import android.content.Context
import android.net.Uri
import android.os.StatFs
import android.provider.OpenableColumns
import android.util.Log
import app.imp.android.engine.CoreConversationArchive
import app.imp.android.engine.CoreEngineLoader
import app.imp.android.engine.CoreModelLibrary
import app.imp.android.engine.EngineSession
import app.imp.android.engine.Texts
import app.imp.android.install.ModelInstalls
import app.imp.android.install.ModelDownloadService
import app.imp.android.install.ModelFileCopy
import app.imp.android.pictures.ContentReader
import app.imp.android.pictures.PictureRetention
import app.imp.android.pictures.PictureStore
import app.imp.android.platform.AndroidDeviceInfo
import app.imp.android.platform.ConnectivityNetworkCost
import app.imp.android.platform.Camera2Camera
import app.imp.android.platform.ChooserShareSheet
import app.imp.android.platform.SystemAccessibilityStatus
import app.imp.android.platform.SystemClipboard
import app.imp.android.platform.SystemShutterSound
import app.imp.android.platform.TextToSpeechVoice
import app.imp.android.platform.ViewHaptics
import app.imp.android.settings.PreferencesSettingsStore
import app.imp.android.settings.SettingsRepository
import app.imp.android.speech.AnswerNarrator
import app.imp.android.speech.SpeechQueue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.launch
import java.io.File
import java.io.InputStream

/**
 * The app's long-lived parts, made once per process from the application
 * context: the loaded model outlives activities (rotation never reloads 2 GB of
 * weights). Built lazily, so nothing native loads before a screen needs it.
 */
class AppGraph private constructor(context: Context) {
    private val app = context.applicationContext
    val texts = Texts { id, args -> app.getString(id, *args) }
    val settings = SettingsRepository(PreferencesSettingsStore(app.getSharedPreferences("settings", Context.MODE_PRIVATE)))
    val device = AndroidDeviceInfo(app)
    val network = ConnectivityNetworkCost(app)
    val library by lazy { CoreModelLibrary(File(app.filesDir, "models"), File(app.filesDir, "imported")) }
    val archive by lazy { CoreConversationArchive(File(app.filesDir, "history")) }
    val contentReader = ResolverContentReader(app)
    val pictures = PictureStore(File(app.filesDir, "pictures"), contentReader, texts)
    val session by lazy { EngineSession(CoreEngineLoader(), library, settings, device, MainScope(), texts).also { it.start() } }

    /** Models being made from the hub; a foreground service keeps the process alive meanwhile. */
    val installs by lazy {
        ModelInstalls(library, MainScope()) { busy -> if (busy) ModelDownloadService.start(app) }
    }
    val haptics = ViewHaptics()
    val narrator by lazy {
        AnswerNarrator(SpeechQueue(), TextToSpeechVoice(app), SystemAccessibilityStatus(app), haptics, { settings.settings.value }, texts)
    }
    val clipboard = SystemClipboard(app)
    val shareSheet = ChooserShareSheet(app, app.getString(R.string.action_share))
    val camera by lazy { Camera2Camera(app) }
    val shutterSound by lazy { SystemShutterSound() }

    /** Picked model files copied in (the store uses them where they are). */
    val modelFileCopy by lazy {
        ModelFileCopy(library.importDirectory, contentReader) { StatFs(app.filesDir.path).availableBytes }
    }

    private val pruned = java.util.concurrent.atomic.AtomicBoolean(false)

    /**
     * Once per process, in the background: the pictures [PictureRetention]
     * lets go (a history that cannot be read deletes nothing) and the copies a
     * killed import left half-written.
     */
    fun pruneOnce() {
        if (!pruned.compareAndSet(false, true)) return
        MainScope().launch(Dispatchers.IO) {
            runCatching { modelFileCopy.removeLeftovers() }
            runCatching { PictureRetention.prune(archive, pictures, System.currentTimeMillis()) }
                .onFailure { Log.w("imp", "pictures not pruned", it) }
        }
    }

    companion object {
        @Volatile private var instance: AppGraph? = null

        /** The graph of [context]'s application (one per process; tests start a new application per test). */
        fun get(context: Context): AppGraph {
            val app = context.applicationContext
            instance?.takeIf { it.app === app }?.let { return it }
            return synchronized(this) {
                instance?.takeIf { it.app === app } ?: AppGraph(app).also { instance = it }
            }
        }
    }
}

/** Pictures and model files other apps hand over, read through the content resolver. */
class ResolverContentReader(private val context: Context) : ContentReader {
    override fun open(uri: String): InputStream =
        context.contentResolver.openInputStream(Uri.parse(uri)) ?: error("cannot open $uri")

    override fun displayName(uri: String): String? = column(uri, OpenableColumns.DISPLAY_NAME)

    override fun size(uri: String): Long? = column(uri, OpenableColumns.SIZE)?.toLongOrNull()

    override fun type(uri: String): String? = runCatching { context.contentResolver.getType(Uri.parse(uri)) }.getOrNull()

    private fun column(uri: String, name: String): String? = runCatching {
        context.contentResolver.query(Uri.parse(uri), arrayOf(name), null, null, null)?.use { c ->
            if (c.moveToFirst()) c.getString(0) else null
        }
    }.getOrNull()
}
