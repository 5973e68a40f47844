package app.imp.android.ui.conversation

import androidx.lifecycle.SavedStateHandle
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.ConversationArchive
import app.imp.android.engine.EngineSession
import app.imp.android.engine.PictureConversation
import app.imp.android.engine.Problem
import app.imp.android.engine.ProblemContext
import app.imp.android.engine.Texts
import app.imp.android.pictures.PictureStore
import app.imp.android.platform.Clipboard
import app.imp.android.platform.Clock
import app.imp.android.platform.HapticEvent
import app.imp.android.platform.ShareSheet
import app.imp.android.settings.SettingsRepository
import app.imp.android.speech.AnswerNarrator
import app.imp.kit.AnswerEvent
import app.imp.kit.Picture
import app.imp.kit.SavedTurn
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File

/** The one-tap questions: the model gets the full prompt, the history keeps it (the same as iOS). */
enum class QuickPrompt(val question: String) {
    Describe("Describe this picture in detail for someone who cannot see it."),
    ReadText("Read out all the text in this picture, exactly as written."),
}

/**
 * The conversation screen's logic. The picture starts encoding the moment the
 * conversation opens (the screen opens as the shutter fires), so it is ready
 * while the person is still forming the question; a question asked before then
 * waits for it.
 *
 * Offline by construction: this class is given the engine session, the history,
 * the picture files and the phone's outputs, and nothing that can reach the
 * network (the model store, the one thing that downloads, is not among them).
 *
 * Survives rotation as a view model; after process death [open] finds the
 * conversation in the saved state (picture file, history id, question being
 * typed), reloads its saved turns and encodes the picture again.
 */
