package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.engine.EngineSession
import app.imp.android.engine.Problem
import app.imp.android.settings.AppSettings
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.benchmark.BenchmarkActions
import app.imp.android.ui.benchmark.BenchmarkScreen
import app.imp.android.ui.benchmark.BenchmarkScreenState
import app.imp.android.ui.benchmark.BenchmarkViewModel
import app.imp.kit.BenchmarkTarget
import app.imp.kit.ImpException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The benchmark screen on a fake runner: the model released and loaded again, the figures, cancel and failure. */
open class BenchmarkTest : ScreenTest() {

    private fun show(world: ConversationWorld, runner: FakeBenchmarkRunner, shared: MutableList<String> = mutableListOf()): BenchmarkViewModel {
        val vm = BenchmarkViewModel(runner, world.library, world.settings, world.session, fakeDevice, texts)
        vm.refresh()
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                BenchmarkScreen(state, BenchmarkActions(onRun = vm::start, onCancel = vm::cancel, onShare = { shared += it }))
            }
        }
        return vm
    }

    @Test
    fun runsOnTheChosenModelWithTheSettingsAndShowsTheFigures() {
        val world = ConversationWorld(texts, temp.newFolder(), settings = AppSettings(modelId = "imp-v1-3b-q4", threads = 3))
        settle("the model to load") { world.session.state.value is EngineSession.State.Ready }
        val runner = FakeBenchmarkRunner()
        val shared = mutableListOf<String>()
        val vm = show(world, runner, shared)
        settle("the chosen model") { vm.uiState.value.screen is BenchmarkScreenState.Ready }
        compose.assertEveryControlLabelledAndLargeEnough()

        compose.onNodeWithText(text(R.string.benchmark_run_action)).performClick()
        settle("the run to start") { runner.runs.isNotEmpty() }
        // Two copies of the weights would not fit a phone: the app's engine is released first.
        assertTrue(world.engine.closed)
        val (target, options) = runner.runs.single()
        assertEquals(BenchmarkTarget.Model("/models/imp-v1-3b-q4.gguf"), target)
        assertEquals(3, options.threads)
        assertEquals(196, options.imageSize) // the fast mode on a 384 px model
        assertTrue(vm.uiState.value.screen is BenchmarkScreenState.Running)
        compose.onNodeWithText(text(R.string.benchmark_cancel)).assertExists()
        compose.screenshot("benchmark-running")

        runner.gate.trySend(Unit)
        settle("the figures") { vm.uiState.value.screen is BenchmarkScreenState.Finished }
        compose.waitForIdle()
        compose.onNodeWithText(text(R.string.benchmark_rate, "21.3")).assertExists()
        compose.onNodeWithText("0.38 s").assertExists() // first word with the picture given ahead
        compose.onNodeWithText("neoni8mm").assertExists() // the kernel path, which a figure means little without
        assertEquals(text(R.string.benchmark_summary, "0.4", "21.3", "0.4"), vm.uiState.value.announcement?.text)
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("benchmark-finished")
        compose.onNodeWithText(text(R.string.benchmark_share)).performScrollTo().performClick()
        assertEquals(listOf(benchmarkRecord().json), shared)
        settle("the model to load again") { world.loader.loads.size == 2 && world.session.state.value is EngineSession.State.Ready }
    }

    @Test
    fun cancellingStopsTheRunAndLoadsTheModelAgain() {
        val world = ConversationWorld(texts, temp.newFolder())
        val runner = FakeBenchmarkRunner()
        val vm = show(world, runner)
        settle("the chosen model") { vm.uiState.value.screen is BenchmarkScreenState.Ready }
        vm.start()
        settle("the run to start") { runner.runs.isNotEmpty() }
        compose.onNodeWithText(text(R.string.benchmark_cancel)).performClick()
        settle("the cancellation") { runner.cancelled && vm.uiState.value.screen is BenchmarkScreenState.Ready }
        assertEquals(text(R.string.benchmark_cancelled), vm.uiState.value.announcement?.text)
        settle("the model to load again") { world.session.state.value is EngineSession.State.Ready }
    }

    @Test
    fun outOfMemoryAndNoModelAreExplained() {
        val world = ConversationWorld(texts, temp.newFolder())
        val runner = FakeBenchmarkRunner(error = ImpException.OutOfMemory("The model needs 3.1 GB."))
        val vm = show(world, runner)
        settle("the chosen model") { vm.uiState.value.screen is BenchmarkScreenState.Ready }
        vm.start()
        runner.gate.trySend(Unit)
        settle("the failure") { vm.uiState.value.screen is BenchmarkScreenState.Failed }
        val failed = vm.uiState.value.screen as BenchmarkScreenState.Failed
        assertEquals(Problem.Kind.OutOfMemory, failed.problem.kind)
        compose.onNodeWithText(text(R.string.problem_out_of_memory_title)).assertExists()
        compose.onNodeWithText(text(R.string.benchmark_run_again)).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("benchmark-out-of-memory")

        val none = ConversationWorld(texts, temp.newFolder(), settings = AppSettings(modelId = null))
        val idle = BenchmarkViewModel(FakeBenchmarkRunner(), none.library, none.settings, none.session, fakeDevice, texts)
        idle.refresh()
        settle("the verdict") { idle.uiState.value.screen is BenchmarkScreenState.Unavailable }
        assertEquals(Problem.Kind.ModelMissing, (idle.uiState.value.screen as BenchmarkScreenState.Unavailable).problem.kind)
    }
}
