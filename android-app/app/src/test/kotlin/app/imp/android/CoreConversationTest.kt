package app.imp.android

import app.imp.android.engine.CoreConversationArchive
import app.imp.android.engine.CoreEngineLoader
import app.imp.android.engine.Texts
import app.imp.android.settings.AnswerLength
import app.imp.android.settings.AppSettings
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationUiState
import app.imp.android.ui.conversation.PictureSource
import app.imp.android.ui.conversation.QuickPrompt
import app.imp.android.ui.conversation.Turn
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode
import java.io.File
import java.net.InetSocketAddress
import java.net.Socket

/**
 * The conversation view model on the real Rust core (host-built, through JNA)
 * with a small converted model (-Dimp.gguf): a picture in, a streamed answer
 * out, Stop, a follow-up, and the history saved and reopened. The model is
 * tiny and untrained, so its words are noise; what is tested is the path,
 * and that answering never reaches for the network ([NetworkWatch]).
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class CoreConversationTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }

    @Test
    fun theNetworkWatchSeesAConnectionAttempt() {
        // The control for the check below: a connection attempt (to a closed local port) is counted.
        val before = NetworkWatch.attempts()
        runCatching { Socket().use { it.connect(InetSocketAddress("127.0.0.1", 9), 200) } }
        assertTrue(NetworkWatch.attempts() > before)
    }

    @Test
    fun pictureInStreamedAnswerOutStopFollowUpAndHistoryOnTheRealCore() {
        val gguf = File(System.getProperty("imp.gguf") ?: error("set -Dimp.gguf"))
        assertTrue("$gguf", gguf.isFile)
        val model = installedModel("tiny").copy(path = gguf.path, details = null)
        val archive = CoreConversationArchive(temp.newFolder("history"))
        val world = ConversationWorld(
            texts, temp.newFolder(), library = FakeLibrary(mutableListOf(model)),
            settings = AppSettings(modelId = "tiny", answerLength = AnswerLength.Long),
            engineLoader = CoreEngineLoader(), history = archive,
        )
        val vm = world.viewModel()
        val before = NetworkWatch.attempts()
        vm.open(ConversationArgs("core", world.picture().path, PictureSource.Camera))
        settle("the model to load and the picture to be encoded") { vm.uiState.value is ConversationUiState.Ready }

        vm.describe()
        settle("the first words") {
            val turn = vm.uiState.value.content.turns.single()
            turn.answer.isNotEmpty() || turn.isDone
        }
        // Stop while it writes (the tiny model may already be done: then there is nothing to stop).
        if (vm.uiState.value is ConversationUiState.Answering) vm.stop()
        settle("the first answer to end") { vm.uiState.value is ConversationUiState.Ready }
        val first = vm.uiState.value.content.turns.single()
        assertTrue(first.status == Turn.Status.Stopped || first.status is Turn.Status.Complete)

        vm.ask("What colour is it?")
        settle("the follow-up's answer") {
            vm.uiState.value is ConversationUiState.Ready && vm.uiState.value.content.turns.size == 2
        }
        val followUp = vm.uiState.value.content.turns[1]
        assertTrue("${followUp.status}", followUp.status is Turn.Status.Complete)
        // Loading, encoding, two answers and a stop: not one attempt to reach the network.
        assertEquals("network attempts while answering", before, NetworkWatch.attempts())

        // The history has both turns (the first one saved if it had words), and reopens.
        settle("the history to be written") {
            runBlocking { archive.list(0, 10).items.singleOrNull()?.turnCount ?: 0 } >= 1 &&
                runBlocking { archive.list(0, 10).items.single().turnCount } == vm.uiState.value.content.turns.count { it.answer.isNotEmpty() }
        }
        val saved = runBlocking { archive.list(0, 10) }.items.single()
        assertEquals("What colour is it?", runBlocking { archive.load(saved.id) }.turns.last().question)
        val reopened = world.viewModel()
        reopened.open(ConversationArgs("reopen", null, PictureSource.History, savedId = saved.id))
        settle("the reopened conversation") {
            reopened.uiState.value is ConversationUiState.Ready && reopened.uiState.value.content.turns.size == saved.turnCount
        }
        assertTrue(reopened.uiState.value.content.turns.all { it.status == Turn.Status.Earlier })
        assertTrue(QuickPrompt.Describe.question == saved.firstQuestion || saved.turnCount == 1)
        vm.close()
        reopened.close()
        world.session.unload()
    }
}

/**
 * The JVM's attempts to reach the network (connect, sendto, sendmsg to an
 * internet address; name lookups), counted by android-app/build-logic/network-watch.c,
 * which android-app/build-logic/test.sh preloads. The Rust core calls the same libc
 * functions, so its attempts count too. Without the preload the lookup fails
 * and so do the tests that use it.
 */
object NetworkWatch {
    private val count by lazy { com.sun.jna.NativeLibrary.getProcess().getFunction("imp_network_attempts") }

    fun attempts(): Long = count.invokeLong(emptyArray())
}
