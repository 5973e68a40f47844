package app.imp.android.engine

import app.imp.kit.AnswerEvent
import app.imp.kit.AnswerSettings
import app.imp.kit.Benchmark
import app.imp.kit.BenchmarkEvent
import app.imp.kit.BenchmarkOptions
import app.imp.kit.BenchmarkTarget
import app.imp.kit.CatalogModel
import app.imp.kit.Conversation
import app.imp.kit.ConversationHistory
import app.imp.kit.DeviceProfile
import app.imp.kit.DownloadSource
import app.imp.kit.EngineOptions
import app.imp.kit.HistoryPage
import app.imp.kit.ImpEngine
import app.imp.kit.InstallEvent
import app.imp.kit.InstalledModel
import app.imp.kit.ModelAddress
import app.imp.kit.ModelDetails
import app.imp.kit.ModelFit
import app.imp.kit.ModelOrigin
import app.imp.kit.ModelStore
import app.imp.kit.PendingDownload
import app.imp.kit.Picture
import app.imp.kit.SavedConversation
import app.imp.kit.SavedTurn
import app.imp.kit.TransferEvent
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.withContext
import java.io.File

// The real implementations of Ports.kt over the Kotlin wrapper of the Rust core.

class CoreEngineLoader : EngineLoader {
    override suspend fun load(path: String, options: EngineOptions, onProgress: (Float) -> Unit): AnswerEngine =
        CoreEngine(ImpEngine.load(path, options, onProgress))
}

private class CoreEngine(private val engine: ImpEngine) : AnswerEngine {
    override val details: ModelDetails = engine.details

    override suspend fun startConversation(picture: Picture): PictureConversation =
        CoreConversation(engine.startConversation(picture))

    override fun close() = engine.close()
}

private class CoreConversation(private val conversation: Conversation) : PictureConversation {
    override fun ask(question: String, settings: AnswerSettings): Flow<AnswerEvent> = conversation.ask(question, settings)

    override fun close() = conversation.close()
}

/** The store under the app's files: models in [storeDir], picked files copied to [importDirectory]. */
class CoreModelLibrary(
    storeDir: File,
    override val importDirectory: File,
    /** The hub's address; null for huggingface.co (tests give their loopback hub). */
    hubEndpoint: String? = null,
) : ModelLibrary {
    private val store = ModelStore.open(storeDir.also { it.mkdirs() }.path, hubEndpoint = hubEndpoint)

    override val catalog: List<CatalogModel> by lazy { store.catalog }

    override suspend fun installed(): List<InstalledModel> = store.installed()

    override suspend fun pendingDownloads(): List<PendingDownload> = store.pendingDownloads()

    override suspend fun discardDownload(id: String) = store.discardDownload(id)

    override suspend fun deviceFit(device: DeviceProfile): List<ModelFit> = store.deviceFit(device)

    override fun download(source: DownloadSource): Flow<TransferEvent> = store.download(source)

    override fun installFromHub(catalogId: String): Flow<InstallEvent> = store.installFromHub(catalogId)

    override fun modelAddress(text: String, sha256: String?): ModelAddress = store.modelAddress(text, sha256)

    override fun addModel(address: ModelAddress): Flow<InstallEvent> = store.addModel(address)

    override fun importFile(path: String): Flow<TransferEvent> = store.import(path, inPlace = true)

    override fun verify(id: String): Flow<TransferEvent> = store.verify(id)

    override suspend fun remove(id: String) {
        val model = installed().firstOrNull { it.id == id }
        store.remove(id)
        // The store leaves files it used in place; the ones the app copied in are the app's to delete.
        val origin = model?.origin
        if (origin is ModelOrigin.InPlace) {
            val file = File(origin.path)
            if (file.canonicalFile.parentFile == importDirectory.canonicalFile) {
                withContext(Dispatchers.IO) { file.delete() }
            }
        }
    }
}

class CoreConversationArchive(dir: File) : ConversationArchive {
    private val history = ConversationHistory.open(dir.also { it.mkdirs() }.path)

    override suspend fun create(modelId: String, picture: Picture): SavedConversation = history.create(modelId, picture)

    override suspend fun appendTurn(id: String, turn: SavedTurn): SavedConversation = history.appendTurn(id, turn)

    override suspend fun list(offset: Int, limit: Int): HistoryPage = history.list(offset, limit)

    override suspend fun load(id: String): SavedConversation = history.load(id)

    override suspend fun thumbnail(id: String): ByteArray = history.thumbnail(id)

    override suspend fun delete(id: String) = history.delete(id)

    override suspend fun deleteAll() = history.deleteAll()
}

class CoreBenchmarkRunner : BenchmarkRunner {
    override fun run(target: BenchmarkTarget, options: BenchmarkOptions): Flow<BenchmarkEvent> =
        Benchmark.run(target, options)
}
