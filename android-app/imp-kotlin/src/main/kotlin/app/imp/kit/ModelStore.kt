package app.imp.kit

import app.imp.ffi.InstallListener
import app.imp.ffi.TransferListener
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.withContext
import java.io.Closeable
import app.imp.ffi.DeviceProfile as FfiDeviceProfile
import app.imp.ffi.DownloadSource as FfiDownloadSource
import app.imp.ffi.FitVerdict as FfiFitVerdict
import app.imp.ffi.ImportMode as FfiImportMode
import app.imp.ffi.InstallProgress as FfiInstallProgress
import app.imp.ffi.InstallStage as FfiInstallStage
import app.imp.ffi.InstalledModel as FfiInstalledModel
import app.imp.ffi.ModelAddress as FfiModelAddress
import app.imp.ffi.ModelOrigin as FfiModelOrigin
import app.imp.ffi.ModelStore as FfiModelStore

/**
 * The models on this device, kept by the core (the same store and catalogue on
 * Android and iOS): the catalogue, installed models, downloads that resume
 * after the app was killed, imports, checks, and whether this phone can run each.
 */
class ModelStore private constructor(private val store: FfiModelStore) : Closeable {
    companion object {
        /**
         * The store under [dir]; the catalogue built in, or [catalogJson]; the
         * Hugging Face hub, or [hubEndpoint] (a mirror, or a test's loopback hub).
         */
        fun open(dir: String, catalogJson: String? = null, hubEndpoint: String? = null): ModelStore =
            ModelStore(mapErrors { FfiModelStore.openWithHub(dir, catalogJson, hubEndpoint) })
    }

    /** The catalogue the store was opened with (it does not change). */
    val catalog: List<CatalogModel> by lazy { mapErrors { store.catalog().map(CatalogModel::from) } }

    suspend fun installed(): List<InstalledModel> = io { store.installed().map(InstalledModel::from) }

    /** Downloads that stopped before the end; downloading again resumes them. */
    suspend fun pendingDownloads(): List<PendingDownload> =
        io { store.pendingDownloads().map { PendingDownload(it.id, it.doneBytes.toLong()) } }

    suspend fun discardDownload(id: String) = io { store.discardDownload(id) }

    /** Whether this phone can run each catalogue model, with the numbers. */
    suspend fun deviceFit(device: DeviceProfile): List<ModelFit> = io {
        store.deviceFit(device.toFfi()).map {
            ModelFit(
                catalogId = it.catalogId,
                installed = it.installed,
                verdict = when (it.verdict) {
                    FfiFitVerdict.FITS -> FitVerdict.FITS
                    FfiFitVerdict.TIGHT -> FitVerdict.TIGHT
                    FfiFitVerdict.DOES_NOT_FIT -> FitVerdict.DOES_NOT_FIT
                },
                memoryNeededBytes = it.memoryNeededBytes.toLong(),
                storageNeededBytes = it.storageNeededBytes.toLong(),
                reason = it.reason,
            )
        }
    }

    /** Downloads, verifies and installs: [TransferEvent.Progress]... then [TransferEvent.Installed]. */
    fun download(source: DownloadSource): Flow<TransferEvent> = nativeWork { cancel ->
        TransferEvent.Installed(InstalledModel.from(store.download(source.toFfi(), progressTo(this), cancel)))
    }

    /**
     * Makes a catalogue model on this phone from its authors' checkpoint on the
     * hub (downloaded and verified, converted, checked; resumes an earlier try):
     * [InstallEvent.Progress]... then [InstallEvent.Installed].
     */
    fun installFromHub(catalogId: String): Flow<InstallEvent> = nativeWork { cancel ->
        InstallEvent.Installed(InstalledModel.from(store.installFromHub(catalogId, installProgressTo(this), cancel)))
    }

    /**
     * "Add a model": what the person typed (a hub repository id or page, a
     * `.gguf` link) and an optional SHA-256, read as an address, or
     * [ImpException.InvalidAddress] saying what it is not. Cheap.
     */
    fun modelAddress(text: String, sha256: String? = null): ModelAddress =
        mapErrors { ModelAddress.from(store.modelAddress(text, sha256?.ifBlank { null })) }

