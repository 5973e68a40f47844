package app.imp.android.install

import app.imp.android.engine.ModelLibrary
import app.imp.kit.InstallEvent
import app.imp.kit.InstallStage
import app.imp.kit.InstalledModel
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * Models being made from the hub, owned by the app rather than a screen: an
 * install goes on when the person leaves the models screen or the app, kept
 * alive by a foreground service ([keepAlive] is told when the first starts
 * and when the last ends). One job per catalogue model.
 */
class HubInstalls(
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

    val isBusy: Boolean get() = states.value.values.any { it is State.Running }

    /** How the person knows [catalogId]: its catalogue name. */
    fun displayName(catalogId: String): String =
        library.catalog.firstOrNull { it.id == catalogId }?.displayName ?: catalogId

    /** Starts (or resumes) making [catalogId]; a running install is left as it is. */
    fun start(catalogId: String) {
        if (jobs[catalogId]?.isActive == true) return
        set(catalogId, State.Running(InstallStage.DOWNLOADING, 0.0))
        jobs[catalogId] = scope.launch {
            try {
                library.installFromHub(catalogId).collect { event ->
                    when (event) {
                        is InstallEvent.Progress -> set(catalogId, State.Running(event.stage, event.fraction))
                        is InstallEvent.Installed -> set(catalogId, State.Installed(event.model))
                    }
                }
            } catch (e: CancellationException) {
                set(catalogId, State.Stopped)
                throw e
            } catch (e: Exception) {
                set(catalogId, State.Failed(e))
            } finally {
                jobs.remove(catalogId)
            }
        }
    }

    fun cancel(catalogId: String) {
        jobs[catalogId]?.cancel()
    }

    fun cancelAll() {
        jobs.values.toList().forEach { it.cancel() }
    }

    private fun set(catalogId: String, state: State) {
        val wasBusy = isBusy
        states.update { it + (catalogId to state) }
        if (wasBusy != isBusy) keepAlive(isBusy)
    }
}
