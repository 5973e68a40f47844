package app.imp.android.install

import app.imp.android.engine.ModelLibrary
import app.imp.kit.InstallEvent
import app.imp.kit.InstallStage
import app.imp.kit.InstalledModel
import app.imp.kit.ModelAddress
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * Models being installed, owned by the app rather than a screen: a catalogue
 * model made from the hub, or one the person added by address. An install
 * goes on when the person leaves the models screen or the app, kept alive by a
 * foreground service ([keepAlive] is told when the first starts and when the
 * last ends). One job per key: a catalogue id, or [keyOf] an added address.
 */
class ModelInstalls(
    private val library: ModelLibrary,
    private val scope: CoroutineScope,
    private val keepAlive: (busy: Boolean) -> Unit = {},
) {
    sealed interface State {
        data class Running(val stage: InstallStage, val fraction: Double) : State

        data class Installed(val model: InstalledModel) : State

        data class Failed(val error: Exception) : State

        /** Cancelled by the person (the files fetched so far are kept). */
        data object Stopped : State
    }

    private val states = MutableStateFlow<Map<String, State>>(emptyMap())
    val current: StateFlow<Map<String, State>> = states.asStateFlow()
    private val jobs = mutableMapOf<String, Job>()

    /** How each key's install starts, kept so a failed or stopped one can go again. */
    private val starts = mutableMapOf<String, () -> Flow<InstallEvent>>()

    val isBusy: Boolean get() = states.value.values.any { it is State.Running }

    /** How the person knows [key]: a catalogue name, else the key itself. */
    fun displayName(key: String): String = library.catalog.firstOrNull { it.id == key }?.displayName ?: key

    /** Starts (or resumes) making catalogue model [catalogId]. */
    fun start(catalogId: String) = run(catalogId) { library.installFromHub(catalogId) }

    /** Starts installing what the person added; returns its key. */
    fun add(address: ModelAddress): String = keyOf(address).also { key -> run(key) { library.addModel(address) } }

    /** Starts [key]'s install again (after a failure or a stop). */
    fun retry(key: String) {
        starts[key]?.let { run(key, it) }
    }

    /** Forgets a finished, failed or stopped install (a running one stays). */
    fun dismiss(key: String) {
        if (jobs[key]?.isActive == true) return
        starts.remove(key)
        states.update { it - key }
    }

    fun cancel(key: String) {
        jobs[key]?.cancel()
    }

    fun cancelAll() {
        jobs.values.toList().forEach { it.cancel() }
    }

    /** A running install is left as it is. */
    private fun run(key: String, install: () -> Flow<InstallEvent>) {
        if (jobs[key]?.isActive == true) return
        starts[key] = install
        set(key, State.Running(InstallStage.DOWNLOADING, 0.0))
        jobs[key] = scope.launch {
            try {
                install().collect { event ->
                    when (event) {
                        is InstallEvent.Progress -> set(key, State.Running(event.stage, event.fraction))
                        is InstallEvent.Installed -> set(key, State.Installed(event.model))
                    }
                }
            } catch (e: CancellationException) {
                set(key, State.Stopped)
                throw e
            } catch (e: Exception) {
                set(key, State.Failed(e))
            } finally {
                jobs.remove(key)
            }
        }
    }

    private fun set(key: String, state: State) {
        val wasBusy = isBusy
        states.update { it + (key to state) }
        if (wasBusy != isBusy) keepAlive(isBusy)
    }

    companion object {
        /** What the person sees of an address: the repository, or the file's name. */
        fun keyOf(address: ModelAddress): String = when (address) {
            is ModelAddress.HubRepo -> if (address.revision == "main") address.repo else "${address.repo}@${address.revision}"
            is ModelAddress.GgufUrl -> address.url.substringBefore('?').substringBefore('#').substringAfterLast('/')
        }
    }
}
