package app.imp.android.ui.history

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.imp.android.R
import app.imp.android.engine.ConversationArchive
import app.imp.android.engine.Problem
import app.imp.android.engine.ProblemContext
import app.imp.android.engine.Texts
import app.imp.android.pictures.PictureStore
import app.imp.android.speech.Announcer
import app.imp.android.ui.common.SpokenText
import app.imp.android.ui.conversation.QuickPrompt
import app.imp.kit.ConversationSummary
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * Past conversations from the core's history, most recently used first, a page
 * at a time. Opening one is the app's business (a conversation with the saved
 * id: its turns for reading, its picture encoded again for a follow-up); this
 * deletes one, or all after the person confirms, with the pictures kept for them.
 */
class HistoryViewModel(
    private val archive: ConversationArchive,
    private val pictures: PictureStore,
    private val texts: Texts,
    /** A model id as the person knows it (the catalogue's name). */
    private val modelName: (String) -> String,
    private val dateText: (Long) -> String,
) : ViewModel() {
    private val announcer = Announcer()
    private val state = MutableStateFlow<HistoryUiState>(HistoryUiState.Loading(null))
    val uiState: StateFlow<HistoryUiState> = state.asStateFlow()

    private var rows = listOf<HistoryRow>()
    private var total = 0
    private var skipped = 0
    private var confirmingDeleteAll = false
    private var problem: Problem? = null
    private var loaded = false

    /** The one page load under way: a refresh replaces it, a "load more" waits for it. */
    private var loading: Job? = null

    init {
        viewModelScope.launch { announcer.current.collect { publish() } }
    }

    /** Reads the first page (again, when the screen comes back from a conversation). */
    fun refresh() {
        // Two loads at once (a rotation while the first page loads) once appended the page twice.
        loading?.cancel()
        loading = viewModelScope.launch { loadPage(0) }
    }

    fun loadMore() {
        if (!canLoadMore || loading?.isActive == true) return
        loading = viewModelScope.launch { loadPage(rows.size) }
    }

    fun delete(id: String) {
        viewModelScope.launch {
            guarded {
                archive.delete(id)
                withContext(Dispatchers.IO) { pictures.remove(id) }
                rows = rows.filterNot { it.id == id }
                total = (total - 1).coerceAtLeast(0)
                announcer.say(texts.get(R.string.announce_conversation_deleted))
                if (rows.isEmpty() && canLoadMore) loadPage(0)
            }
            publish()
        }
    }

    fun askDeleteAll() {
        confirmingDeleteAll = true
        publish()
    }

    fun cancelDeleteAll() {
        confirmingDeleteAll = false
        publish()
    }

    fun confirmDeleteAll() {
        confirmingDeleteAll = false
        viewModelScope.launch {
            guarded {
                archive.deleteAll()
                withContext(Dispatchers.IO) { pictures.removeAll() }
                rows = emptyList()
                total = 0
                skipped = 0
                announcer.say(texts.get(R.string.announce_all_conversations_deleted))
            }
            publish()
        }
    }

    private val canLoadMore: Boolean get() = rows.size + skipped < total

    private suspend fun loadPage(offset: Int) {
        guarded {
            val page = archive.list(offset, PAGE_SIZE)
            total = page.total
            skipped = page.skipped
            // The page replaces what was at its place; a conversation moved up meanwhile is listed once.
            rows = (rows.take(offset) + page.items.map { row(it, thumbnail(it.id)) }).distinctBy { it.id }
            loaded = true
        }
        publish()
    }

    /** The row's small picture; a conversation whose thumbnail cannot be read still shows. */
    private suspend fun thumbnail(id: String): ByteArray? = try {
        archive.thumbnail(id)
    } catch (e: CancellationException) {
        throw e
    } catch (e: Exception) {
        null
    }

    private suspend fun guarded(work: suspend () -> Unit) {
        try {
            work()
            problem = null
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            val p = Problem.from(e, ProblemContext.History, texts)
            problem = p
            announcer.say(p.announcement, interrupting = true)
        }
    }

    private fun row(s: ConversationSummary, thumbnail: ByteArray?): HistoryRow {
        val title = s.firstQuestion?.let(::shortTitle) ?: texts.get(R.string.history_no_question)
        val answer = s.lastAnswer?.take(ANSWER_PREVIEW).orEmpty()
        val questions = if (s.turnCount == 1) texts.get(R.string.history_one_question) else texts.get(R.string.history_questions, s.turnCount)
        val date = dateText(s.updatedAtMs)
        val model = modelName(s.modelId)
        return HistoryRow(
            id = s.id,
            title = title,
            answer = answer,
            detail = "$questions, $model",
            date = date,
            spoken = SpokenText.sentences(
                listOf(title, if (answer.isEmpty()) "" else texts.get(R.string.history_answer, answer), questions, model, date),
            ),
            thumbnail = thumbnail,
        )
    }

    /** The one-tap questions by their button's name, typed ones as asked. */
    private fun shortTitle(question: String): String = when (question) {
        QuickPrompt.Describe.question -> texts.get(R.string.action_describe)
        QuickPrompt.ReadText.question -> texts.get(R.string.action_read_text)
        else -> question
    }

    private fun publish() {
        val announcement = announcer.current.value
        state.value = when {
            problem != null && rows.isEmpty() -> HistoryUiState.Failed(problem!!, announcement)
            !loaded -> HistoryUiState.Loading(announcement)
            rows.isEmpty() -> HistoryUiState.Empty(announcement)
            else -> HistoryUiState.Loaded(rows, canLoadMore, confirmingDeleteAll, problem, announcement)
        }
    }

    companion object {
        const val PAGE_SIZE = 30
        private const val ANSWER_PREVIEW = 140
    }
}
