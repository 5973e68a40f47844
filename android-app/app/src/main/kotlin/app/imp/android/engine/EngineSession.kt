package app.imp.android.engine

import app.imp.android.R
import app.imp.android.platform.DeviceInfo
import app.imp.android.settings.AppSettings
import app.imp.android.settings.SettingsRepository
import app.imp.kit.EngineOptions
import app.imp.kit.InstalledModel
import app.imp.kit.ModelDetails
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * The chosen model, loaded: follows the settings (model, resolution, threads)
 * and loads the model again when they change. Lives as long as the app (in
 * [scope], the application's), so rotating the phone or leaving a screen never
 * reloads 2 GB of weights. Main thread.
 */
class EngineSession(
    private val loader: EngineLoader,
    private val library: ModelLibrary,
    private val settings: SettingsRepository,
    private val device: DeviceInfo,
    private val scope: CoroutineScope,
    private val texts: Texts,
) {
    sealed interface State {
        data object NoModel : State

        data class Loading(val modelId: String, val title: String, val fraction: Float) : State

        data class Ready(val modelId: String, val title: String, val details: ModelDetails) : State

        data class Failed(val modelId: String?, val problem: Problem) : State
    }

    private val current = MutableStateFlow<State>(State.NoModel)
    val state: StateFlow<State> = current.asStateFlow()

    val modelId: String?
        get() = when (val s = current.value) {
            State.NoModel -> null
            is State.Loading -> s.modelId
            is State.Ready -> s.modelId
            is State.Failed -> s.modelId
        }

    /**
     * Told just before the model's memory goes: another model is about to
     * load, or the system is short of memory. Each open conversation lets go
     * of the model then, so two models are never in memory at once.
     */
    fun interface ReleaseListener {
        fun releasing()
    }

    private val listeners = mutableSetOf<ReleaseListener>()

    fun addReleaseListener(listener: ReleaseListener) {
        listeners += listener
    }

    fun removeReleaseListener(listener: ReleaseListener) {
        listeners -= listener
    }

    private fun tellReleasing() = listeners.toList().forEach { it.releasing() }

    private var loaded: Pair<InstalledModel, EngineOptions>? = null
    private var loading: Deferred<AnswerEngine>? = null
    private var engine: AnswerEngine? = null
    private var following: Job? = null
    private var resolving: Job? = null

    /** Starts following the settings (once). */
    fun start() {
        if (following != null) return
        following = scope.launch {
            settings.settings.map { Triple(it.modelId, it.resolution, it.threads) }.distinctUntilChanged().collect { refresh() }
        }
    }

    /** Looks the chosen model up again (after a download, an import or a deletion) and loads it if needed. */
    fun refresh(force: Boolean = false) {
        resolving?.cancel()
        resolving = scope.launch {
            val chosen = settings.settings.value
            val id = chosen.modelId ?: return@launch unload()
            val models = try {
                library.installed()
            } catch (e: Exception) {
                if (e is CancellationException) throw e
                return@launch fail(id, Problem.from(e, ProblemContext.LoadingModel, texts))
            }
            val model = models.firstOrNull { it.id == id }
            if (model == null) {
                fail(id, Problem.from(app.imp.kit.ImpException.NotFound(texts.get(R.string.model_not_installed, id)), ProblemContext.LoadingModel, texts))
            } else {
                use(model, chosen, force)
            }
        }
    }

    /** Loads again after a failure (the person closed other apps, say). */
    fun retry() = refresh(force = true)

    /** The engine once loaded, waiting for a load under way; throws [ProblemException] with the load's problem. */
    suspend fun readyEngine(): AnswerEngine {
        while (true) {
            engine?.let { return it }
            resolving?.join()
            engine?.let { return it }
            val job = loading
            if (job == null) {
                when (val s = current.value) {
                    is State.Failed -> throw ProblemException(s.problem)
                    else -> if (settings.settings.value.modelId == null) throw ProblemException(Problem.noModel(texts))
                }
                // A model is chosen but nothing is loading: asked before the settings were
                // first followed (a conversation opened at once), or a lookup was replaced.
                refresh()
                continue
            }
            try {
                return job.await()
            } catch (e: CancellationException) {
                if (loading === job) throw e // our own caller was cancelled
                // replaced by a newer load: wait for that one
            } catch (e: Exception) {
                if (loading === job) throw ProblemException(Problem.from(e, ProblemContext.LoadingModel, texts))
            }
        }
    }

    fun title(model: InstalledModel): String =
        library.catalog.firstOrNull { it.id == model.catalogId }?.displayName ?: model.id

    /**
     * The system is short of memory and the app is in the background: the
     * model's gigabytes go (an open conversation keeps what it holds); the next
     * use loads it again.
     */
    fun release() {
        if (engine == null && loading == null) return
        tellReleasing()
        unload()
    }

    /** Releases the model's memory (conversations still open keep it until they close). */
    fun unload() {
        loading?.cancel()
        loading = null
        engine?.close()
        engine = null
        loaded = null
        current.value = State.NoModel
    }

    private fun fail(modelId: String, problem: Problem) {
        unload()
        current.value = State.Failed(modelId, problem)
    }

    private fun use(model: InstalledModel, settings: AppSettings, force: Boolean) {
        val problem = model.problem
        if (problem != null) {
            return fail(
                model.id,
                Problem.from(app.imp.kit.ImpException.ModelUnusable(problem), ProblemContext.LoadingModel, texts),
            )
        }
        val options = settings.engineOptions(model.details?.imageSize, device.bigCores, device.profile().memoryBudgetBytes)
        if (!force && loaded == model to options && current.value !is State.Failed) return
        if (engine != null || loading != null) tellReleasing()
        unload()
        loaded = model to options
        val title = title(model)
        current.value = State.Loading(model.id, title, 0f)
        val job = scope.async {
            loader.load(model.path, options) { fraction ->
                // From the core's thread; only a load still under way reports.
                current.update { s -> if (s is State.Loading && s.modelId == model.id && fraction > s.fraction) s.copy(fraction = fraction) else s }
            }
        }
        loading = job
        scope.launch {
            try {
                val e = job.await()
                if (loading === job) {
                    engine = e
                    current.value = State.Ready(model.id, title, e.details)
                } else {
                    e.close()
                }
            } catch (e: CancellationException) {
                // unloaded or replaced
            } catch (e: Exception) {
                if (loading === job) current.value = State.Failed(model.id, Problem.from(e, ProblemContext.LoadingModel, texts))
            }
        }
    }
}
