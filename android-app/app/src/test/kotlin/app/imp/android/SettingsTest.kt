package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.test.assertIsSelected
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.settings.AnswerLength
import app.imp.android.settings.AppSettings
import app.imp.android.settings.ResolutionMode
import app.imp.android.settings.SpeechMode
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.settings.SettingsActions
import app.imp.android.ui.settings.SettingsScreen
import app.imp.android.ui.settings.SettingsViewModel
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Test
import org.robolectric.annotation.Config

/** The settings screen on fakes: each choice saved at once, and what the engine does about it. */
open class SettingsTest : ScreenTest() {

    private fun show(world: ConversationWorld, opened: MutableList<String> = mutableListOf()): SettingsViewModel {
        val vm = SettingsViewModel(world.settings, world.library, world.session, fakeDevice, texts)
        vm.refresh()
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                SettingsScreen(
                    state,
                    SettingsActions(
                        onModel = vm::chooseModel, onResolution = vm::setResolution, onAnswerLength = vm::setAnswerLength,
                        onThreads = vm::setThreads, onSpeech = vm::setSpeech, onSpeechRate = vm::setSpeechRate,
                        onHaptics = vm::setHaptics, onWifiOnly = vm::setWifiOnly,
                        onModels = { opened += "models" }, onBenchmark = { opened += "benchmark" },
                    ),
                )
            }
        }
        settle("the installed models") { vm.uiState.value.models.isNotEmpty() }
        return vm
    }

    @Test
    fun everyChoiceIsSavedAndTheModelReloadsOnlyWhenItMust() {
        val store = MemorySettingsStore(AppSettings(modelId = "imp-v1-3b-q4"))
        val world = ConversationWorld(texts, temp.newFolder(), settings = store.saved)
        world.library.models.add(installedModel("imp-v1-3b-q8"))
        val opened = mutableListOf<String>()
        show(world, opened)
        settle("the model to load") { world.loader.loads.size == 1 }
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("settings")

        compose.onNodeWithText(text(R.string.resolution_fast)).performScrollTo().assertIsSelected()
        compose.onNodeWithText(text(R.string.resolution_detailed)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.length_long)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.threads_many, 2)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.speech_never)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.settings_haptics)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.settings_wifi_only)).performScrollTo().performClick()
        compose.onNodeWithText(text(R.string.action_benchmark)).performScrollTo().performClick()
        compose.waitForIdle()
        val s = world.settings.settings.value
        assertEquals(ResolutionMode.Detailed, s.resolution)
        assertEquals(AnswerLength.Long, s.answerLength)
        assertEquals(2, s.threads)
        assertEquals(SpeechMode.Never, s.speech)
        assertFalse(s.haptics)
        assertFalse(s.wifiOnly)
        assertEquals(listOf("benchmark"), opened)
        compose.onNodeWithText(text(R.string.resolution_detailed)).assertIsSelected()

        // Resolution and threads change how the model is loaded; length and speech do not.
        settle("the reloads") { world.loader.loads.size == 3 }
        assertEquals(2, world.loader.loads.last().second.threads)
        compose.onNodeWithText("Imp 3B fast (imp-v1-3b-q8)").performScrollTo().performClick()
        settle("the other model to load") { world.loader.loads.last().first == "/models/imp-v1-3b-q8.gguf" }
        assertEquals("imp-v1-3b-q8", world.settings.settings.value.modelId)
    }

    @Test
    @Config(fontScale = 2.0f)
    fun theSettingsHoldAtTwiceTheFontSize() {
        val world = ConversationWorld(texts, temp.newFolder())
        show(world)
        compose.onNode(hasText(text(R.string.settings_haptics))).performScrollTo()
        val rate = compose.onNode(hasText(text(R.string.settings_speech_rate), substring = true)).fetchSemanticsNode()
        assertEquals(listOf("${text(R.string.settings_speech_rate)}: ${text(R.string.settings_speech_rate_value, 100)}"),
            rate.config[SemanticsProperties.Text].map { it.text })
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("settings-font-200")
    }
}
