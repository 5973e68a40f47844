package app.imp.android

import android.os.Looper
import androidx.lifecycle.SavedStateHandle
import app.imp.android.engine.AnswerEngine
import app.imp.android.engine.BenchmarkRunner
import app.imp.android.engine.ConversationArchive
import app.imp.android.engine.EngineLoader
import app.imp.android.engine.EngineSession
import app.imp.android.engine.ModelLibrary
import app.imp.android.engine.PictureConversation
import app.imp.android.engine.Texts
import app.imp.android.install.ModelInstalls
import app.imp.android.pictures.ContentReader
import app.imp.android.pictures.PictureStore
import app.imp.android.platform.AccessibilityStatus
import app.imp.android.platform.DeviceInfo
import app.imp.android.platform.HapticEvent
import app.imp.android.platform.NetworkCost
import app.imp.android.platform.SpeechVoice
import app.imp.android.settings.AppSettings
import app.imp.android.settings.SettingsRepository
import app.imp.android.settings.SettingsStore
import app.imp.android.speech.AnswerNarrator
import app.imp.android.speech.SpeechQueue
import app.imp.android.ui.conversation.ConversationViewModel
import app.imp.kit.AnswerEvent
import app.imp.kit.AnswerSettings
import app.imp.kit.BenchmarkEvent
import app.imp.kit.BenchmarkOptions
import app.imp.kit.BenchmarkRecord
import app.imp.kit.BenchmarkStage
import app.imp.kit.BenchmarkTarget
import app.imp.kit.CatalogModel
import app.imp.kit.ConversationSummary
import app.imp.kit.DeviceProfile
import app.imp.kit.DownloadSource
import app.imp.kit.EngineOptions
import app.imp.kit.HistoryPage
import app.imp.kit.ImpException
import app.imp.kit.InstallEvent
import app.imp.kit.InstalledModel
import app.imp.kit.ModelAddress
import app.imp.kit.ModelDetails
import app.imp.kit.ModelFit
import app.imp.kit.ModelOrigin
import app.imp.kit.PendingDownload
import app.imp.kit.Picture
import app.imp.kit.PublishedFile
import app.imp.kit.SavedConversation
import app.imp.kit.SavedTurn
import app.imp.kit.StopReason
import app.imp.kit.TransferEvent
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.emptyFlow
import kotlinx.coroutines.flow.flow
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowLooper
import java.io.File
import java.util.concurrent.TimeUnit

// Fakes of the app's ports (engine/Ports.kt, platform/Platform.kt): hand-written,
// scripted by the tests, recording what they were asked. No mocking library.

/** Runs what the main thread has to do now, and what is due within [ms]. */
fun idle(ms: Long = 0) {
    val looper = shadowOf(Looper.getMainLooper())
    if (ms > 0) looper.idleFor(ms, TimeUnit.MILLISECONDS) else looper.idle()
    ShadowLooper.idleMainLooper()
}

val TINY_DETAILS = ModelDetails("imp-v1-3b", "q4_0", 384, 729, 2048, 3_000_000_000, 2_000_000_000)

/** An answer the test writes event by event: [send] tokens, then [finish]. */
class ScriptedAnswer {
    private val events = Channel<AnswerEvent>(Channel.UNLIMITED)
    private val written = StringBuilder()
    var cancelled = false
        private set

    fun send(vararg tokens: String) = tokens.forEach {
        written.append(it)
        events.trySend(AnswerEvent.Token(0, it, emptyList()))
    }

    fun finish(reason: StopReason = StopReason.END_OF_ANSWER) {
        events.trySend(AnswerEvent.Finished(written.toString(), "", reason, 100.0, 10, 50.0, 5, 200.0))
    }

    fun fail(error: Exception) {
        events.close(error)
    }

    val flow: Flow<AnswerEvent> = flow {
        try {
            for (event in events) {
                emit(event)
                if (event is AnswerEvent.Finished) break
            }
        } catch (e: kotlinx.coroutines.CancellationException) {
            cancelled = true
            throw e
        }
    }
}

class FakeEngine(override val details: ModelDetails = TINY_DETAILS) : AnswerEngine {
    val pictures = mutableListOf<Picture>()
    val questions = mutableListOf<String>()
    val answers = ArrayDeque<ScriptedAnswer>()
    var encodeError: Exception? = null
    var closed = false

