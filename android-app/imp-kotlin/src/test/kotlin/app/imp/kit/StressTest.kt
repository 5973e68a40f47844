package app.imp.kit

import app.imp.ffi.AnswerListener
import app.imp.ffi.AnswerSummary
import app.imp.ffi.GenerationParams
import app.imp.ffi.ImageSource
import app.imp.ffi.ImpFfiException
import app.imp.ffi.TokenEvent
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import app.imp.ffi.ImpConversation as FfiConversation
import app.imp.ffi.loadEngine as ffiLoadEngine

/**
 * The wrapper under stress and misuse: what it adds over the facade (flows that
 * complete only once the engine has stopped, closing, a throwing progress
 * callback) and what an app's own code can do to it. After every test no
 * engine is alive and no native thread of the core is left.
 */
class StressTest {
    private val fixtures = File(System.getProperty("imp.fixtures") ?: error("set -Dimp.fixtures"))
    private val model = File(fixtures, "tiny-imp-196-msft").path
    private val photo = Picture.File(File(fixtures, "images/photo.png").path)

    @AfterTest
    fun nothingIsLeftRunning() = assertNothingLeftRunning()

    /**
     * Two hundred questions cancelled at varying points by the collector
     * (take(n)); each flow completes only once the engine has stopped, so the
     * next question never meets Busy.
     */
    @Test
    fun askAndCancelCyclesNeverFindTheEngineBusy() = runBlocking<Unit> {
        ImpEngine.load(model, EngineOptions(threads = 1)).use { engine ->
            var chat = engine.startConversation(photo)
            repeat(200) { cycle ->
                if (chat.contextUsed + 64 > engine.details.contextLength) {
                    chat.close()
                    chat = engine.startConversation(photo)
                }
                val n = cycle % 4 + 1
                val events = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 1000)).take(n).toList()
                assertEquals(n, events.size, "cycle $cycle")
            }
            chat.close()
        }
    }

    /** Calls after close are a clear IllegalStateException, never a crash. */
    @Test
    fun callsOnAClosedEngineOrConversationFailClearly() = runBlocking<Unit> {
        val engine = ImpEngine.load(model)
        val chat = engine.startConversation(photo)
        chat.close()
        chat.close()
        val asked = assertFailsWith<IllegalStateException> { chat.ask("Still there?").toList() }
        assertTrue(asked.message.orEmpty().contains("destroyed"), asked.message)
        assertFailsWith<IllegalStateException> { chat.contextUsed }
        engine.close()
        engine.close()
        assertFailsWith<IllegalStateException> { engine.startConversation(photo) }
        assertFailsWith<IllegalStateException> { engine.details }
    }

    /**
     * Closing the engine, then the conversation, while an answer streams: the
     * answer goes on to its end, and the model is released after it.
     */
    @Test
    fun closingWhileAnAnswerStreamsLetsItFinish() = runBlocking<Unit> {
        val engine = ImpEngine.load(model)
        val chat = engine.startConversation(photo)
        val firstToken = Channel<Unit>(1)
        val answer = async {
            chat.ask("What is in this picture?", AnswerSettings(maxTokens = 30))
                .onEach { firstToken.trySend(Unit) }
                .toList()
        }
        firstToken.receive()
        engine.close()
        assertEquals(1, ImpEngine.liveEngineCount(), "the conversation holds the model")
        chat.close()
        val events = answer.await()
        assertEquals(StopReason.MAX_TOKENS, (events.last() as AnswerEvent.Finished).stopReason)
        assertEquals(30, events.filterIsInstance<AnswerEvent.Token>().size)
    }

    /**
     * The app's own code throwing while it collects an answer: the exception
     * reaches the app, the answer is cancelled, and the engine is free at once.
     */
    @Test
    fun aCollectorThatThrowsCancelsTheAnswer() = runBlocking<Unit> {
        ImpEngine.load(model).use { engine ->
            engine.startConversation(photo).use { chat ->
                val thrown = runCatching {
                    chat.ask("What is in this picture?", AnswerSettings(maxTokens = 1000)).collect { event ->
                        if (event is AnswerEvent.Token) throw IllegalArgumentException("the app's bug")
                    }
                }.exceptionOrNull()
                assertIs<IllegalArgumentException>(thrown)
                val next = chat.ask("And?", AnswerSettings(maxTokens = 2)).toList()
                assertEquals(StopReason.MAX_TOKENS, (next.last() as AnswerEvent.Finished).stopReason)
            }
        }
    }

    /** A progress callback that throws stops the load; its exception comes out of load(). */
    @Test
    fun aProgressCallbackThatThrowsStopsTheLoad() = runBlocking<Unit> {
        val thrown = runCatching {
            ImpEngine.load(model) { fraction -> if (fraction > 0f) throw IllegalStateException("progress bar gone") }
        }.exceptionOrNull()
        assertIs<IllegalStateException>(thrown)
        assertEquals("progress bar gone", thrown.message)
        // And the next load works.
        ImpEngine.load(model).use { assertEquals(196, it.details.imageTokens) }
    }

    /**
     * A listener implemented against the generated bindings that throws from
     * onToken: the exception crosses into native code, which stops the answer
     * and reports Internal through onError; the conversation goes on. Each
     * answer's handle is held until its last event: closing it cancels.
     */
    @Test
    fun aThrowingFfiListenerIsReportedNotFatal() = runBlocking<Unit> {
        val engine = ffiLoadEngine(model, app.imp.ffi.EngineOptions(null, null, null, null), null, null)
        val chat: FfiConversation = engine.startConversation(ImageSource.File(File(fixtures, "images/photo.png").path))
        val events = LinkedBlockingQueue<Any>()
        val throwing = object : AnswerListener {
            override fun onToken(token: TokenEvent) {
                events.put(token)
                throw RuntimeException("listener bug")
            }
            override fun onDone(summary: AnswerSummary) { events.put(summary) }
            override fun onError(error: ImpFfiException) { events.put(error) }
        }
        val params = GenerationParams(50u, 0f, null, null, 1f, 1u, 0u)
        chat.ask("What is in this picture?", params, throwing).use {
            assertIs<TokenEvent>(events.poll(60, TimeUnit.SECONDS))
            val last = events.poll(60, TimeUnit.SECONDS)
            assertIs<ImpFfiException.Internal>(last)
            assertTrue(last.reason.contains("listener"), last.reason)
            assertEquals(null, events.poll(200, TimeUnit.MILLISECONDS), "nothing after the last event")
        }

        val quiet = LinkedBlockingQueue<Any>()
        val fine = object : AnswerListener {
            override fun onToken(token: TokenEvent) {}
            override fun onDone(summary: AnswerSummary) { quiet.put(summary) }
            override fun onError(error: ImpFfiException) { quiet.put(error) }
        }
        chat.ask("And?", GenerationParams(3u, 0f, null, null, 1f, 1u, 0u), fine).use {
            assertEquals(3u, assertIs<AnswerSummary>(quiet.poll(60, TimeUnit.SECONDS)).decodeTokens)
        }
        chat.close()
        engine.close()
    }
}
