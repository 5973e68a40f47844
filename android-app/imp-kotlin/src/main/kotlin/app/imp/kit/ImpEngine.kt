package app.imp.kit

import app.imp.ffi.AnswerListener
import app.imp.ffi.AnswerSummary
import app.imp.ffi.CancelHandle
import app.imp.ffi.ImpFfiException
import app.imp.ffi.LoadListener
import app.imp.ffi.TokenEvent
import app.imp.ffi.inspectModel
import app.imp.ffi.liveEngines
import app.imp.ffi.loadEngine
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext
import java.io.Closeable
import java.util.concurrent.atomic.AtomicReference
import app.imp.ffi.EngineOptions as FfiEngineOptions
import app.imp.ffi.GenerationParams as FfiGenerationParams
import app.imp.ffi.ImageSource as FfiImageSource
import app.imp.ffi.ImpConversation as FfiConversation
import app.imp.ffi.ImpEngine as FfiEngine

/**
 * A loaded Imp model. Load with [ImpEngine.load]; close to release its memory
 * (conversations keep it alive until they are closed too, and an answer that
 * is streaming goes on to its end). Any call after [close] throws
 * [IllegalStateException]; closing twice is harmless.
 */
class ImpEngine private constructor(private val engine: FfiEngine) : Closeable {
    companion object {
        /**
         * Loads a model directory on a worker thread. Cancelling the calling
         * coroutine stops the load between layers.
         */
        suspend fun load(
            modelPath: String,
            options: EngineOptions = EngineOptions(),
            onProgress: (Float) -> Unit = {},
        ): ImpEngine {
            val cancel = CancelHandle()
            // What onProgress threw: it stops the load (as a cancel) and is
            // rethrown from here, instead of crossing into native code.
            val failure = AtomicReference<Throwable?>(null)
            val report = onProgress
            val listener = object : LoadListener {
                override fun onProgress(fraction: Float) {
                    if (failure.get() != null) return
                    try {
                        report(fraction)
                    } catch (e: Throwable) {
                        failure.compareAndSet(null, e)
                        cancel.cancel()
                    }
                }
            }
            try {
                return ImpEngine(mapErrors { loadEngine(modelPath, options.toFfi(), listener, cancel) })
            } catch (e: CancellationException) {
                cancel.cancel()
                throw e
            } catch (e: ImpException.Cancelled) {
                throw failure.get() ?: e
            } finally {
                cancel.close()
            }
        }

        /** What a model is and needs, without loading its weights. */
        fun inspect(modelPath: String): ModelDetails = mapErrors { ModelDetails.from(inspectModel(modelPath)) }

        /** Engines whose memory is still held in this process. */
        fun liveEngineCount(): Long = liveEngines().toLong()
    }

    /** What is loaded (it does not change). */
    val details: ModelDetails by lazy { mapErrors { ModelDetails.from(engine.info()) } }

    /** Encodes the picture (seconds on a phone, off the caller's thread). */
    suspend fun startConversation(picture: Picture): Conversation =
        Conversation(mapErrors { engine.startConversation(picture.toFfi()) })

    override fun close() = engine.close()
}

/**
 * Questions about one picture; follow-ups reuse it and the earlier turns.
 * Closing it while an answer streams lets that answer finish; asking after
 * [close] fails with [IllegalStateException].
 */
class Conversation internal constructor(private val conversation: FfiConversation) : Closeable {
    /**
     * The answer as a cold flow of [AnswerEvent]s, ending with [AnswerEvent.Finished].
     * Cancelling the collector cancels the generation; the flow completes only once
     * the engine has stopped, so the next question can be asked at once. Asking
     * while another answer of the same engine is streaming fails with
     * [ImpException.Busy].
     */
    fun ask(question: String, settings: AnswerSettings = AnswerSettings()): Flow<AnswerEvent> = callbackFlow {
        val stopped = CompletableDeferred<Unit>()
        val listener = object : AnswerListener {
            override fun onToken(token: TokenEvent) {
                trySend(AnswerEvent.Token.from(token))
            }

            override fun onDone(summary: AnswerSummary) {
                trySend(AnswerEvent.Finished.from(summary))
                stopped.complete(Unit)
                close()
            }

            override fun onError(error: ImpFfiException) {
                stopped.complete(Unit)
                close(ImpException.from(error))
            }
        }
        val handle = mapErrors { conversation.ask(question, settings.toFfi(), listener) }
        try {
            awaitClose()
        } finally {
            handle.cancel()
            withContext(NonCancellable) { stopped.await() }
            handle.close()
        }
    }.buffer(Channel.UNLIMITED) // tokens come from a native thread that cannot suspend

    /** Context positions used so far. */
    val contextUsed: Int get() = conversation.contextUsed().toInt()

    override fun close() = conversation.close()
}

data class EngineOptions(
    /** Inference threads; null means one per physical core. */
    val threads: Int? = null,
    /** Fewer context positions than the model allows, to save memory. */
    val contextLength: Int? = null,
    /** Another vision input size than the model's (e.g. 196 on a 384-px model: faster, less accurate). */
    val imageSize: Int? = null,
    /** Free memory the app can spare; a bigger model fails with [ImpException.OutOfMemory]. */
    val availableMemoryBytes: Long? = null,
) {
    internal fun toFfi() = FfiEngineOptions(
        threads = threads?.toUInt(),
        contextLength = contextLength?.toUInt(),
        imageSize = imageSize?.toUInt(),
        availableMemoryBytes = availableMemoryBytes?.toULong(),
    )
}