    /** Conversations started and not yet closed (each holds the model's memory on the real core). */
    var openConversations = 0
        private set

    /** The answer the next question gets (made on demand, so a test can script it after asking). */
    fun nextAnswer(): ScriptedAnswer = answers.firstOrNull() ?: ScriptedAnswer().also { answers.addLast(it) }

    override suspend fun startConversation(picture: Picture): PictureConversation {
        encodeError?.let { throw it }
        pictures += picture
        openConversations++
        return object : PictureConversation {
            private var open = true

            override fun ask(question: String, settings: AnswerSettings): Flow<AnswerEvent> {
                questions += question
                val answer = nextAnswer()
                answers.removeFirst()
                current = answer
                return answer.flow
            }

            override fun close() {
                if (open) openConversations--
                open = false
            }
        }
    }

    /** The answer being written now. */
    var current: ScriptedAnswer? = null
        private set

    override fun close() {
        closed = true
    }
}

class FakeLoader(val engine: FakeEngine = FakeEngine()) : EngineLoader {
    var error: Exception? = null
    val loads = mutableListOf<Pair<String, EngineOptions>>()

    /** Runs as each load starts (what is still in memory then). */
    var onLoad: () -> Unit = {}

    override suspend fun load(path: String, options: EngineOptions, onProgress: (Float) -> Unit): AnswerEngine {
        onLoad()
        loads += path to options
        error?.let { throw it }
        onProgress(1f)
        return engine
    }
}

fun installedModel(id: String = "imp-v1-3b-q4", problem: String? = null) = InstalledModel(
    id = id, path = "/models/$id.gguf", sizeBytes = 1_800_000_000, sha256 = "ab", verified = true,
    catalogId = "imp-3b-196", origin = ModelOrigin.Download("https://example.invalid/m.gguf"), installedAtMs = 0,
    details = TINY_DETAILS, problem = problem,
)

/** The phone's network as the test sets it: Wi-Fi unless told otherwise. */
class FakeNetworkCost(var unmetered: Boolean = true) : NetworkCost {
    override fun isUnmetered() = unmetered
}

/** A catalogue entry with a published file, for the tests of that path (no shipped entry has one). */
val PUBLISHED_ENTRY = CatalogModel(
    "imp-v1-3b", "Imp v1 3B", "imp-v1-3b", "MILVLG/imp-v1-3b", 384, 2_000_000_000, "Everyday questions",
    listOf(PublishedFile("imp.gguf", "https://example.invalid/imp.gguf", 1_800_000_000, "ab", "q4_0")), null,
)

/**
 * The catalogue the app ships (models/catalog.json, read as the core reads it:
 * id, names, repository, picture size, memory, download size), so screens and
 * screenshots show what a person sees.
 */
fun shippedCatalog(): List<CatalogModel> {
    val fixtures = File(System.getProperty("imp.fixtures") ?: error("set -Dimp.fixtures"))
    val json = org.json.JSONObject(File(fixtures, "../../models/catalog.json").readText())
    val models = json.getJSONArray("models")
    return (0 until models.length()).map { i ->
        val m = models.getJSONObject(i)
        val source = m.getJSONObject("source")
        CatalogModel(
            id = m.getString("id"),
            displayName = m.getString("display_name"),
            variant = m.getString("variant"),
            sourceRepo = source.getString("repo"),
            imageSize = m.getInt("image_size"),
            memoryBytes = m.getLong("memory_bytes"),
            goodFor = m.getString("good_for"),
            files = emptyList(),
            howToGet = null,
            downloadBytes = source.getLong("download_bytes"),
        )
    }
}

