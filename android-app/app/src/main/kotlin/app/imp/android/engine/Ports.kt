package app.imp.android.engine

import app.imp.kit.AnswerEvent
import app.imp.kit.AnswerSettings
import app.imp.kit.BenchmarkEvent
import app.imp.kit.BenchmarkOptions
import app.imp.kit.BenchmarkTarget
import app.imp.kit.CatalogModel
import app.imp.kit.DeviceProfile
import app.imp.kit.DownloadSource
import app.imp.kit.EngineOptions
import app.imp.kit.HistoryPage
import app.imp.kit.InstallEvent
import app.imp.kit.InstalledModel
import app.imp.kit.ModelAddress
import app.imp.kit.ModelDetails
import app.imp.kit.ModelFit
import app.imp.kit.PendingDownload
import app.imp.kit.Picture
import app.imp.kit.SavedConversation
import app.imp.kit.SavedTurn
import app.imp.kit.TransferEvent
import kotlinx.coroutines.flow.Flow
import java.io.Closeable

// What the app needs from the core, as interfaces: the view models see only
// these, so the UI tests run on fakes (test sources) and the end-to-end tests
// on the real core (CoreAdapters.kt, the one place that uses app.imp.kit's
// native-backed classes). The data types are app.imp.kit's plain records.

/** A loaded model. */
interface AnswerEngine : Closeable {
    val details: ModelDetails

    /** Encodes the picture (seconds on a phone); questions about it go to the result. */
    suspend fun startConversation(picture: Picture): PictureConversation
}

/** Questions about one picture. */
interface PictureConversation : Closeable {
    /** Token events then Finished; cancelling the collector stops the answer and waits for the engine. */
    fun ask(question: String, settings: AnswerSettings): Flow<AnswerEvent>
}

fun interface EngineLoader {
    suspend fun load(path: String, options: EngineOptions, onProgress: (Float) -> Unit): AnswerEngine
}

/** The models on this phone: the core's store. The only part of the app that uses the network (downloads). */
interface ModelLibrary {
    val catalog: List<CatalogModel>

    suspend fun installed(): List<InstalledModel>

    suspend fun pendingDownloads(): List<PendingDownload>

    suspend fun discardDownload(id: String)

    suspend fun deviceFit(device: DeviceProfile): List<ModelFit>

    fun download(source: DownloadSource): Flow<TransferEvent>

    /**
     * Makes a catalogue model on this phone from its authors' checkpoint on the
     * hub (for entries with no published file): progress in stages, then Installed.
     */
    fun installFromHub(catalogId: String): Flow<InstallEvent>

    /**
     * "Add a model": what the person typed (a hub repository id or page, a
     * `.gguf` link) and an optional SHA-256 as an address, or
     * [app.imp.kit.ImpException.InvalidAddress] saying in words what it is not.
     */
    fun modelAddress(text: String, sha256: String?): ModelAddress

    /** Installs the model at [address]: progress in stages, then Installed. */
    fun addModel(address: ModelAddress): Flow<InstallEvent>

    /**
     * Installs a `.gguf` the app copied into its own storage ([ModelLibrary.importDirectory]),
     * used where it is, so a 2 GB model is not copied twice; deleting the model deletes the file.
     */
    fun importFile(path: String): Flow<TransferEvent>

    /** Where a picked model file is copied before [importFile]. */
    val importDirectory: java.io.File

    fun verify(id: String): Flow<TransferEvent>

    suspend fun remove(id: String)
}

/** Past conversations (the core's history). */
interface ConversationArchive {
    suspend fun create(modelId: String, picture: Picture): SavedConversation

    suspend fun appendTurn(id: String, turn: SavedTurn): SavedConversation

    suspend fun list(offset: Int, limit: Int): HistoryPage

    suspend fun load(id: String): SavedConversation

    suspend fun thumbnail(id: String): ByteArray

    suspend fun delete(id: String)

    suspend fun deleteAll()
}

fun interface BenchmarkRunner {
    fun run(target: BenchmarkTarget, options: BenchmarkOptions): Flow<BenchmarkEvent>
}
