package app.imp.android

import app.imp.android.install.ModelFileCopy
import app.imp.android.pictures.ContentReader
import app.imp.kit.ImpException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.ByteArrayInputStream
import java.io.File
import java.io.IOException
import java.io.InputStream

/**
 * Issue 27, defect 7: importing a model file never writes into a model in use
 * (re-importing "tiny.gguf" once truncated the mapped file, which kills the
 * process with SIGBUS), checks the space first, and leaves nothing behind when
 * cancelled or failed.
 */
class ModelFileCopyTest {
    @get:Rule
    val temp = TemporaryFolder()

    /** Files another app offers, by URI: [bytes] under [name], failing after [failAfter] bytes if set. */
    private class Offered(val name: String, val bytes: ByteArray, val failAfter: Int? = null, val onRead: () -> Unit = {}) : ContentReader {
        override fun open(uri: String): InputStream = object : InputStream() {
            private val inner = ByteArrayInputStream(bytes)
            private var read = 0

            override fun read(): Int = throw UnsupportedOperationException()

            override fun read(b: ByteArray, off: Int, len: Int): Int {
                onRead()
                if (failAfter != null && read >= failAfter) throw IOException("the other app went away")
                return inner.read(b, off, minOf(len, 4096)).also { if (it > 0) read += it }
            }
        }

        override fun displayName(uri: String) = name

        override fun size(uri: String) = bytes.size.toLong()
    }

    private fun leftovers(dir: File) = dir.listFiles().orEmpty().map { it.name }.sorted()

    @Test
    fun reimportingTheSameNameNeverWritesIntoTheModelInUse() = runBlocking {
        val dir = temp.newFolder("imported")
        val inUse = File(dir, "tiny.gguf").apply { writeBytes(ByteArray(10_000) { 7 }) }
        val again = ByteArray(20_000) { 9 }
        val copy = ModelFileCopy(dir, Offered("tiny.gguf", again)) { Long.MAX_VALUE }.copy("content://x") { _, _ -> }
        assertEquals("tiny-2.gguf", copy.name)
        assertArrayEquals(again, copy.readBytes())
        assertArrayEquals(ByteArray(10_000) { 7 }, inUse.readBytes())
    }

    @Test
    fun notEnoughSpaceIsSaidBeforeAByteIsWritten() = runBlocking {
        val dir = temp.newFolder("imported")
        val err = runCatching {
            ModelFileCopy(dir, Offered("big.gguf", ByteArray(100_000))) { 50_000L }.copy("content://x") { _, _ -> }
        }.exceptionOrNull()
        assertTrue("$err", err is ImpException.NoSpace)
        assertEquals(emptyList<String>(), leftovers(dir))
    }

    @Test
    fun aFailedOrCancelledCopyLeavesNothing() = runBlocking {
        val dir = temp.newFolder("imported")
        val failed = runCatching {
            ModelFileCopy(dir, Offered("m.gguf", ByteArray(50_000), failAfter = 20_000)) { Long.MAX_VALUE }.copy("content://x") { _, _ -> }
        }.exceptionOrNull()
        assertTrue("$failed", failed is IOException)
        assertEquals(emptyList<String>(), leftovers(dir))

        var seen = 0L
        val job = async {
            ModelFileCopy(dir, Offered("m.gguf", ByteArray(200_000))) { Long.MAX_VALUE }.copy("content://x") { done, _ ->
                seen = done
                if (done >= 40_000) throw CancellationException("the person pressed Cancel")
            }
        }
        assertTrue(runCatching { job.await() }.exceptionOrNull() is CancellationException)
        assertTrue(seen in 40_000 until 200_000)
        assertEquals(emptyList<String>(), leftovers(dir))
    }

    @Test
    fun halfWrittenCopiesOfAKilledProcessAreRemoved() {
        val dir = temp.newFolder("imported")
        File(dir, ".m.gguf.123.partial").writeBytes(ByteArray(10))
        File(dir, "kept.gguf").writeBytes(ByteArray(10))
        ModelFileCopy(dir, Offered("m.gguf", ByteArray(0))) { Long.MAX_VALUE }.removeLeftovers()
        assertEquals(listOf("kept.gguf"), leftovers(dir))
    }
}