/** The store: what is installed is a list the test sets; downloads are scripted flows. */
class FakeLibrary(
    var models: MutableList<InstalledModel> = mutableListOf(installedModel()),
    override val catalog: List<CatalogModel> = shippedCatalog(),
) : ModelLibrary {
    var installFlow: Flow<InstallEvent> = emptyFlow()
    var pending = mutableListOf<PendingDownload>()
    var fits = listOf<ModelFit>()
    var downloadFlow: Flow<TransferEvent> = emptyFlow()
    var importFlow: Flow<TransferEvent> = emptyFlow()
    var verifyFlow: Flow<TransferEvent> = emptyFlow()
    val removed = mutableListOf<String>()
    var networkUsed = false

    override suspend fun installed() = models.toList()

    override suspend fun pendingDownloads() = pending.toList()

    override suspend fun discardDownload(id: String) {
        pending.removeAll { it.id == id }
    }

    override suspend fun deviceFit(device: DeviceProfile) = fits

    override fun download(source: DownloadSource): Flow<TransferEvent> {
        networkUsed = true
        return downloadFlow
    }

    override fun installFromHub(catalogId: String): Flow<InstallEvent> {
        networkUsed = true
        return installFlow
    }

    /** A repository id, or any link as a .gguf's; the real reading is the core's (tested there and end to end). */
    override fun modelAddress(text: String, sha256: String?): ModelAddress = when {
        "://" in text -> ModelAddress.GgufUrl(text.trim(), sha256?.ifBlank { null })
        Regex("[\\w.-]+/[\\w.-]+").matches(text.trim()) -> ModelAddress.HubRepo(text.trim())
        else -> throw ImpException.InvalidAddress("\"$text\" is neither a Hugging Face repository (owner/name) nor a link.")
    }

    val added = mutableListOf<ModelAddress>()

    override fun addModel(address: ModelAddress): Flow<InstallEvent> {
        networkUsed = true
        added += address
        return installFlow
    }

    override fun importFile(path: String) = importFlow

    override val importDirectory = File(System.getProperty("java.io.tmpdir"), "imp-imported")

    override fun verify(id: String) = verifyFlow

    override suspend fun remove(id: String) {
        removed += id
        models.removeAll { it.id == id }
    }
}

class FakeArchive : ConversationArchive {
    val conversations = linkedMapOf<String, SavedConversation>()
    var failing: Exception? = null
    private var next = 0

    override suspend fun create(modelId: String, picture: Picture): SavedConversation {
        failing?.let { throw it }
        val c = SavedConversation("c${next++}", modelId, 0, 0, emptyList())
        conversations[c.id] = c
        return c
    }

    override suspend fun appendTurn(id: String, turn: SavedTurn): SavedConversation {
        val c = conversations.getValue(id).let { it.copy(turns = it.turns + turn) }
        conversations[id] = c
        return c
    }

    /** While set, list() waits for it: a slow disk, as the real archive's IO can be. */
    var listGate: kotlinx.coroutines.CompletableDeferred<Unit>? = null

    override suspend fun list(offset: Int, limit: Int): HistoryPage = listGate?.await().let { page(offset, limit) }

    private fun page(offset: Int, limit: Int) = failing?.let { throw it } ?: HistoryPage(
        conversations.values.drop(offset).take(limit).map {
            ConversationSummary(it.id, it.modelId, it.createdAtMs, it.updatedAtMs, it.turns.size, it.turns.firstOrNull()?.question, it.turns.lastOrNull()?.answer)
        },
        conversations.size, 0,
    )

    override suspend fun load(id: String) = conversations[id] ?: throw ImpException.NotFound("no conversation $id")

    override suspend fun thumbnail(id: String): ByteArray = tinyJpeg()

    override suspend fun delete(id: String) {
        failing?.let { throw it }
        conversations.remove(id)
    }

    /** A saved conversation with [turns] (question to answer), as the history keeps it. */
    fun add(modelId: String, vararg turns: Pair<String, String>): SavedConversation {
        val c = SavedConversation(
            "c${next++}", modelId, 0, 1_000,
            turns.map { (q, a) -> SavedTurn(q, a, "end_of_answer", 1_000) },
        )
        conversations[c.id] = c
        return c
    }

    override suspend fun deleteAll() = conversations.clear()
}

class FakeVoice : SpeechVoice {
    val spoken = mutableListOf<String>()
    var stops = 0

    override fun speak(text: String, rate: Float, onDone: () -> Unit) {
        spoken += text
        onDone()
    }

    override fun stop() {
        stops++
    }
}

class FakeAccessibility(on: Boolean = false) : AccessibilityStatus {
    override val screenReaderOn = MutableStateFlow(on)
}

class MemorySettingsStore(var saved: AppSettings) : SettingsStore {
    override fun load() = saved

    override fun save(settings: AppSettings) {
        saved = settings
    }
}

val fakeDevice = object : DeviceInfo {
    override fun profile() = DeviceProfile(8_000_000_000, 4_000_000_000, 20_000_000_000)

    override val bigCores = 4
}