    /** Installs the model at [address], with one progress figure; resumes an earlier try. */
    fun addModel(address: ModelAddress): Flow<InstallEvent> = nativeWork { cancel ->
        InstallEvent.Installed(InstalledModel.from(store.addModel(address.toFfi(), installProgressTo(this), cancel)))
    }

    /** Installs a `.gguf` the person has: copied into the store, or used where it is. */
    fun import(path: String, inPlace: Boolean = false, expectedSha256: String? = null): Flow<TransferEvent> =
        nativeWork { cancel ->
            val mode = if (inPlace) FfiImportMode.IN_PLACE else FfiImportMode.COPY
            TransferEvent.Installed(
                InstalledModel.from(store.importFile(path, mode, expectedSha256, progressTo(this), cancel)),
            )
        }

    /** Hashes an installed model again against what it must be: [TransferEvent.Progress]... then [TransferEvent.Verified]. */
    fun verify(id: String): Flow<TransferEvent> = nativeWork { cancel ->
        val v = store.verify(id, progressTo(this), cancel)
        TransferEvent.Verified(id = v.id, sha256 = v.sha256, expected = v.expected, ok = v.ok)
    }

    suspend fun remove(id: String) = io { store.remove(id) }

    override fun close() = store.close()

    private fun installProgressTo(scope: kotlinx.coroutines.channels.ProducerScope<InstallEvent>) =
        object : InstallListener {
            override fun onProgress(progress: FfiInstallProgress) {
                scope.trySend(InstallEvent.Progress.from(progress))
            }
        }

    private fun progressTo(scope: kotlinx.coroutines.channels.ProducerScope<TransferEvent>) = object : TransferListener {
        override fun onProgress(done: ULong, total: ULong?) {
            scope.trySend(TransferEvent.Progress(done.toLong(), total?.toLong()))
        }
    }
}

/** File work off the caller's thread, errors mapped. */
internal suspend fun <T> io(block: () -> T): T = withContext(Dispatchers.IO) { mapErrors(block) }

sealed interface TransferEvent {
    data class Progress(val doneBytes: Long, val totalBytes: Long?) : TransferEvent
    data class Installed(val model: InstalledModel) : TransferEvent
    data class Verified(val id: String, val sha256: String, val expected: String?, val ok: Boolean) : TransferEvent
}

/** Where an install from the hub is. */
enum class InstallStage { DOWNLOADING, CONVERTING, VERIFYING }

sealed interface InstallEvent {
    /** [fraction] is 0..1 over the whole install and never goes back. */
    data class Progress(val stage: InstallStage, val done: Long, val total: Long?, val fraction: Double) :
        InstallEvent {
        internal companion object {
            fun from(p: FfiInstallProgress) = Progress(
                stage = when (p.stage) {
                    FfiInstallStage.DOWNLOADING -> InstallStage.DOWNLOADING
                    FfiInstallStage.CONVERTING -> InstallStage.CONVERTING
                    FfiInstallStage.VERIFYING -> InstallStage.VERIFYING
                },
                done = p.done.toLong(),
                total = p.total?.toLong(),
                fraction = p.fraction,
            )
        }
    }

    data class Installed(val model: InstalledModel) : InstallEvent
}

/** Where a model the person asked for comes from. */
sealed interface ModelAddress {
    /** A hub repository holding an Imp checkpoint, converted on the phone. */
    data class HubRepo(val repo: String, val revision: String = "main") : ModelAddress

    /** A ready `.gguf`, checked against [sha256] when given. */
    data class GgufUrl(val url: String, val sha256: String? = null) : ModelAddress

    fun toFfi(): FfiModelAddress = when (this) {
        is HubRepo -> FfiModelAddress.HubRepo(repo, revision)
        is GgufUrl -> FfiModelAddress.GgufUrl(url, sha256)
    }

    companion object {
        internal fun from(a: FfiModelAddress): ModelAddress = when (a) {
            is FfiModelAddress.HubRepo -> HubRepo(a.repo, a.revision)
            is FfiModelAddress.GgufUrl -> GgufUrl(a.url, a.sha256)
        }
    }
}

sealed interface DownloadSource {
    data class Catalog(val id: String, val quantization: String? = null) : DownloadSource
    data class Url(val url: String, val sha256: String? = null, val size: Long? = null, val id: String? = null) :
        DownloadSource

