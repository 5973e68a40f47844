package app.imp.android.ui.models

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.EngineSession
import app.imp.android.engine.ModelLibrary
import app.imp.android.engine.Problem
import app.imp.android.engine.ProblemContext
import app.imp.android.engine.Texts
import app.imp.android.install.ModelInstalls
import app.imp.android.platform.DeviceInfo
import app.imp.android.platform.NetworkCost
import app.imp.android.settings.SettingsRepository
import app.imp.android.speech.Announcer
import app.imp.kit.DownloadSource
import app.imp.kit.ImpException
import app.imp.kit.InstallStage
import app.imp.kit.ModelAddress
import app.imp.kit.TransferEvent
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import java.io.File

/**
 * The models screen's logic over the store: the catalogue with this phone's fit
 * verdicts, downloads (Pause cancels the transfer; the store keeps the part, so
 * Resume, also after the app was killed, goes on from there), imports of a
 * picked `.gguf`, checks and deletions. The one screen that uses the network.
 */
class ModelsViewModel(
    private val library: ModelLibrary,
    private val settings: SettingsRepository,
    private val session: EngineSession,
    /** The app's installs from the hub (they outlive this screen). */
    private val installs: ModelInstalls,
    private val device: DeviceInfo,
    private val network: NetworkCost,
    private val texts: Texts,
    /** Copies a picked file (a content URI) into [ModelLibrary.importDirectory]. */
    private val copyIn: suspend (uri: String, onProgress: (Long, Long?) -> Unit) -> File,
    private val notice: Problem? = null,
) : ViewModel() {
    private val announcer = Announcer()
    private val state = MutableStateFlow<ModelsUiState>(ModelsUiState.Loading(null))
    val uiState: StateFlow<ModelsUiState> = state.asStateFlow()

    private val transfers = mutableMapOf<String, Transfer>()
    /** The last (stage, tenth) said of each install. */
    private val told = mutableMapOf<String, Pair<InstallStage, Int>>()
    private val checks = mutableMapOf<String, Check>()
    private val jobs = mutableMapOf<String, Job>()
    private var importing: ModelImport = ModelImport.Idle
    private var importJob: Job? = null
    private var pendingDelete: String? = null
    /** A download waiting for the person to allow mobile data, and how it starts. */
    private var askingMobileData: Pair<MobileDataQuestion, () -> Unit>? = null
    private var addForm: AddModelForm? = null
    /** The model installed on this visit, if it is the one that answers. */
    private var readyId: String? = null

    // Declared before init: init's collector reads them at once.
    private var lastInstalled = listOf<app.imp.kit.InstalledModel>()
    private var lastFits = listOf<app.imp.kit.ModelFit>()

    init {
        viewModelScope.launch { announcer.current.collect { refreshState() } }
        viewModelScope.launch { installs.current.collect { showInstalls(it) } }
        reload()
    }

    fun reload() {
        viewModelScope.launch {
            try {
                library.pendingDownloads().forEach { transfers.putIfAbsent(it.id, Transfer.Paused(it.doneBytes)) }
                refresh()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                state.value = ModelsUiState.Failed(Problem.from(e, ProblemContext.Transfer, texts), announcer.current.value)
            }
        }
    }

    /**
     * Starts or resumes getting a catalogue model: its published file, or with
     * none, made on this phone from the authors' checkpoint on the hub.
     */
    fun download(catalogId: String) {
        if (jobs[catalogId]?.isActive == true) return
        val entry = library.catalog.firstOrNull { it.id == catalogId }
        val question = MobileDataQuestion(entry?.displayName ?: catalogId, entry?.files?.firstOrNull()?.sizeBytes ?: entry?.downloadBytes)
        whenNetworkAllows(question) { start(catalogId) }
    }

    /** Runs [go] now, or once the person allows mobile data when Wi-Fi only is on and this network costs. */
    private fun whenNetworkAllows(question: MobileDataQuestion, go: () -> Unit) {
        if (settings.settings.value.wifiOnly && !network.isUnmetered()) {
            askingMobileData = question to go
            refreshState()
            return
        }
        go()
    }

    /** The person allowed this one download over mobile data. */
    fun allowMobileData() {
        val (_, go) = askingMobileData ?: return
        askingMobileData = null
        go()
    }

    fun openAddModel() {
        addForm = AddModelForm()
        refreshState()
    }

    fun editAddModel(text: String, sha256: String) {
        addForm = addForm?.copy(text = text, sha256 = sha256, error = null)
        refreshState()
    }

    fun cancelAddModel() {
        addForm = null
        refreshState()
    }

    /**
     * Adds what the person typed, read by the core: a catalogue model's
     * repository goes through its card; anything else installs as its own row.
     * Words that name no model keep the dialog open and say why.
     */
    fun confirmAddModel() {
        val form = addForm ?: return
        val address = try {
            library.modelAddress(form.text, form.sha256.ifBlank { null })
        } catch (e: ImpException) {
            val why = e.message ?: ""
            addForm = form.copy(error = why)
            announcer.say(why, interrupting = true)
            refreshState()
            return
        }
        addForm = null
        val entry = (address as? ModelAddress.HubRepo)?.takeIf { it.revision == "main" }
            ?.let { a -> library.catalog.firstOrNull { it.sourceRepo == a.repo } }
        if (entry != null) {
            download(entry.id)
            return
        }
        val key = ModelInstalls.keyOf(address)
        whenNetworkAllows(MobileDataQuestion(key, null)) {
            told.remove(key)
            transfers[key] = Transfer.Preparing(InstallStage.DOWNLOADING, 0.0)
            installs.add(address)
        }
        refreshState()
    }

    /** Starts a stopped or failed added model again. */
    fun retryAdded(key: String) {
        whenNetworkAllows(MobileDataQuestion(key, null)) {
            told.remove(key)
            transfers[key] = Transfer.Preparing(InstallStage.DOWNLOADING, 0.0)
            installs.retry(key)
        }
    }

    /** Drops a stopped or failed added model from the list (what it fetched stays until the store cleans up). */
    fun dismissAdded(key: String) {
        installs.dismiss(key)
        transfers.remove(key)
        refreshState()
    }

    /** The person will wait for Wi-Fi. */
    fun waitForWifi() {
        askingMobileData = null
        refreshState()
    }

    private fun start(catalogId: String) {
        if (library.catalog.firstOrNull { it.id == catalogId }?.files?.isEmpty() == true) {
            // Made from the hub, by the app's installs (see showInstalls).
            told.remove(catalogId)
            installs.start(catalogId)
            return
        }
        val from = (transfers[catalogId] as? Transfer.Paused)?.done ?: 0
        transfers[catalogId] = Transfer.Downloading(from, null)
        jobs[catalogId] = viewModelScope.launch {
            try {
                library.download(DownloadSource.Catalog(catalogId)).collect { event ->
                    when (event) {
                        is TransferEvent.Progress -> transfers[catalogId] = Transfer.Downloading(event.doneBytes, event.totalBytes)
                        is TransferEvent.Installed -> {
                            transfers[catalogId] = Transfer.Installed
                            installed(event.model.id)
                        }
                        is TransferEvent.Verified -> Unit
                    }
                    refreshState()
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                val problem = Problem.from(e, ProblemContext.Transfer, texts)
                transfers[catalogId] = Transfer.Failed(problem)
                announcer.say(problem.announcement, interrupting = true)
            }
            refreshState()
        }
        refreshState()
    }

    /**
     * The installs from the hub, which [installs] runs for the app (they go on
     * when this screen or the app is left). TalkBack hears each stage as it
     * starts and every tenth of the whole, not every byte, and "ready" at the
     * end, while this screen is open.
     */
    private fun showInstalls(states: Map<String, ModelInstalls.State>) {
        for ((id, state) in states) {
            val name = installs.displayName(id)
            val watching = transfers[id] is Transfer.Preparing
            // An added model has no card to come back to: its row shows how it ended.
            val added = library.catalog.none { it.id == id }
            when (state) {
                is ModelInstalls.State.Running -> {
                    transfers[id] = Transfer.Preparing(state.stage, state.fraction)
                    val tenth = (state.fraction * 10).toInt()
                    if (told[id] != state.stage to tenth) {
                        if (tenth < 10) announcer.say(texts.get(stageText(state.stage), name, tenth * 10))
                        told[id] = state.stage to tenth
                    }
                }
                is ModelInstalls.State.Installed -> {
                    if (watching) {
                        transfers[id] = Transfer.Installed
                        announcer.say(texts.get(R.string.models_ready, name), interrupting = true)
                        installed(state.model.id)
                    }
                    if (added) {
                        transfers.remove(id)
                        installs.dismiss(id)
                    }
                }
                is ModelInstalls.State.Failed -> if (watching || added && transfers[id] !is Transfer.Failed) {
                    val problem = Problem.from(state.error, ProblemContext.Transfer, texts)
                    transfers[id] = Transfer.Failed(problem)
                    if (watching) announcer.say(problem.announcement, interrupting = true)
                }
                ModelInstalls.State.Stopped -> if (watching || added) transfers[id] = Transfer.Paused(0)
            }
        }
        refreshState()
    }

    private fun stageText(stage: InstallStage): Int = when (stage) {
        InstallStage.DOWNLOADING -> R.string.models_stage_downloading
        InstallStage.CONVERTING -> R.string.models_stage_converting
        InstallStage.VERIFYING -> R.string.models_stage_verifying
    }

    /** Stops a download; what arrived is kept for Resume. */
    fun pause(catalogId: String) {
        if (transfers[catalogId] is Transfer.Preparing) {
            installs.cancel(catalogId)
            transfers[catalogId] = Transfer.Paused(0)
            refreshState()
            return
        }
        val done = (transfers[catalogId] as? Transfer.Downloading)?.done ?: 0
        jobs.remove(catalogId)?.cancel()
        transfers[catalogId] = Transfer.Paused(done)
        refreshState()
    }

    /**
     * Installs a `.gguf` the person picked with the system file picker: copied
     * in (with progress, Cancel, a free-space check), then checked by the
     * store. A failure offers to pick again.
     */
    fun import(uri: String, name: String) {
        if (importJob?.isActive == true) return
        importing = ModelImport.Copying(name, 0, null)
        refreshState()
        importJob = viewModelScope.launch {
            var file: File? = null
            var installedOk = false
            try {
                file = copyIn(uri) { done, total ->
                    importing = ModelImport.Copying(name, done, total)
                    refreshState()
                }
                library.importFile(file.path).collect { event ->
                    when (event) {
                        is TransferEvent.Progress -> importing = ModelImport.Checking(name, event.doneBytes, event.totalBytes)
                        is TransferEvent.Installed -> {
                            installedOk = true
                            importing = ModelImport.Idle
                            installed(event.model.id)
                        }
                        is TransferEvent.Verified -> Unit
                    }
                    refreshState()
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                // Whatever went wrong, the way on is to pick a file again.
                val problem = Problem.from(e, ProblemContext.Transfer, texts).copy(recovery = Problem.Recovery.TryAgain)
                importing = ModelImport.Failed(problem)
                announcer.say(problem.announcement, interrupting = true)
            } finally {
                // A copy the store did not take is not kept (gigabytes nobody can see).
                if (!installedOk) file?.delete()
            }
            refreshState()
        }
    }

    /** Stops an import; nothing of it is kept. */
    fun cancelImport() {
        importJob?.cancel()
        importJob = null
        importing = ModelImport.Idle
        announcer.say(texts.get(R.string.models_import_cancelled))
        refreshState()
    }

    /** Reads an installed model's file again and compares its checksum. */
    fun verify(id: String) {
        checks[id] = Check.Verifying(null)
        refreshState()
        viewModelScope.launch {
            try {
                library.verify(id).collect { event ->
                    checks[id] = when (event) {
                        is TransferEvent.Progress -> Check.Verifying(event.totalBytes?.let { event.doneBytes.toFloat() / it })
                        is TransferEvent.Verified -> if (event.ok) {
                            Check.Passed(vouched = event.expected != null)
                        } else {
                            Check.Failed(Problem.from(ImpException.VerificationFailed(event.sha256), ProblemContext.Transfer, texts))
                        }
                        is TransferEvent.Installed -> checks[id] ?: Check.None
                    }
                    refreshState()
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                checks[id] = Check.Failed(Problem.from(e, ProblemContext.Transfer, texts))
            }
            refreshState()
        }
    }

    /** The model that answers from now on. */
    fun choose(id: String) {
        settings.update { it.copy(modelId = id) }
        session.refresh()
        refreshState()
    }

    fun askDelete(id: String) {
        pendingDelete = id
        refreshState()
    }

    fun cancelDelete() {
        pendingDelete = null
        refreshState()
    }

    fun confirmDelete() {
        val id = pendingDelete ?: return
        pendingDelete = null
        viewModelScope.launch {
            try {
                library.remove(id)
                if (settings.settings.value.modelId == id) settings.update { it.copy(modelId = null) }
                session.refresh()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                announcer.say(Problem.from(e, ProblemContext.Transfer, texts).announcement, interrupting = true)
            }
            refresh()
        }
    }

    private fun installed(id: String) {
        // The first model installed is the one that answers.
        if (settings.settings.value.modelId == null) settings.update { it.copy(modelId = id) }
        readyId = id
        session.refresh()
        viewModelScope.launch { refresh() }
    }

    private suspend fun refresh() {
        lastInstalled = library.installed()
        lastFits = library.deviceFit(device.profile())
        refreshState()
    }

    private fun refreshState() {
        val chosen = settings.settings.value.modelId
        val installedRows = lastInstalled.map { m ->
            InstalledRow(m, library.catalog.firstOrNull { it.id == m.catalogId }?.displayName ?: m.id, m.id == chosen, checks[m.id] ?: Check.None)
        }
        val catalogRows = library.catalog.map { c ->
            val transfer = transfers[c.id]?.takeIf { it != Transfer.Installed || lastInstalled.any { m -> m.catalogId == c.id } }
                ?: when {
                    lastInstalled.any { it.catalogId == c.id } -> Transfer.Installed
                    else -> Transfer.Available
                }
            CatalogRow(c, lastFits.firstOrNull { it.catalogId == c.id }, transfer)
        }
        state.value = ModelsUiState.Loaded(
            catalog = catalogRows,
            installed = installedRows,
            importing = importing,
            notice = notice,
            pendingDelete = installedRows.firstOrNull { it.id == pendingDelete },
            askingMobileData = askingMobileData?.first,
            added = installs.current.value.keys
                .filter { key -> library.catalog.none { it.id == key } }
                .mapNotNull { key -> transfers[key]?.takeIf { it != Transfer.Installed }?.let { AddedRow(key, it) } },
            addForm = addForm,
            ready = installedRows.firstOrNull { it.id == readyId && it.isChosen }?.title,
            announcement = announcer.current.value,
        )
    }
}
