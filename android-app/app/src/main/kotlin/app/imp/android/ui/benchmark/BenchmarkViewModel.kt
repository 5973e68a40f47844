package app.imp.android.ui.benchmark

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.BenchmarkRunner
import app.imp.android.engine.EngineSession
import app.imp.android.engine.ModelLibrary
import app.imp.android.engine.Problem
import app.imp.android.engine.ProblemContext
import app.imp.android.engine.Texts
import app.imp.android.platform.DeviceInfo
import app.imp.android.settings.SettingsRepository
import app.imp.android.speech.Announcer
import app.imp.android.ui.common.ByteSize
import app.imp.kit.BenchmarkEvent
import app.imp.kit.BenchmarkOptions
import app.imp.kit.BenchmarkRecord
import app.imp.kit.BenchmarkStage
import app.imp.kit.BenchmarkTarget
import app.imp.kit.InstalledModel
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import java.util.Locale

/**
 * The benchmark screen: the paper's Table 4 protocol on the chosen model, the
 * same code and record as `imp bench`, with the settings' threads and
 * resolution. The model the app holds is released first (two copies would not
 * fit a phone's memory) and loaded again after.
 */
class BenchmarkViewModel(
    private val runner: BenchmarkRunner,
    private val library: ModelLibrary,
    private val settings: SettingsRepository,
    private val session: EngineSession,
    private val device: DeviceInfo,
    private val texts: Texts,
) : ViewModel() {
    private val announcer = Announcer()
    private var screen: BenchmarkScreenState = BenchmarkScreenState.Checking
    private val state = MutableStateFlow(BenchmarkUiState(screen, null))
    val uiState: StateFlow<BenchmarkUiState> = state.asStateFlow()
    /** The chosen model and its title, found by [refresh]. */
    private var model: Pair<InstalledModel, String>? = null
    private var run: Job? = null

    init {
        viewModelScope.launch { announcer.current.collect { publish() } }
    }

    /** Looks up the chosen model (again, on every visit: it may have changed), unless a run is under way. */
    fun refresh() {
        if (run?.isActive == true) return
        viewModelScope.launch { findModel() }
    }

    fun start() {
        val (chosen, title) = model ?: return
        if (run?.isActive == true) return
        // The picture size and threads the app would load the model with.
        val options = settings.settings.value.engineOptions(chosen.details?.imageSize, device.bigCores, null)
        session.unload()
        show(BenchmarkScreenState.Running(texts.get(R.string.benchmark_loading, title), 0f))
        announcer.say(texts.get(R.string.benchmark_started))
        run = viewModelScope.launch {
            try {
                val benchmarkOptions = BenchmarkOptions(imageSize = options.imageSize, threads = options.threads)
                runner.run(BenchmarkTarget.Model(chosen.path), benchmarkOptions).collect { event ->
                    when (event) {
                        is BenchmarkEvent.Stage -> show(running(event.stage, title))
                        is BenchmarkEvent.Finished -> {
                            val report = report(event.record)
                            show(report)
                            announcer.say(report.spokenSummary)
                        }
                    }
                }
            } catch (e: CancellationException) {
                show(BenchmarkScreenState.Ready(title))
                announcer.say(texts.get(R.string.benchmark_cancelled))
                throw e
            } catch (e: Exception) {
                val problem = Problem.from(e, ProblemContext.Benchmark, texts)
                show(BenchmarkScreenState.Failed(title, problem))
                announcer.say(problem.announcement, interrupting = true)
            } finally {
                session.refresh()
            }
        }
    }

    fun cancel() {
        run?.cancel()
    }

    override fun onCleared() = cancel()

    private suspend fun findModel() {
        val id = settings.settings.value.modelId
        val chosen = try {
            library.installed().firstOrNull { it.id == id && it.problem == null }
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            return show(BenchmarkScreenState.Unavailable(Problem.from(e, ProblemContext.Benchmark, texts)))
        }
        if (chosen == null) return show(BenchmarkScreenState.Unavailable(Problem.noModel(texts)))
        val title = session.title(chosen)
        model = chosen to title
        show(BenchmarkScreenState.Ready(title))
    }

    private fun running(stage: BenchmarkStage, title: String): BenchmarkScreenState.Running = when (stage) {
        is BenchmarkStage.Writing -> BenchmarkScreenState.Running(texts.get(R.string.benchmark_preparing), stage.done.toFloat() / stage.total.coerceAtLeast(1))
        is BenchmarkStage.Loading -> BenchmarkScreenState.Running(texts.get(R.string.benchmark_loading, title), stage.fraction)
        is BenchmarkStage.Run -> BenchmarkScreenState.Running(
            texts.get(R.string.benchmark_run, stage.index + 1, stage.of),
            stage.index.toFloat() / stage.of.coerceAtLeast(1),
        )
    }

    /** Table 4's columns, and the time to the first word that a person feels. */
    private fun report(r: BenchmarkRecord): BenchmarkScreenState.Finished {
        fun seconds(s: Double) = String.format(Locale.ROOT, "%.2f s", s)
        fun rate(t: Double) = texts.get(R.string.benchmark_rate, String.format(Locale.ROOT, "%.1f", t))
        val lines = listOfNotNull(
            texts.get(R.string.benchmark_model) to "${r.model} (${r.weightsDtype})",
            texts.get(R.string.benchmark_picture_size) to "${r.imageSize} px",
            texts.get(R.string.benchmark_threads) to "${r.threads}",
            (texts.get(R.string.benchmark_kernels) to r.kernels).takeIf { r.kernels.isNotEmpty() },
            texts.get(R.string.benchmark_load) to seconds(r.loadS),
            texts.get(R.string.benchmark_vision) to seconds(r.visionS),
            texts.get(R.string.benchmark_prompt) to rate(r.promptTokS),
            texts.get(R.string.benchmark_generation) to rate(r.genTokS),
            texts.get(R.string.benchmark_first_word) to seconds(r.ttftAheadS),
            texts.get(R.string.benchmark_first_word_cold) to seconds(r.ttftColdS),
            (texts.get(R.string.benchmark_memory) to ByteSize.text(r.peakRssBytes)).takeIf { r.peakRssBytes > 0 },
        )
        val summary = texts.get(
            R.string.benchmark_summary,
            String.format(Locale.ROOT, "%.1f", r.visionS),
            String.format(Locale.ROOT, "%.1f", r.genTokS),
            String.format(Locale.ROOT, "%.1f", r.ttftAheadS),
        )
        return BenchmarkScreenState.Finished(model?.second ?: r.model, lines, summary, r.json)
    }

    private fun show(next: BenchmarkScreenState) {
        screen = next
        publish()
    }

    private fun publish() {
        state.value = BenchmarkUiState(screen, announcer.current.value)
    }
}
