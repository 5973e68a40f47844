package app.imp.kit

import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.channels.Channel
import java.io.File
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** Runs against the host-built library on the fixture models (tests/fixtures). */
class ImpEngineTest {
    private val fixtures = File(System.getProperty("imp.fixtures") ?: error("set -Dimp.fixtures"))
    private val model = File(fixtures, "tiny-imp-196-msft").path
    private val photo = Picture.File(File(fixtures, "images/photo.png").path)

    @AfterTest
    fun nothingIsLeftRunning() = assertNothingLeftRunning()

    /** The reference's greedy ids for a fixture model (golden/<name>.json). */
    private fun golden(key: String, name: String = "tiny-imp-196-msft"): List<Int> {
        val json = File(fixtures, "golden/$name.json").readText()
        val list = Regex("\"$key\": \\[([^\\]]*)\\]").find(json)!!.groupValues[1]
        return list.split(",").map { it.trim().toInt() }
    }

    @Test
    fun loadsWithProgressAndDescribesTheModel() = runBlocking {
        val progress = mutableListOf<Float>()
        ImpEngine.load(model) { progress += it }.use { engine ->
            assertEquals(1.0f, progress.last())
            assertTrue(progress.zipWithNext().all { (a, b) -> a <= b })
            val details = engine.details
            assertEquals(196, details.imageTokens)
            assertEquals("bf16", details.weightsDtype)
            assertEquals(details, ImpEngine.inspect(model).copy(contextLength = details.contextLength))
            assertTrue(details.fitsIn(details.estimatedMemoryBytes))
        }
    }

    @Test
    fun runsAModelAtASmallerImageSize() = runBlocking {
        val model384 = File(fixtures, "tiny-imp-384").path
        ImpEngine.load(model384, EngineOptions(imageSize = 196)).use { engine ->
            assertEquals(196, engine.details.imageSize)
            assertEquals(196, engine.details.imageTokens)
            engine.startConversation(photo).use { chat ->
                val events = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 2)).toList()
                assertEquals(41 + 196, (events.last() as AnswerEvent.Finished).prefillTokens)
            }
        }
    }

    @Test
    fun streamsTheReferenceAnswerThenAFollowUp() = runBlocking {
        ImpEngine.load(model).use { engine ->
            engine.startConversation(photo).use { chat ->
                val events = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 16)).toList()
                val tokens = events.filterIsInstance<AnswerEvent.Token>()
                assertEquals(golden("greedy_ids"), tokens.map { it.id })
                val done = events.last() as AnswerEvent.Finished
                assertEquals(StopReason.MAX_TOKENS, done.stopReason)
                assertEquals(tokens.joinToString("") { it.text } + done.tail, done.text)
                assertEquals(41 + 196, done.prefillTokens)
                // The 16th token is sampled but not yet run through the model.
                assertEquals(41 + 196 + 15, chat.contextUsed)

                val followUp = chat.ask("Describe the colours, please.", AnswerSettings(maxTokens = 8))
                    .filterIsInstance<AnswerEvent.Token>().map { it.id }.toList()
                assertEquals(golden("followup_greedy_ids"), followUp)
            }
        }
    }

    /** Imp-2B (Qwen1.5) and Imp-4B (Phi-3) fixtures behind the same API. */
    @Test
    fun qwen2AndPhi3ModelsAnswerAsTheReference() = runBlocking {
        for ((name, variant) in listOf("tiny-imp-qwen2" to "imp-qwen2", "tiny-imp-phi3" to "imp-phi3")) {
            ImpEngine.load(File(fixtures, name).path).use { engine ->
                assertEquals(variant, engine.details.variant)
                engine.startConversation(photo).use { chat ->
                    val first = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 16))
                        .filterIsInstance<AnswerEvent.Token>().map { it.id }.toList()
                    assertEquals(golden("greedy_ids", name), first, name)
                    val followUp = chat.ask("Describe the colours, please.", AnswerSettings(maxTokens = 8))
                        .filterIsInstance<AnswerEvent.Token>().map { it.id }.toList()
                    assertEquals(golden("followup_greedy_ids", name), followUp, name)
                }
            }
        }
    }

    @Test
    fun cancellingTheCollectorStopsTheAnswerAndFreesTheEngine() = runBlocking {
        ImpEngine.load(model).use { engine ->
            engine.startConversation(photo).use { chat ->
                val firstThree = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 200))
                    .take(3).toList()
                assertEquals(3, firstThree.size)
                // The flow completed only after the engine stopped: asking again works at once.
                val next = chat.ask("And?", AnswerSettings(maxTokens = 2)).toList()
                assertEquals(StopReason.MAX_TOKENS, (next.last() as AnswerEvent.Finished).stopReason)
            }
        }
    }

    @Test
    fun everyErrorIsReachable() = runBlocking {
        assertFailsWith<ImpException.ModelUnusable> { ImpEngine.load(File(fixtures, "images").path) }
        assertFailsWith<ImpException.OutOfMemory> {
            ImpEngine.load(model, EngineOptions(availableMemoryBytes = 1024))
        }
        // Cancelled: the coroutine that loads is cancelled.
        val loading = async { ImpEngine.load(model) { Thread.sleep(20) } }
        loading.cancel()
        assertTrue(runCatching { loading.await() }.exceptionOrNull() is kotlinx.coroutines.CancellationException)

        ImpEngine.load(model, EngineOptions(contextLength = 240)).use { engine ->
            assertFailsWith<ImpException.ImageUnusable> {
                engine.startConversation(Picture.Encoded(byteArrayOf(1, 2, 3)))
            }
            assertFailsWith<ImpException.ImageUnusable> {
                engine.startConversation(Picture.Rgba(2, 2, ByteArray(3)))
            }
            engine.startConversation(photo).use { chat ->
                // 41 prompt tokens + 196 image tokens leave 3 of 240 positions.
                val short = chat.ask("What is in this picture?", AnswerSettings(maxTokens = 50)).toList()
                assertEquals(StopReason.CONTEXT_FULL, (short.last() as AnswerEvent.Finished).stopReason)
                assertFailsWith<ImpException.InputTooLong> { chat.ask("And now?").toList() }
                assertFailsWith<ImpException.Internal> { chat.ask("q", AnswerSettings(topP = 2f)).toList() }
            }
        }

        ImpEngine.load(model).use { engine ->
            val chatA = engine.startConversation(photo)
            val chatB = engine.startConversation(photo)
            val started = Channel<Unit>(1)
            val long = launch {
                chatA.ask("What is in this picture?", AnswerSettings(maxTokens = 100_000)).collect { started.trySend(Unit) }
            }
            started.receive()
            assertFailsWith<ImpException.Busy> { chatB.ask("Me too?").first() }
            long.cancel()
            long.join()
            chatA.close()
            chatB.close()
        }
    }

    @Test
    fun closingReleasesTheModel() = runBlocking {
        // A load cancelled by another test may still be unwinding on its thread.
        awaitLiveEngines(0)
        val engine = ImpEngine.load(model)
        val chat = engine.startConversation(photo)
        assertEquals(1, ImpEngine.liveEngineCount())
        engine.close()
        assertEquals(1, ImpEngine.liveEngineCount(), "the conversation still holds the model")
        chat.close()
        assertEquals(0, ImpEngine.liveEngineCount())
    }

    private fun awaitLiveEngines(count: Long) {
        val deadline = System.nanoTime() + 10_000_000_000
        while (ImpEngine.liveEngineCount() != count && System.nanoTime() < deadline) Thread.sleep(10)
        assertEquals(count, ImpEngine.liveEngineCount())
    }
}
