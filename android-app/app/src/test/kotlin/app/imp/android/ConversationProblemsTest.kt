package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.isFocused
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.engine.Problem
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.conversation.ConversationActions
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationScreen
import app.imp.android.ui.conversation.ConversationUiState
import app.imp.android.ui.conversation.ConversationViewModel
import app.imp.android.ui.conversation.PROBLEM_TAG
import app.imp.android.ui.conversation.PictureSource
import app.imp.kit.ImpException
import org.junit.Assert.assertEquals
import org.junit.Test

/**
 * The conversation screen when the core says no: each error the engine can
 * raise while answering, shown through the real view model with its title, its
 * way out and the focus on it, and a screenshot of each.
 */
open class ConversationProblemsTest : ScreenTest() {

    private fun answerFailsWith(error: Exception, screenshot: String): ConversationViewModel {
        val world = ConversationWorld(texts, temp.newFolder())
        val vm = world.viewModel()
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                ConversationScreen(state, ConversationActions(onDescribe = vm::describe))
            }
        }
        vm.open(ConversationArgs("k", world.picture().path, PictureSource.Camera))
        settle("the picture to be encoded") { vm.uiState.value is ConversationUiState.Ready }
        compose.onNodeWithText(text(R.string.action_describe)).performClick()
        compose.waitForIdle()
        world.engine.current!!.send("A half ")
        world.engine.current!!.fail(error)
        settle("the problem") { vm.uiState.value is ConversationUiState.Failed }
        compose.waitForIdle()
        compose.onNodeWithTag(PROBLEM_TAG).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot(screenshot)
        return vm
    }

    private fun problem(vm: ConversationViewModel) = (vm.uiState.value as ConversationUiState.Failed).problem

    @Test
    fun busyTellsThePersonToWaitOrStop() {
        val vm = answerFailsWith(ImpException.Busy(), "conversation-busy")
        assertEquals(Problem.Kind.Busy, problem(vm).kind)
        compose.onNode(hasText(text(R.string.problem_busy_title)) and isFocused()).assertExists()
        compose.onNodeWithText(text(R.string.problem_busy)).assertExists()
        // What was written before stays on screen.
        compose.onNodeWithText("A half ").assertExists()
        // The next question is still possible.
        assertEquals(true, vm.uiState.value.content.canAsk)
    }

    @Test
    fun cancelledByTheEngineSaysStopped() {
        val vm = answerFailsWith(ImpException.Cancelled(), "conversation-cancelled")
        assertEquals(Problem.Kind.Cancelled, problem(vm).kind)
        compose.onNode(hasText(text(R.string.problem_cancelled_title)) and isFocused()).assertExists()
        compose.onNodeWithText(text(R.string.problem_cancelled)).assertExists()
    }

    @Test
    fun outOfMemoryOffersTheSettings() {
        val vm = answerFailsWith(ImpException.OutOfMemory("The KV cache needs 800 MB."), "conversation-out-of-memory")
        assertEquals(Problem.Kind.OutOfMemory, problem(vm).kind)
        compose.onNode(hasText(text(R.string.problem_out_of_memory_title)) and isFocused()).assertExists()
        compose.onNodeWithText(text(R.string.recovery_open_settings)).assertExists()
    }

    @Test
    fun aFullConversationOffersANewPicture() {
        val vm = answerFailsWith(ImpException.InputTooLong("1030 positions, the context holds 1024."), "conversation-full")
        assertEquals(Problem.Kind.ConversationFull, problem(vm).kind)
        compose.onNodeWithText(text(R.string.recovery_take_new_picture)).assertExists()
    }
}