data class AnswerSettings(
    val maxTokens: Int = 256,
    /** 0 is greedy decoding, the reference setting. */
    val temperature: Float = 0f,
    val topK: Int? = null,
    val topP: Float? = null,
    val repetitionPenalty: Float = 1f,
    val seed: Long = 299_792_458,
    /** How many most likely tokens to report per step. */
    val logprobs: Int = 0,
) {
    internal fun toFfi() = FfiGenerationParams(
        maxNewTokens = maxTokens.toUInt(),
        temperature = temperature,
        topK = topK?.toUInt(),
        topP = topP,
        repetitionPenalty = repetitionPenalty,
        seed = seed.toULong(),
        logprobs = logprobs.toUInt(),
    )
}

/** Where the picture comes from. */
sealed interface Picture {
    /** JPEG, PNG, WebP, GIF or BMP bytes. */
    class Encoded(val bytes: ByteArray) : Picture

    class File(val path: String) : Picture

    /** Pixels the platform decoded: 8-bit RGBA rows without padding. */
    class Rgba(val width: Int, val height: Int, val pixels: ByteArray) : Picture

    fun toFfi(): FfiImageSource = when (this) {
        is Encoded -> FfiImageSource.Encoded(bytes)
        is File -> FfiImageSource.File(path)
        is Rgba -> FfiImageSource.Rgba(width.toUInt(), height.toUInt(), pixels)
    }
}

data class ModelDetails(
    val variant: String,
    val weightsDtype: String,
    val imageSize: Int,
    val imageTokens: Int,
    val contextLength: Int,
    val parameterCount: Long,
    val estimatedMemoryBytes: Long,
) {
    fun fitsIn(availableMemoryBytes: Long) = estimatedMemoryBytes <= availableMemoryBytes

    internal companion object {
        fun from(info: app.imp.ffi.ModelInfo) = ModelDetails(
            variant = info.variant,
            weightsDtype = info.weightsDtype,
            imageSize = info.imageSize.toInt(),
            imageTokens = info.imageTokens.toInt(),
            contextLength = info.contextLength.toInt(),
            parameterCount = info.parameterCount.toLong(),
            estimatedMemoryBytes = info.estimatedMemoryBytes.toLong(),
        )
    }
}

enum class StopReason { END_OF_ANSWER, MAX_TOKENS, CONTEXT_FULL, CANCELLED }

sealed interface AnswerEvent {
    data class Token(val id: Int, val text: String, val topLogprobs: List<Pair<Int, Float>>) : AnswerEvent {
        internal companion object {
            fun from(t: TokenEvent) = Token(t.id.toInt(), t.text, t.topLogprobs.map { it.id.toInt() to it.logprob })
        }
    }

    data class Finished(
        /** The whole answer: the token texts followed by [tail]. */
        val text: String,
        /** Text released only at the end (bytes that never completed a character); usually empty. */
        val tail: String,
        val stopReason: StopReason,
        val visionMs: Double,
        val prefillTokens: Int,
        val prefillMs: Double,
        val decodeTokens: Int,
        val decodeMs: Double,
    ) : AnswerEvent {
        internal companion object {
            fun from(s: AnswerSummary) = Finished(
                text = s.text,
                tail = s.tail,
                stopReason = StopReason.valueOf(s.stopReason.name),
                visionMs = s.visionMs,
                prefillTokens = s.prefillTokens.toInt(),
                prefillMs = s.prefillMs,
                decodeTokens = s.decodeTokens.toInt(),
                decodeMs = s.decodeMs,
            )
        }
    }
}

/** What went wrong, one subclass per thing an app does differently; messages can be shown to users. */
sealed class ImpException(message: String) : Exception(message) {
    class ModelUnusable(message: String) : ImpException(message)
    class ImageUnusable(message: String) : ImpException(message)
    class InputTooLong(message: String) : ImpException(message)
    class Cancelled : ImpException("Cancelled.")
    class OutOfMemory(message: String) : ImpException(message)
    class Busy : ImpException("Another answer is still being written.")
    class NoSpace(message: String) : ImpException(message)
    class NetworkFailed(message: String) : ImpException(message)
    class VerificationFailed(message: String) : ImpException(message)
    class NotDownloadable(message: String) : ImpException(message)
    class NotFound(message: String) : ImpException(message)

    /** What was typed into "Add a model" names no model; the message says what would. */
    class InvalidAddress(message: String) : ImpException(message)
    class Internal(message: String) : ImpException(message)

    internal companion object {
        fun from(e: ImpFfiException): ImpException = when (e) {
            is ImpFfiException.ModelUnusable -> ModelUnusable(e.reason)
            is ImpFfiException.ImageUnusable -> ImageUnusable(e.reason)
            is ImpFfiException.InputTooLong -> InputTooLong(e.reason)
            is ImpFfiException.Cancelled -> Cancelled()
            is ImpFfiException.OutOfMemory -> OutOfMemory(e.reason)
            is ImpFfiException.Busy -> Busy()
            is ImpFfiException.NoSpace -> NoSpace(e.reason)
            is ImpFfiException.NetworkFailed -> NetworkFailed(e.reason)
            is ImpFfiException.VerificationFailed -> VerificationFailed(e.reason)
            is ImpFfiException.NotDownloadable -> NotDownloadable(e.reason)
            is ImpFfiException.NotFound -> NotFound(e.reason)
            is ImpFfiException.InvalidAddress -> InvalidAddress(e.reason)
            is ImpFfiException.Internal -> Internal(e.reason)
        }
    }
}

internal inline fun <T> mapErrors(block: () -> T): T = try {
    block()
} catch (e: ImpFfiException) {
    throw ImpException.from(e)
}
