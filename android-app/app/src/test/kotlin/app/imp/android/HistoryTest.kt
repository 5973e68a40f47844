package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.pictures.PictureRetention
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.conversation.QuickPrompt
import app.imp.android.ui.history.HistoryActions
import app.imp.android.ui.history.HistoryScreen
import app.imp.android.ui.history.HistoryUiState
import app.imp.android.ui.history.HistoryViewModel
import app.imp.android.ui.history.historyRowTag
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.IOException

/** The history screen over a fake archive: rows, opening, deleting one and all, and a history that cannot be read. */
open class HistoryTest : ScreenTest() {

    private fun viewModel(world: ConversationWorld) =
        HistoryViewModel(world.archive, world.pictures, texts, { "Imp v1 3B" }, { "30 Nov 2026, 10:00" })

    private fun show(vm: HistoryViewModel, opened: MutableList<String> = mutableListOf()) {
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                HistoryScreen(
                    state,
                    HistoryActions(
                        onOpen = { opened += it }, onDelete = vm::delete, onDeleteAll = vm::askDeleteAll,
                        onConfirmDeleteAll = vm::confirmDeleteAll, onCancelDeleteAll = vm::cancelDeleteAll,
                    ),
                )
            }
        }
    }

    @Test
    fun rowsSayWhatWasAskedAndOpenTheConversation() {
        val world = ConversationWorld(texts, temp.newFolder())
        val described = world.archive.add("imp-v1-3b-q4", QuickPrompt.Describe.question to "A red mug on a desk.")
        val asked = world.archive.add("imp-v1-3b-q4", "Is the door open?" to "No.", "What colour is it?" to "Blue.")
        val vm = viewModel(world)
        vm.refresh()
        settle("the history") { vm.uiState.value is HistoryUiState.Loaded }
        val rows = (vm.uiState.value as HistoryUiState.Loaded).rows
        // The one-tap question by its button's name; everything TalkBack reads for the row in sentences.
        assertEquals(listOf(text(R.string.action_describe), "Is the door open?"), rows.map { it.title })
        assertEquals(
            "Is the door open? ${text(R.string.history_answer, "Blue.")} ${text(R.string.history_questions, 2)}. Imp v1 3B. 30 Nov 2026, 10:00.",
            rows[1].spoken,
        )
        assertTrue(rows.all { it.thumbnail != null })

        val opened = mutableListOf<String>()
        show(vm, opened)
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("history")
        compose.onNodeWithTag(historyRowTag(asked.id)).performClick()
        assertEquals(listOf(asked.id), opened)
        compose.onNodeWithContentDescription(text(R.string.history_delete, text(R.string.action_describe))).assertExists()
        assertTrue(described.id in world.archive.conversations)
    }

    /**
     * Issue 27, defect 9: the screen asks for the first page again while it
     * loads (rotation recomposes the screen, which refreshes); each
     * conversation is listed once (duplicate row keys crashed the list).
     */
    @Test
    fun refreshingWhileThePageLoadsListsEachConversationOnce() {
        val world = ConversationWorld(texts, temp.newFolder())
        repeat(3) { world.archive.conversations["c$it"] = app.imp.kit.SavedConversation("c$it", "imp", 0, 0, emptyList()) }
        val gate = kotlinx.coroutines.CompletableDeferred<Unit>()
        world.archive.listGate = gate
        val vm = viewModel(world)
        vm.refresh()
        vm.refresh()
        vm.loadMore()
        gate.complete(Unit)
        settle("the page") { (vm.uiState.value as? HistoryUiState.Loaded)?.rows?.isNotEmpty() == true }
        idle()
        assertEquals(listOf("c0", "c1", "c2"), (vm.uiState.value as HistoryUiState.Loaded).rows.map { it.id })
    }

    /**
     * Issue 27, defect 9: kept pictures are let go by a rule, at each start:
     * those of conversations the history no longer has, and those nobody asked
     * about for a day; a history that cannot be read deletes nothing.
     */
    @Test
    fun picturesGoWithTheirConversationsAndUnaskedOnesAfterADay() {
        val world = ConversationWorld(texts, temp.newFolder())
        world.archive.conversations["c0"] = app.imp.kit.SavedConversation("c0", "imp", 0, 0, emptyList())
        val now = 10L * PictureRetention.UNASKED_KEPT_MS
        val kept = world.pictures.keepFor("c0", world.picture())
        val orphan = world.pictures.keepFor("gone", world.picture())
        val fresh = world.picture().apply { setLastModified(now - 1000) }
        val stale = world.picture().apply { setLastModified(now - 2 * PictureRetention.UNASKED_KEPT_MS) }

        world.archive.failing = IOException("disk")
        assertTrue(runCatching { kotlinx.coroutines.runBlocking { PictureRetention.prune(world.archive, world.pictures, now) } }.isFailure)
        assertTrue(listOf(kept, orphan, fresh, stale).all { it.exists() })

        world.archive.failing = null
        kotlinx.coroutines.runBlocking { PictureRetention.prune(world.archive, world.pictures, now) }
        assertEquals(listOf(true, false, true, false), listOf(kept, orphan, fresh, stale).map { it.exists() })
    }

    @Test
    fun deletingOneAndThenAllAfterConfirming() {
        val world = ConversationWorld(texts, temp.newFolder())
        val first = world.archive.add("m", "One?" to "1.")
        world.archive.add("m", "Two?" to "2.")
        val kept = world.pictures.keepFor(first.id, world.picture())
        val vm = viewModel(world)
        vm.refresh()
        show(vm)
        settle("the history") { vm.uiState.value is HistoryUiState.Loaded }

        compose.onNodeWithContentDescription(text(R.string.history_delete, "One?")).performClick()
        settle("the deletion") { (vm.uiState.value as? HistoryUiState.Loaded)?.rows?.size == 1 }
        assertFalse(first.id in world.archive.conversations)
        assertFalse("the conversation's picture goes with it", kept.exists())
        assertEquals(text(R.string.announce_conversation_deleted), vm.uiState.value.announcement?.text)

        compose.onNodeWithText(text(R.string.history_delete_all)).performClick()
        compose.waitForIdle()
        compose.onNodeWithText(text(R.string.history_delete_all_title)).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("history-delete-all")
        assertEquals(1, world.archive.conversations.size) // nothing deleted before confirming
        compose.onNodeWithText(text(R.string.history_delete_all_confirm)).performClick()
        settle("everything deleted") { vm.uiState.value is HistoryUiState.Empty }
        assertTrue(world.archive.conversations.isEmpty())
        compose.onNodeWithText(text(R.string.history_empty)).assertExists()
        compose.screenshot("history-empty")
    }

    @Test
    fun aHistoryThatCannotBeReadSaysSo() {
        val world = ConversationWorld(texts, temp.newFolder())
        world.archive.failing = IOException("disk I/O error")
        val vm = viewModel(world)
        vm.refresh()
        settle("the problem") { vm.uiState.value is HistoryUiState.Failed }
        val problem = (vm.uiState.value as HistoryUiState.Failed).problem
        assertEquals(text(R.string.problem_history_title), problem.title)
        assertTrue(problem.message, problem.message.contains("disk I/O error"))
    }
}