/** A benchmark that reports [stages] and then [record] (or fails with [error]), or waits to be cancelled. */
class FakeBenchmarkRunner(var record: BenchmarkRecord? = benchmarkRecord(), var error: Exception? = null) : BenchmarkRunner {
    val runs = mutableListOf<Pair<BenchmarkTarget, BenchmarkOptions>>()
    val gate = Channel<Unit>(Channel.UNLIMITED)
    var cancelled = false
        private set

    override fun run(target: BenchmarkTarget, options: BenchmarkOptions): Flow<BenchmarkEvent> = flow {
        runs += target to options
        emit(BenchmarkEvent.Stage(BenchmarkStage.Loading(0.5f)))
        try {
            gate.receive() // the test lets it finish
        } catch (e: kotlinx.coroutines.CancellationException) {
            cancelled = true
            throw e
        }
        emit(BenchmarkEvent.Stage(BenchmarkStage.Run(1, 3)))
        error?.let { throw it }
        emit(BenchmarkEvent.Finished(record!!))
    }
}

fun benchmarkRecord() = BenchmarkRecord(
    model = "imp-v1-3b", weightsDtype = "q4_k", imageSize = 196, promptTokens = 41, genTokens = 64, threads = 4,
    loadS = 1.5, runs = 3, visionS = 0.42, promptTokS = 96.0, genTokS = 21.3, totalS = 5.0, firstRunTotalS = 5.5,
    peakRssBytes = 2_100_000_000, peakAnonRssBytes = 300_000_000, json = "{\"model\":\"imp-v1-3b\"}",
    questionTokens = 10, ttftColdS = 2.4, ttftAheadS = 0.38, kernels = "neoni8mm",
)

/** A small real JPEG (Android's encoder under Robolectric's native graphics). */
fun tinyJpeg(): ByteArray {
    val bitmap = android.graphics.Bitmap.createBitmap(64, 48, android.graphics.Bitmap.Config.ARGB_8888)
    bitmap.eraseColor(android.graphics.Color.rgb(200, 120, 40))
    val out = java.io.ByteArrayOutputStream()
    bitmap.compress(android.graphics.Bitmap.CompressFormat.JPEG, 90, out)
    return out.toByteArray()
}

/** Everything a conversation needs, on fakes; [texts] are the app's real strings. */
class ConversationWorld(
    val texts: Texts,
    val dir: File,
    val loader: FakeLoader = FakeLoader(),
    val library: FakeLibrary = FakeLibrary(),
    val archive: FakeArchive = FakeArchive(),
    val voice: FakeVoice = FakeVoice(),
    val accessibility: FakeAccessibility = FakeAccessibility(),
    settings: AppSettings = AppSettings(modelId = "imp-v1-3b-q4"),
    /** The real core's loader, history and store for end-to-end tests; the fakes otherwise. */
    engineLoader: EngineLoader = loader,
    private val history: ConversationArchive = archive,
    modelLibrary: ModelLibrary = library,
) {
    val engine get() = loader.engine
    val haptics = mutableListOf<HapticEvent>()
    val copied = mutableListOf<String>()
    val shared = mutableListOf<String>()
    val settings = SettingsRepository(MemorySettingsStore(settings))
    val session = EngineSession(engineLoader, modelLibrary, this.settings, fakeDevice, MainScope(), texts).also { it.start() }
    /** What the app's installs told the foreground service: true when one started, false when all ended. */
    val keptAlive = mutableListOf<Boolean>()
    val installs = ModelInstalls(modelLibrary, MainScope()) { keptAlive += it }
    val network = FakeNetworkCost()
    val pictures = PictureStore(File(dir, "pictures"), object : ContentReader {
        override fun open(uri: String) = File(uri.removePrefix("file:")).inputStream()

        override fun displayName(uri: String) = File(uri).name

        override fun size(uri: String) = File(uri.removePrefix("file:")).length()
    }, texts)
    val narrator = AnswerNarrator(SpeechQueue(), voice, accessibility, { haptics += it }, { this.settings.settings.value }, texts)

    fun viewModel(handle: SavedStateHandle = SavedStateHandle()) = ConversationViewModel(
        handle, session, history, pictures, narrator, { _, text -> copied += text }, { shared += it }, { 1_000 },
        settings, texts,
    )

    /** A picture file as the camera screen leaves it. */
    fun picture(): File = pictures.keepCapture(tinyJpeg())
}
