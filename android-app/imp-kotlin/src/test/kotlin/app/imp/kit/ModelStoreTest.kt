package app.imp.kit

import com.sun.net.httpserver.HttpServer
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.last
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import java.io.File
import java.net.InetSocketAddress
import java.nio.file.Files
import java.security.MessageDigest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** The store, history and benchmark through the Kotlin wrapper, on the host-built core. */
class ModelStoreTest {
    private val fixtures = File(System.getProperty("imp.fixtures") ?: error("set -Dimp.fixtures"))
    private val gguf = File(System.getProperty("imp.gguf") ?: error("set -Dimp.gguf (a converted fixture)"))
    private val dir = Files.createTempDirectory("imp-store").toFile()

    private fun sha256(bytes: ByteArray) =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    /** Serves [bytes] at /tiny.gguf, [delayMs] between 4 kB chunks. */
    private fun serve(bytes: ByteArray, delayMs: Long = 0): HttpServer =
        HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
            createContext("/tiny.gguf") { exchange ->
                exchange.sendResponseHeaders(200, bytes.size.toLong())
                runCatching {
                    exchange.responseBody.use { out ->
                        bytes.asList().chunked(4096).forEach { chunk ->
                            out.write(chunk.toByteArray())
                            if (delayMs > 0) Thread.sleep(delayMs)
                        }
                    }
                }
            }
            start()
        }

    @Test
    fun theCatalogueAndTheFitVerdicts() = runBlocking<Unit> {
        ModelStore.open(File(dir, "store").path).use { store ->
            val ids = store.catalog.map { it.id }
            assertEquals(listOf("imp-3b-196", "imp-3b", "imp-2b", "imp-4b"), ids)
            assertTrue(store.catalog.all { it.files.isEmpty() && it.howToGet!!.contains("Hugging Face hub") })
            val phone6 = DeviceProfile(6_000_000_000, null, 64_000_000_000)
            val fits = store.deviceFit(phone6).associate { it.catalogId to it.verdict }
            assertEquals(FitVerdict.TIGHT, fits["imp-3b-196"])
            assertEquals(FitVerdict.FITS, fits["imp-2b"])
            assertEquals(FitVerdict.DOES_NOT_FIT, fits["imp-4b"])
            val err = assertFailsWith<ImpException.NotDownloadable> {
                store.download(DownloadSource.Catalog("imp-2b")).toList()
            }
            assertTrue(err.message!!.contains("Hugging Face hub"))
        }
    }

    @Test
    fun downloadsWithProgressVerifiesAndRemoves() = runBlocking<Unit> {
        val bytes = gguf.readBytes()
        val server = serve(bytes)
        try {
            ModelStore.open(File(dir, "store").path).use { store ->
                val url = "http://127.0.0.1:${server.address.port}/tiny.gguf"
                val events = store.download(DownloadSource.Url(url, sha256(bytes), id = "tiny")).toList()
                val installed = (events.last() as TransferEvent.Installed).model
                assertTrue(installed.verified)
                assertEquals(bytes.size.toLong(), events.filterIsInstance<TransferEvent.Progress>().last().doneBytes)
                assertEquals("q8_0", installed.details!!.weightsDtype)
                assertEquals(listOf("tiny"), store.installed().map { it.id })
                val check = store.verify("tiny").last() as TransferEvent.Verified
                assertTrue(check.ok)
                store.remove("tiny")
                assertTrue(store.installed().isEmpty())

                val wrong = "0".repeat(64)
                assertFailsWith<ImpException.VerificationFailed> {
                    store.download(DownloadSource.Url(url, wrong, id = "tiny")).toList()
                }
                assertTrue(store.pendingDownloads().isEmpty())
            }
        } finally {
            server.stop(0)
        }
    }

    @Test
    fun aCancelledDownloadStopsAndResumesLater() = runBlocking<Unit> {
        val bytes = gguf.readBytes()
        val server = serve(bytes, delayMs = 5)
        try {
            ModelStore.open(File(dir, "store").path).use { store ->
                val url = "http://127.0.0.1:${server.address.port}/tiny.gguf"
                // Collect until some bytes arrived, then stop collecting: the download is cancelled.
                store.download(DownloadSource.Url(url, id = "tiny"))
                    .filterIsInstance<TransferEvent.Progress>()
                    .first { it.doneBytes > 0 }
                val pending = store.pendingDownloads().single()
                assertEquals("tiny", pending.id)
                assertTrue(pending.doneBytes in 1 until bytes.size)
                assertTrue(store.installed().isEmpty())
                store.discardDownload("tiny")
                assertTrue(store.pendingDownloads().isEmpty())
            }
        } finally {
            server.stop(0)
        }
    }

    /**
     * The phone-only first run through the wrapper, on the real core and the
     * loopback hub tests/kotlin.sh starts (imp-test-hub serving the sharded
     * 384-px fixture as the catalogue's imp-3b repository).
     */
    @Test
    fun aCatalogueModelIsMadeFromTheHubAndAnswers() = runBlocking<Unit> {
        val hub = System.getProperty("imp.hub") ?: error("set -Dimp.hub (tests/kotlin.sh starts one)")
        ModelStore.open(File(dir, "hub-store").path, hubEndpoint = hub).use { store ->
            // Stopped after the first progress: nothing is listed, and the
            // next try goes on.
            store.installFromHub("imp-3b").filterIsInstance<InstallEvent.Progress>().first()
            assertTrue(store.installed().isEmpty())
            val events = store.installFromHub("imp-3b").toList()
            val progress = events.filterIsInstance<InstallEvent.Progress>()
            assertTrue(progress.zipWithNext().all { (a, b) -> a.fraction <= b.fraction })
            assertEquals(InstallStage.entries.toSet(), progress.map { it.stage }.toSet())
            assertEquals(1.0, progress.last().fraction)
            val model = (events.last() as InstallEvent.Installed).model
            assertTrue(model.verified && model.origin is ModelOrigin.Hub)
            assertEquals("imp-3b", model.catalogId)
            assertEquals(listOf("imp-3b"), store.installed().map { it.id })
            ImpEngine.load(model.path).use { engine -> assertEquals("q4_k", engine.details.weightsDtype) }
        }
    }

    /** "Add a model" through the wrapper: the repository's page, pasted, installs its model. */
    @Test
    fun aPastedRepositoryPageIsAddedAndNonsenseIsRefusedInWords() = runBlocking<Unit> {
        val hub = System.getProperty("imp.hub") ?: error("set -Dimp.hub (tests/kotlin.sh starts one)")
        ModelStore.open(File(dir, "add-store").path, hubEndpoint = hub).use { store ->
            val address = store.modelAddress(" $hub/MILVLG/Imp-v1.5-3B-Phi2 ")
            assertEquals(ModelAddress.HubRepo("MILVLG/Imp-v1.5-3B-Phi2"), address)
            val model = (store.addModel(address).toList().last() as InstallEvent.Installed).model
            assertEquals("imp-3b", model.catalogId)
            val refused = assertFailsWith<ImpException.InvalidAddress> { store.modelAddress("a cat") }
            assertTrue(refused.message!!.contains("repository"))
            assertFailsWith<ImpException.InvalidAddress> { store.modelAddress("https://example.org/m.gguf", "abc") }
        }
    }

    @Test
    fun importsAFileTheUserHas() = runBlocking<Unit> {
        ModelStore.open(File(dir, "store").path).use { store ->
            val model = (store.import(gguf.path).last() as TransferEvent.Installed).model
            assertEquals(gguf.nameWithoutExtension, model.id)
            assertTrue(model.origin is ModelOrigin.Import)
            ImpEngine.load(model.path).use { engine -> assertEquals("q8_0", engine.details.weightsDtype) }
            val notAModel = File(dir, "notes.gguf").apply { writeText("hello") }
            assertFailsWith<ImpException.ModelUnusable> { store.import(notAModel.path).toList() }
        }
    }

    @Test
    fun theHistoryKeepsConversations() = runBlocking<Unit> {
        ConversationHistory.open(File(dir, "history").path).use { history ->
            val picture = Picture.File(File(fixtures, "images/photo.png").path)
            val created = history.create("tiny", picture)
            val finished = AnswerEvent.Finished("A gradient.", "", StopReason.END_OF_ANSWER, 12.0, 236, 80.0, 3, 9.0)
            history.appendTurn(created.id, SavedTurn.of("What is this?", finished, askedAtMs = 1000))
            val page = history.list()
            assertEquals(1, page.total)
            assertEquals("What is this?", page.items.single().firstQuestion)
            val loaded = history.load(created.id)
            assertEquals("eos", loaded.turns.single().stopReason)
            assertEquals(236, loaded.turns.single().prefillTokens)
            val jpeg = history.thumbnail(created.id)
            assertEquals(0xFF.toByte(), jpeg[0])
            assertEquals(0xD8.toByte(), jpeg[1])
            history.delete(created.id)
            assertFailsWith<ImpException.NotFound> { history.load(created.id) }
        }
    }

    @Test
    fun theBenchmarkReportsEveryStageAndARecord() = runBlocking<Unit> {
        val events = Benchmark.run(
            BenchmarkTarget.Model(gguf.path),
            BenchmarkOptions(promptTokens = 8, genTokens = 2, repeat = 2, threads = 1),
        ).toList()
        val stages = events.filterIsInstance<BenchmarkEvent.Stage>().map { it.stage }
        assertTrue(stages.any { it is BenchmarkStage.Loading })
        assertEquals(listOf(0, 1), stages.filterIsInstance<BenchmarkStage.Run>().map { it.index })
        val record = (events.last() as BenchmarkEvent.Finished).record
        assertEquals(2, record.runs)
        assertTrue(record.genTokS > 0 && record.visionS > 0)
        assertTrue(record.ttftColdS > 0 && record.ttftAheadS > 0)
        assertTrue(record.kernels.isNotEmpty(), "kernels: ${record.kernels}")
        assertNotNull(Regex("\"gen_tok_s\"").find(record.json))
    }
}