class ConversationViewModel(
    private val handle: SavedStateHandle,
    private val session: EngineSession,
    private val archive: ConversationArchive,
    private val pictures: PictureStore,
    private val narrator: AnswerNarrator,
    private val clipboard: Clipboard,
    private val shareSheet: ShareSheet,
    private val clock: Clock,
    private val settings: SettingsRepository,
    private val texts: Texts,
) : ViewModel() {
    private sealed interface Phase {
        data object Preparing : Phase

        data object Ready : Phase

        data class Answering(val turnId: Int) : Phase

        data class Failed(val problem: Problem) : Phase
    }

    private sealed interface PictureState {
        data object Preparing : PictureState

        data object Ready : PictureState

        data class Failed(val problem: Problem) : PictureState
    }

    private var args: ConversationArgs? = null
    private var phase: Phase = Phase.Preparing
    private var pictureState: PictureState = PictureState.Preparing
    private var picture: File? = null
    private var turns = listOf<Turn>()
    private var notice: String? = null
    private var focus: FocusRequest? = null
    private var nextTurnId = 0
    private var conversation: PictureConversation? = null
    private var encoding: Job? = null
    private var answering: Job? = null
    private var saving: Job? = null

    private val state = MutableStateFlow<ConversationUiState>(ConversationUiState.Empty(content()))
    val uiState: StateFlow<ConversationUiState> = state.asStateFlow()

    private var savedId: String?
        get() = handle[SAVED_ID]
        set(value) {
            handle[SAVED_ID] = value
        }

    /** This conversation let go of the model; its picture is encoded again once a model is loaded. */
    private var released = false

    /**
     * The session's model is about to go (another model chosen, or the system
     * short of memory): this conversation lets go of it at once, so its memory
     * is freed before anything else loads. An answer being written stops.
     */
    private val releaseListener = EngineSession.ReleaseListener {
        if (conversation == null && encoding?.isActive != true) return@ReleaseListener
        if (phase is Phase.Answering) stop()
        encoding?.cancel()
        conversation?.close()
        conversation = null
        pictureState = PictureState.Preparing
        // Not at once: the old engine is still the session's until this returns.
        released = true
        publish()
    }

    init {
        viewModelScope.launch { narrator.announcement.collect { publish() } }
        viewModelScope.launch { narrator.isSpeaking.collect { publish() } }
        viewModelScope.launch {
            session.state.collect { s ->
                // The model this conversation let go of (or the one replacing it) is loaded: the picture is encoded again.
                if (released && s is EngineSession.State.Ready && args != null) {
                    released = false
                    prepare(restoring = true)
                }
                publish()
            }
        }
        session.addReleaseListener(releaseListener)
    }

    /** Opens [args] unless it is the conversation already open (recomposition, rotation). */
    fun open(args: ConversationArgs) {
        if (this.args?.key == args.key) return
        val restoring = handle.get<String>(KEY) == args.key
        close()
        this.args = args
        // This conversation's history entry is its own (an earlier one's save must not stand for it).
        saving = null
        turns = emptyList()
        notice = null
        nextTurnId = 0
        if (!restoring) {
            handle[KEY] = args.key
            handle[PICTURE] = null
            handle[QUESTION] = ""
            savedId = args.savedId
        }
        savedId?.let(::restoreTurns)
        // Before preparing: a picture or model problem found at once must win the focus.
        focus = FocusRequest(if (savedId == null) FocusRequest.Target.Describe else FocusRequest.Target.Answer(-1), nextSerial())
        prepare(restoring)
        publish()
    }

    fun describe() = ask(QuickPrompt.Describe.question)

    fun readText() = ask(QuickPrompt.ReadText.question)

    fun onQuestionChange(text: String) {
        handle[QUESTION] = text
        publish()
    }

    /** Asks what is in the question field. */
    fun askTypedQuestion() {
        val text = (handle.get<String>(QUESTION) ?: "").trim()
        if (text.isEmpty()) return
        handle[QUESTION] = ""
        ask(text)
    }

    /** What the speech recogniser heard (null: nothing, or the person cancelled). */
    fun voiceResult(text: String?) {
        val question = text?.trim().orEmpty()
        if (question.isNotEmpty()) ask(question)
    }

    /** Before listening: silence, so the recogniser does not hear the answer being read. */
    fun voiceStarting() = narrator.silence()

    fun voiceUnavailable() {
        val problem = Problem.voiceUnavailable(texts)
        notice = problem.message
        narrator.say(problem.announcement)
        publish()
    }

    /** Asks [text] about the picture (a follow-up if something was asked before). */
    fun ask(text: String) {
        if (phase is Phase.Answering || text.isBlank()) return
        val pictureProblem = (pictureState as? PictureState.Failed)?.problem
        if (pictureProblem != null) {
            if (pictureProblem.kind == Problem.Kind.PictureUnusable) return
            // The picture could not be encoded (no model yet, out of memory): try again.
            prepare(restoring = true)
        }
        val turn = Turn(nextTurnId++, text, "", Turn.Status.Waiting, clock.nowMs())
        turns = turns + turn
        phase = Phase.Answering(turn.id)
        narrator.questionAsked()
        val previous = answering
        val encoded = encoding
        answering = viewModelScope.launch {
            // A stopped answer ends once the engine has stopped (within a token): waiting
            // for it means the engine is free for this one (no Busy).
            previous?.join()
            encoded?.join()
            answer(turn.id)
        }
        keepTalking(turn.id)
        publish()
    }

    /**
     * Never silent: while the model works on [id] (encoding, thinking, or
     * stalled) with no new word for [STILL_WORKING_MS], the person hears that
     * it is still working, so a long wait is not taken for a hang.
     */
    private fun keepTalking(id: Int) {
        viewModelScope.launch {
            var heard = 0
            while (phase == Phase.Answering(id)) {
                delay(STILL_WORKING_MS)
                val written = turns.firstOrNull { it.id == id }?.answer?.length ?: return@launch
                if (phase == Phase.Answering(id) && written == heard) narrator.stillWorking()
                heard = written
            }
        }
    }

    /** Stops the answer being written; what was written stays, and is saved. */
    fun stop() {
        val id = (phase as? Phase.Answering)?.turnId ?: return narrator.silence()
        answering?.cancel()
        update(id) { it.copy(status = Turn.Status.Stopped) }
        phase = readyOrFailed()
        narrator.answerStopped()
        focus = FocusRequest(FocusRequest.Target.Answer(id), nextSerial())
        turns.firstOrNull { it.id == id }?.takeIf { it.answer.isNotEmpty() }?.let {
            save(SavedTurn(it.question, it.answer, "cancelled", it.askedAtMs))
        }
        publish()
    }

    /** Silences the answer being read aloud (the text goes on streaming on screen). */
    fun stopSpeaking() = narrator.silence()

    fun copyAnswer(turnId: Int) {
        val turn = turns.firstOrNull { it.id == turnId }?.takeIf { it.answer.isNotEmpty() } ?: return
        clipboard.copy(texts.get(R.string.answer_label), turn.answer)
        narrator.say(texts.get(R.string.announce_copied), HapticEvent.PictureTaken)
    }

    fun shareAnswer(turnId: Int) {
        val turn = turns.firstOrNull { it.id == turnId } ?: return
        shareSheet.share("${turn.question}\n\n${turn.answer}")
    }

    fun readAgain(turnId: Int) {
        if (phase is Phase.Answering) return
        turns.firstOrNull { it.id == turnId }?.takeIf { it.answer.isNotEmpty() }?.let { narrator.readAgain(it.answer) }
    }

    /** After a problem's "Try again": the model is loaded again and the picture encoded again. */
    fun retry() {
        session.retry()
        prepare(restoring = true)
        publish()
    }

    /** The person left the conversation: silence, stop what is being written, free the encoded picture. */
    fun close() {
        if (phase is Phase.Answering) answering?.cancel()
        encoding?.cancel()
        narrator.silence()
        conversation?.close()
        conversation = null
        args = null
        phase = Phase.Preparing
        pictureState = PictureState.Preparing
    }

    override fun onCleared() {
        session.removeReleaseListener(releaseListener)
        close()
    }


    // The work.

    /** Finds the picture (copying a shared one in), then encodes it with the loaded model. */
    private fun prepare(restoring: Boolean) {
        val current = args ?: return
        encoding?.cancel()
        conversation?.close()
        conversation = null
        pictureState = PictureState.Preparing
        if (phase !is Phase.Answering) phase = Phase.Preparing
        encoding = viewModelScope.launch {
            try {
                val file = picture?.takeIf { restoring && it.exists() } ?: pictureFile(current, restoring)
                picture = file
                handle[PICTURE] = file.path
                publish()
                val engine = session.readyEngine()
                conversation = engine.startConversation(Picture.File(file.path))
                pictureState = PictureState.Ready
                if (phase == Phase.Preparing) phase = Phase.Ready
                publish()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                encodingFailed(Problem.from(e, ProblemContext.EncodingPicture, texts))
            }
        }
    }

    private suspend fun pictureFile(args: ConversationArgs, restoring: Boolean): File = withContext(Dispatchers.IO) {
        val kept = handle.get<String>(PICTURE)?.let(::File)?.takeIf { restoring && it.exists() }
        val saved = savedId?.let(pictures::forConversation)
        when {
            kept != null -> kept
            saved != null -> saved
            args.source == PictureSource.History -> {
                // Only the history's thumbnail is left: enough to go on, less sharp.
                val id = savedId ?: error("no conversation")
                pictures.keepFor(id, pictures.prepare(archive.thumbnail(id)))
            }
            args.picture == null -> error("no picture")
            // The camera's picture is this app's own file; anything from another app goes through the checks.
            args.source == PictureSource.Camera -> File(args.picture)
            else -> pictures.importFrom(args.picture)
        }
    }

    private fun encodingFailed(problem: Problem) {
        if (problem.kind == Problem.Kind.Cancelled) return
        pictureState = PictureState.Failed(problem)
        (phase as? Phase.Answering)?.let { a -> update(a.turnId) { it.copy(status = Turn.Status.Failed(problem)) } }
        phase = Phase.Failed(problem)
        narrator.failed(problem)
        focus = FocusRequest(FocusRequest.Target.Problem, nextSerial())
        publish()
    }

    private suspend fun answer(id: Int) {
        val chat = conversation ?: return // encoding failed: already reported
        if (phase != Phase.Answering(id)) return
        val question = turns.firstOrNull { it.id == id }?.question ?: return
        ensureSaved()
        try {
            chat.ask(question, settings.settings.value.answerSettings).collect { event ->
                when (event) {
                    is AnswerEvent.Token -> {
                        update(id) { it.copy(answer = it.answer + event.text, status = Turn.Status.Streaming) }
                        narrator.answerText(event.text)
                        publish()
                    }
                    is AnswerEvent.Finished -> finished(id, event)
                }
            }
        } catch (e: CancellationException) {
            throw e // stopped: stop() said so
        } catch (e: Exception) {
            if (phase != Phase.Answering(id)) return
            val problem = Problem.from(e, ProblemContext.Answering, texts)
            update(id) { it.copy(status = Turn.Status.Failed(problem)) }
            phase = Phase.Failed(problem)
            narrator.failed(problem)
            focus = FocusRequest(FocusRequest.Target.Problem, nextSerial())
            publish()
        }
    }

    private fun finished(id: Int, event: AnswerEvent.Finished) {
        val tail = event.tail
        if (tail.isNotEmpty()) narrator.answerText(tail)
        update(id) { it.copy(answer = event.text, status = Turn.Status.Complete(event.stopReason)) }
        phase = readyOrFailed()
        turns.firstOrNull { it.id == id }?.let { save(SavedTurn.of(it.question, event, it.askedAtMs)) }
        narrator.answerFinished(event.stopReason) {
            focus = FocusRequest(FocusRequest.Target.Answer(id), nextSerial())
            publish()
        }
        publish()
    }

    /**
     * Creates the history entry at the first question (a picture nobody asked about
     * is not history), beside the answer rather than before it. Failing to save never
     * stops the answer.
     */
    private fun ensureSaved() {
        // A failed save is tried again at the next question.
        if (savedId != null || saving?.isActive == true) return
        val file = picture ?: return
        val model = session.modelId ?: "unknown"
        val key = args?.key
        saving = viewModelScope.launch {
            try {
                val saved = archive.create(model, Picture.File(file.path))
                // Another conversation opened meanwhile: this entry is complete as it is.
                if (args?.key != key) return@launch
                savedId = saved.id
                val kept = withContext(Dispatchers.IO) { pictures.keepFor(saved.id, file) }
                picture = kept
                handle[PICTURE] = kept.path
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                notice = texts.get(R.string.history_not_saved, Problem.from(e, ProblemContext.History, texts).message)
                publish()
            }
        }
    }

    private fun save(turn: SavedTurn) {
        val creating = saving
        viewModelScope.launch {
            creating?.join()
            val id = savedId ?: return@launch
            try {
                archive.appendTurn(id, turn)
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                notice = texts.get(R.string.history_not_saved, Problem.from(e, ProblemContext.History, texts).message)
                publish()
            }
        }
    }

    private fun restoreTurns(id: String) {
        viewModelScope.launch {
            try {
                val saved = archive.load(id)
                val earlier = saved.turns.map { Turn(nextTurnId++, it.question, it.answer, Turn.Status.Earlier, it.askedAtMs) }
                turns = earlier + turns
                notice = texts.get(R.string.notice_earlier_answers)
                if (focus?.target == FocusRequest.Target.Answer(-1)) {
                    focus = earlier.lastOrNull()?.let { FocusRequest(FocusRequest.Target.Answer(it.id), nextSerial()) }
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                notice = Problem.from(e, ProblemContext.History, texts).announcement
            }
            publish()
        }
    }

    private fun readyOrFailed(): Phase = (pictureState as? PictureState.Failed)?.let { Phase.Failed(it.problem) } ?: Phase.Ready

    private fun update(id: Int, change: (Turn) -> Turn) {
        turns = turns.map { if (it.id == id) change(it) else it }
    }

    private var serial = 0

    private fun nextSerial() = ++serial

    private fun content(): ConversationContent {
        val answeringTurn = (phase as? Phase.Answering)?.let { a -> turns.firstOrNull { it.id == a.turnId } }
        val loading = (session.state.value as? EngineSession.State.Loading)?.fraction
        val status = when (val p = phase) {
            Phase.Preparing -> texts.get(if (loading != null) R.string.status_loading_model else R.string.status_preparing)
            Phase.Ready -> texts.get(if (turns.isEmpty()) R.string.status_ready else R.string.status_follow_up)
            is Phase.Answering -> texts.get(if (answeringTurn?.status == Turn.Status.Waiting) R.string.status_thinking else R.string.status_answering)
            is Phase.Failed -> p.problem.title
        }
        val unusable = (pictureState as? PictureState.Failed)?.problem?.kind == Problem.Kind.PictureUnusable
        return ConversationContent(
            picture = picture,
            source = args?.source ?: PictureSource.Camera,
            turns = turns,
            question = handle.get<String>(QUESTION) ?: "",
            status = status,
            modelLoading = loading.takeIf { phase == Phase.Preparing },
            notice = notice,
            isSpeaking = narrator.isSpeaking.value,
            announcement = narrator.announcement.value,
            focus = focus,
            canAsk = args != null && phase !is Phase.Answering && !unusable,
        )
    }

    private fun publish() {
        val c = content()
        val p = phase
        state.value = when {
            args == null -> ConversationUiState.Empty(c)
            p == Phase.Preparing -> ConversationUiState.Preparing(c)
            p == Phase.Ready -> ConversationUiState.Ready(c)
            p is Phase.Answering -> ConversationUiState.Answering(
                c, p.turnId, turns.firstOrNull { it.id == p.turnId }?.status == Turn.Status.Waiting,
            )
            p is Phase.Failed -> ConversationUiState.Failed(c, p.problem)
            else -> ConversationUiState.Empty(c)
        }
    }

    companion object {
        /** Silence after which the person hears that the model is still working (issue 27: "never silent"). */
        const val STILL_WORKING_MS = 4_000L
        private const val KEY = "conversation.key"
        private const val PICTURE = "conversation.picture"
        private const val SAVED_ID = "conversation.savedId"
        private const val QUESTION = "conversation.question"
    }
}
