package app.imp.android

import androidx.lifecycle.SavedStateHandle
import app.imp.android.engine.Problem
import app.imp.android.engine.Texts
import app.imp.android.platform.HapticEvent
import app.imp.android.settings.AppSettings
import app.imp.android.settings.SpeechMode
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationUiState
import app.imp.android.ui.conversation.ConversationViewModel
import app.imp.android.ui.conversation.FocusRequest
import app.imp.android.ui.conversation.PictureSource
import app.imp.android.ui.conversation.QuickPrompt
import app.imp.android.ui.conversation.Turn
import app.imp.kit.ImpException
import app.imp.kit.StopReason
import kotlinx.coroutines.launch
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode

/** Runs the main thread until [done] holds (the view model also works on the IO pool). */
fun settle(what: String = "the condition", done: () -> Boolean) {
    // Generous: the build machine is shared, and the first test also starts the sandbox.
    val deadline = System.currentTimeMillis() + 30_000
    while (System.currentTimeMillis() < deadline) {
        idle()
        if (done()) return
        Thread.sleep(10)
    }
    throw AssertionError("timed out waiting for $what")
}

@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ConversationViewModelTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }

    private fun world(settings: AppSettings = AppSettings(modelId = "imp-v1-3b-q4")) =
        ConversationWorld(texts, temp.newFolder(), settings = settings)

    private fun ConversationViewModel.openPicture(world: ConversationWorld, key: String = "k1") {
        open(ConversationArgs(key, world.picture().path, PictureSource.Camera))
        try {
            settle("the picture to be encoded") { uiState.value is ConversationUiState.Ready }
        } catch (e: AssertionError) {
            throw AssertionError("${e.message}: ${uiState.value}; engine ${world.session.state.value}", e)
        }
    }

    @Test
    fun describeStreamsTheAnswerSpeaksSentencesAndSavesTheHistory() {
        val world = world(AppSettings(modelId = "imp-v1-3b-q4", speech = SpeechMode.Always))
        val vm = world.viewModel()
        vm.openPicture(world)
        assertEquals(1, world.engine.pictures.size) // encoded before any question
        assertEquals(FocusRequest.Target.Describe, vm.uiState.value.content.focus?.target)

        vm.describe()
        idle()
        val answering = vm.uiState.value as ConversationUiState.Answering
        assertTrue(answering.thinking)
        assertEquals(listOf(QuickPrompt.Describe.question), world.engine.questions)

        world.engine.current!!.send("A red ", "mug on a ")
        idle()
        assertEquals("A red mug on a ", vm.uiState.value.content.turns.single().answer)
        assertTrue(world.voice.spoken.isEmpty()) // no sentence yet: nothing spoken token by token
        world.engine.current!!.send("desk. It is ", "full.")
        world.engine.current!!.finish()
        settle("the answer to be saved") { world.archive.conversations.values.firstOrNull()?.turns?.size == 1 }

        val ready = vm.uiState.value as ConversationUiState.Ready
        assertEquals(Turn.Status.Complete(StopReason.END_OF_ANSWER), ready.content.turns.single().status)
        assertEquals(listOf("A red mug on a desk.", "It is full."), world.voice.spoken)
        assertEquals(FocusRequest.Target.Answer(0), ready.content.focus?.target)
        assertEquals(texts.get(R.string.announce_end_of_answer), ready.content.announcement?.text)
        assertEquals("A red mug on a desk. It is full.", world.archive.conversations.values.single().turns.single().answer)
        assertTrue(world.haptics.containsAll(listOf(HapticEvent.AnswerStarted, HapticEvent.AnswerFinished)))
        // Offline by construction: answering never touched the store's network side.
        assertFalse(world.library.networkUsed)
    }

    /**
     * Issue 27, defect 1: a view model that has saved one conversation saves
     * the next one it opens too (it once kept the first save's job forever,
     * so every later conversation of the visit was lost).
     */
    @Test
    fun everyConversationOpenedIsSavedNotOnlyTheFirst() {
        val world = world()
        val vm = world.viewModel()
        for ((i, key) in listOf("first", "second").withIndex()) {
            vm.openPicture(world, key)
            vm.describe()
            idle()
            world.engine.current!!.send("A mug.")
            world.engine.current!!.finish()
            settle("conversation $key saved") { world.archive.conversations.size == i + 1 }
            settle("its answer saved") { world.archive.conversations.values.last().turns.size == 1 }
            vm.close()
        }
    }

    /** A conversation with TalkBack on, and what TalkBack hears: like the live region, only the latest text. */
    private class Listened(val world: ConversationWorld, val vm: ConversationViewModel) {
        val heard = mutableListOf<String>()
        private val listening = kotlinx.coroutines.MainScope().launch {
            vm.uiState.collect { state -> state.content.announcement?.text?.let { if (heard.lastOrNull() != it) heard += it } }
        }

        fun stop() = listening.cancel()

        override fun toString() = heard.joinToString(" | ")
    }

    private fun listenedConversation(speech: SpeechMode): Listened {
        val world = ConversationWorld(
            texts, temp.newFolder(), settings = AppSettings(modelId = "imp-v1-3b-q4", speech = speech),
            accessibility = FakeAccessibility(on = true),
        )
        val vm = world.viewModel()
        vm.openPicture(world)
        return Listened(world, vm)
    }

    private fun Listened.describeAndFinish(vararg pieces: String) {
        vm.describe()
        idle()
        world.engine.current!!.send(*pieces)
        idle()
        world.engine.current!!.finish()
        val end = texts.get(R.string.announce_end_of_answer)
        settle("the end of the answer") { vm.uiState.value is ConversationUiState.Ready && heard.any { it.contains(end) } }
    }

    /**
     * Issue 27, defect 2: with TalkBack on, the sentences reach TalkBack
     * through the live region, whose latest text is all it reads; the last
     * sentence once vanished under "End of answer" in the same instant.
     */
    @Test
    fun talkBackHearsTheLastSentenceBeforeTheEndOfTheAnswer() {
        val talkBack = listenedConversation(SpeechMode.Always)
        talkBack.describeAndFinish("A red mug on a ", "desk. It is ", "full.")
        talkBack.stop()
        assertTrue("$talkBack", talkBack.heard.any { it.contains("A red mug on a desk.") })
        assertTrue("$talkBack", talkBack.heard.any { it.contains("It is full.") })
        // TalkBack reads the answer (a braille display shows it), even with
        // "always": one voice, and the one a braille reader gets.
        assertTrue(talkBack.world.voice.spoken.isEmpty())
    }

    /** "Never" reads nothing by itself, even with TalkBack; Read aloud still reads, through TalkBack. */
    @Test
    fun neverReadsNothingByItselfAndReadAloudGoesThroughTalkBack() {
        val talkBack = listenedConversation(SpeechMode.Never)
        talkBack.describeAndFinish("A red mug. It is full.")
        assertTrue("$talkBack", talkBack.heard.none { it.contains("red mug") })
        talkBack.vm.readAgain(0)
        idle()
        talkBack.stop()
        assertTrue("$talkBack", talkBack.heard.any { it.contains("A red mug. It is full.") })
        assertTrue(talkBack.world.voice.spoken.isEmpty())
    }

    /**
     * Issue 27, "never silent": while the model works with no new word for a
     * few seconds, TalkBack hears "Still working."; once words flow, no cue.
     */
    @Test
    fun aLongSilenceWhileAnsweringIsNeverSilent() {
        val world = ConversationWorld(
            texts, temp.newFolder(), settings = AppSettings(modelId = "imp-v1-3b-q4", speech = SpeechMode.Never),
            accessibility = FakeAccessibility(on = true),
        )
        val vm = world.viewModel()
        vm.openPicture(world)
        vm.describe()
        idle()
        val still = texts.get(R.string.announce_still_working)
        assertEquals(texts.get(R.string.announce_answering), vm.uiState.value.content.announcement?.text)
        idle(ConversationViewModel.STILL_WORKING_MS + 100)
        assertEquals(still, vm.uiState.value.content.announcement?.text)
        val cues = vm.uiState.value.content.announcement!!.serial
        world.engine.current!!.send("A red ")
        idle(ConversationViewModel.STILL_WORKING_MS + 100)
        assertEquals("words arrived: no cue", cues, vm.uiState.value.content.announcement?.serial)
        world.engine.current!!.finish()
        settle("the end") { vm.uiState.value is ConversationUiState.Ready }
        idle(2 * ConversationViewModel.STILL_WORKING_MS)
        assertTrue(vm.uiState.value.content.announcement?.text != still)
    }

    @Test
    fun stopKeepsWhatWasWrittenAndAFollowUpAsksAboutTheSamePicture() {
        val world = world()
        val vm = world.viewModel()
        vm.openPicture(world)
        vm.describe()
        idle()
        world.engine.current!!.send("A cat")
        idle()
        val first = world.engine.current!!
        vm.stop()
        idle()
        assertTrue(first.cancelled)
        val stopped = vm.uiState.value as ConversationUiState.Ready
        assertEquals(Turn.Status.Stopped, stopped.content.turns.single().status)
        assertEquals("A cat", stopped.content.turns.single().answer)
        assertEquals(texts.get(R.string.announce_stopped), stopped.content.announcement?.text)

        vm.onQuestionChange("What colour is it?")
        vm.askTypedQuestion()
        idle()
        world.engine.current!!.send("Grey.")
        world.engine.current!!.finish()
        settle("the follow-up to be saved") { world.archive.conversations.values.firstOrNull()?.turns?.size == 2 }
        assertEquals(1, world.engine.pictures.size)
        assertEquals(listOf(QuickPrompt.Describe.question, "What colour is it?"), world.engine.questions)
        assertEquals("", vm.uiState.value.content.question)
        assertEquals(listOf("cancelled", "eos"), world.archive.conversations.values.single().turns.map { it.stopReason })
    }

    @Test
    fun aMissingModelSendsThePersonToTheModels() {
        val world = world()
        world.library.models.clear()
        val vm = world.viewModel()
        vm.open(ConversationArgs("k", world.picture().path, PictureSource.Camera))
        settle("the problem") { vm.uiState.value is ConversationUiState.Failed }
        val failed = vm.uiState.value as ConversationUiState.Failed
        assertEquals(Problem.Kind.ModelMissing, failed.problem.kind)
        assertEquals(Problem.Recovery.OpenModels, failed.problem.recovery)
        assertEquals(FocusRequest.Target.Problem, failed.content.focus?.target)
    }

    @Test
    fun outOfMemoryWhileLoadingSuggestsSmallerSettings() {
        val world = world()
        world.loader.error = ImpException.OutOfMemory("The model needs 2 GB.")
        val vm = world.viewModel()
        vm.open(ConversationArgs("k", world.picture().path, PictureSource.Camera))
        settle("the problem") { vm.uiState.value is ConversationUiState.Failed }
        val problem = (vm.uiState.value as ConversationUiState.Failed).problem
        assertEquals(Problem.Kind.OutOfMemory, problem.kind)
        assertEquals(Problem.Recovery.OpenSettings, problem.recovery)
    }

    @Test
    fun aFailedAnswerIsReportedAndTheNextQuestionStillWorks() {
        val world = world()
        val vm = world.viewModel()
        vm.openPicture(world)
        vm.ask("What is this?")
        idle()
        world.engine.current!!.fail(ImpException.Busy())
        settle("the problem") { vm.uiState.value is ConversationUiState.Failed }
        assertEquals(Problem.Kind.Busy, (vm.uiState.value as ConversationUiState.Failed).problem.kind)
    }

    @Test
    fun aConversationSurvivesProcessDeath() {
        val world = world()
        val handle = SavedStateHandle()
        val vm = world.viewModel(handle)
        vm.openPicture(world, key = "same")
        vm.ask("What is this?")
        idle()
        world.engine.current!!.send("A lamp.")
        world.engine.current!!.finish()
        settle("the answer to be saved") { world.archive.conversations.values.firstOrNull()?.turns?.size == 1 }
        vm.onQuestionChange("Is it on")

        // A new process: a new view model over the saved state, the same screen argument.
        val restored = world.viewModel(SavedStateHandle(handle.keys().associateWith { handle.get<Any>(it) }))
        restored.open(ConversationArgs("same", null, PictureSource.Camera))
        settle("the restored conversation") {
            restored.uiState.value is ConversationUiState.Ready && restored.uiState.value.content.turns.isNotEmpty()
        }
        val content = restored.uiState.value.content
        assertEquals("A lamp.", content.turns.single().answer)
        assertEquals(Turn.Status.Earlier, content.turns.single().status)
        assertEquals("Is it on", content.question)
        assertEquals(2, world.engine.pictures.size) // encoded again for follow-ups
    }
}