    fun toFfi(): FfiDownloadSource = when (this) {
        is Catalog -> FfiDownloadSource.Catalog(id, quantization)
        is Url -> FfiDownloadSource.Url(url, sha256, size?.toULong(), id)
    }
}

data class CatalogModel(
    val id: String,
    val displayName: String,
    val variant: String,
    val sourceRepo: String,
    val imageSize: Int,
    val memoryBytes: Long,
    val goodFor: String,
    val files: List<PublishedFile>,
    /** With no published file: how to get one, in words for the person. */
    val howToGet: String?,
    /** What installing it from the hub downloads (null: not known). */
    val downloadBytes: Long? = null,
) {
    internal companion object {
        fun from(e: app.imp.ffi.CatalogEntry) = CatalogModel(
            id = e.id,
            displayName = e.displayName,
            variant = e.variant,
            sourceRepo = e.sourceRepo,
            imageSize = e.imageSize.toInt(),
            memoryBytes = e.memoryBytes.toLong(),
            goodFor = e.goodFor,
            files = e.files.map {
                PublishedFile(it.fileName, it.url, it.sizeBytes.toLong(), it.sha256, it.quantization)
            },
            howToGet = e.howToGet,
            downloadBytes = e.downloadBytes?.toLong(),
        )
    }
}

data class PublishedFile(
    val fileName: String,
    val url: String,
    val sizeBytes: Long,
    val sha256: String,
    val quantization: String,
)

sealed interface ModelOrigin {
    data class Download(val url: String) : ModelOrigin
    data class Import(val from: String) : ModelOrigin
    data class InPlace(val path: String) : ModelOrigin
    data class Converted(val from: String) : ModelOrigin
    data class Hub(val repo: String, val revision: String, val commit: String) : ModelOrigin
    data object Adopted : ModelOrigin

    companion object {
        internal fun from(o: FfiModelOrigin): ModelOrigin = when (o) {
            is FfiModelOrigin.Download -> Download(o.url)
            is FfiModelOrigin.Import -> Import(o.from)
            is FfiModelOrigin.InPlace -> InPlace(o.path)
            is FfiModelOrigin.Converted -> Converted(o.from)
            is FfiModelOrigin.Hub -> Hub(o.repo, o.revision, o.commit)
            is FfiModelOrigin.Adopted -> Adopted
        }
    }
}

data class InstalledModel(
    val id: String,
    /** What [ImpEngine.load] takes. */
    val path: String,
    val sizeBytes: Long,
    val sha256: String?,
    /** Its checksum matched one the catalogue (or the app) vouched for. */
    val verified: Boolean,
    val catalogId: String?,
    val origin: ModelOrigin,
    val installedAtMs: Long,
    val details: ModelDetails?,
    /** Why it cannot be used (missing or damaged file), for the person. */
    val problem: String?,
) {
    internal companion object {
        fun from(m: FfiInstalledModel) = InstalledModel(
            id = m.id,
            path = m.path,
            sizeBytes = m.sizeBytes.toLong(),
            sha256 = m.sha256,
            verified = m.verified,
            catalogId = m.catalogId,
            origin = ModelOrigin.from(m.origin),
            installedAtMs = m.installedAtMs.toLong(),
            details = m.info?.let(ModelDetails::from),
            problem = m.problem,
        )
    }
}

data class PendingDownload(val id: String, val doneBytes: Long)

/** What the app knows of the phone (ActivityManager.MemoryInfo, StatFs). */
data class DeviceProfile(val totalRamBytes: Long, val availableRamBytes: Long?, val freeStorageBytes: Long) {
    /**
     * The memory limit to load a model with ([EngineOptions.availableMemoryBytes]):
     * the core's "does not fit" line for this phone's RAM, so a load is refused
     * exactly when [ModelStore.deviceFit] says the model does not fit.
     */
    val memoryBudgetBytes: Long get() = mapErrors { app.imp.ffi.memoryBudget(toFfi()).toLong() }

    internal fun toFfi() = FfiDeviceProfile(
        totalRamBytes.toULong(),
        availableRamBytes?.toULong(),
        freeStorageBytes.toULong(),
    )
}

enum class FitVerdict { FITS, TIGHT, DOES_NOT_FIT }

data class ModelFit(
    val catalogId: String,
    val installed: Boolean,
    val verdict: FitVerdict,
    val memoryNeededBytes: Long,
    val storageNeededBytes: Long,
    val reason: String,
)
