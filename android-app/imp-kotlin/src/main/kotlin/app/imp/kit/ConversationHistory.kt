package app.imp.kit

import java.io.Closeable
import app.imp.ffi.ConversationHistory as FfiConversationHistory
import app.imp.ffi.SavedConversation as FfiSavedConversation
import app.imp.ffi.SavedTurn as FfiSavedTurn
import app.imp.ffi.TurnTimings as FfiTurnTimings

/**
 * The person's past conversations, kept by the core in one format for both
 * apps: each write is atomic, a damaged entry is skipped, the oldest go past
 * [maxBytes].
 */
class ConversationHistory private constructor(private val history: FfiConversationHistory) : Closeable {
    companion object {
        fun open(dir: String, maxBytes: Long = 200L shl 20): ConversationHistory =
            ConversationHistory(mapErrors { FfiConversationHistory.open(dir, maxBytes.toULong()) })
    }

    /** A new conversation about [picture] (a small thumbnail is kept). */
    suspend fun create(modelId: String, picture: Picture): SavedConversation =
        io { SavedConversation.from(history.create(modelId, picture.toFfi())) }

    suspend fun appendTurn(id: String, turn: SavedTurn): SavedConversation =
        io { SavedConversation.from(history.appendTurn(id, turn.toFfi())) }

    /** [limit] conversations from [offset], most recently used first. */
    suspend fun list(offset: Int = 0, limit: Int = 50): HistoryPage = io {
        val page = history.list(offset.toUInt(), limit.toUInt())
        HistoryPage(
            items = page.items.map {
                ConversationSummary(
                    id = it.id,
                    modelId = it.modelId,
                    createdAtMs = it.createdAtMs.toLong(),
                    updatedAtMs = it.updatedAtMs.toLong(),
                    turnCount = it.turnCount.toInt(),
                    firstQuestion = it.firstQuestion,
                    lastAnswer = it.lastAnswer,
                )
            },
            total = page.total.toInt(),
            skipped = page.skipped.toInt(),
        )
    }

    suspend fun load(id: String): SavedConversation = io { SavedConversation.from(history.load(id)) }

    /** The conversation's picture, small, as JPEG bytes. */
    suspend fun thumbnail(id: String): ByteArray = io { history.thumbnail(id) }

    suspend fun delete(id: String) = io { history.delete(id) }

    suspend fun deleteAll() = io { history.deleteAll() }

    override fun close() = history.close()
}

data class SavedTurn(
    val question: String,
    val answer: String,
    /** How the answer ended: `eos`, `max_tokens`, `context_full` or `cancelled`. */
    val stopReason: String,
    val askedAtMs: Long,
    val visionMs: Double = 0.0,
    val prefillTokens: Int = 0,
    val prefillMs: Double = 0.0,
    val decodeTokens: Int = 0,
    val decodeMs: Double = 0.0,
) {
    internal fun toFfi() = FfiSavedTurn(
        question,
        answer,
        stopReason,
        askedAtMs.toULong(),
        FfiTurnTimings(visionMs, prefillTokens.toULong(), prefillMs, decodeTokens.toULong(), decodeMs),
    )

    companion object {
        /** The turn an answer made, as the history keeps it. */
        fun of(question: String, finished: AnswerEvent.Finished, askedAtMs: Long) = SavedTurn(
            question = question,
            answer = finished.text,
            stopReason = when (finished.stopReason) {
                StopReason.END_OF_ANSWER -> "eos"
                StopReason.MAX_TOKENS -> "max_tokens"
                StopReason.CONTEXT_FULL -> "context_full"
                StopReason.CANCELLED -> "cancelled"
            },
            askedAtMs = askedAtMs,
            visionMs = finished.visionMs,
            prefillTokens = finished.prefillTokens,
            prefillMs = finished.prefillMs,
            decodeTokens = finished.decodeTokens,
            decodeMs = finished.decodeMs,
        )

        internal fun from(t: FfiSavedTurn) = SavedTurn(
            question = t.question,
            answer = t.answer,
            stopReason = t.stopReason,
            askedAtMs = t.askedAtMs.toLong(),
            visionMs = t.timings.visionMs,
            prefillTokens = t.timings.prefillTokens.toInt(),
            prefillMs = t.timings.prefillMs,
            decodeTokens = t.timings.decodeTokens.toInt(),
            decodeMs = t.timings.decodeMs,
        )
    }
}

data class SavedConversation(
    val id: String,
    val modelId: String,
    val createdAtMs: Long,
    val updatedAtMs: Long,
    val turns: List<SavedTurn>,
) {
    internal companion object {
        fun from(c: FfiSavedConversation) = SavedConversation(
            id = c.id,
            modelId = c.modelId,
            createdAtMs = c.createdAtMs.toLong(),
            updatedAtMs = c.updatedAtMs.toLong(),
            turns = c.turns.map(SavedTurn::from),
        )
    }
}

data class ConversationSummary(
    val id: String,
    val modelId: String,
    val createdAtMs: Long,
    val updatedAtMs: Long,
    val turnCount: Int,
    val firstQuestion: String?,
    val lastAnswer: String?,
)

data class HistoryPage(val items: List<ConversationSummary>, val total: Int, val skipped: Int)
