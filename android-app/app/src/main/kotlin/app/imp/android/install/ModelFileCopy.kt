package app.imp.android.install

import app.imp.android.pictures.ContentReader
import app.imp.kit.ImpException
import kotlinx.coroutines.ensureActive
import java.io.File
import kotlin.coroutines.coroutineContext

/**
 * Copies a model file the person picked (a content URI) into the app's import
 * directory, where the store then uses it in place. The copy goes to a hidden
 * partial file, renamed only when complete, to a name no installed model has:
 * re-importing "model.gguf" must never write into the "model.gguf" a loaded
 * engine has mapped (a truncated mapped file kills the process with SIGBUS).
 * Checks the free space first, stops when its coroutine is cancelled, and
 * leaves nothing behind when it fails.
 */
class ModelFileCopy(
    private val dir: File,
    private val reader: ContentReader,
    /** Bytes free where [dir] is. */
    private val freeBytes: () -> Long,
) {
    suspend fun copy(uri: String, onProgress: (done: Long, total: Long?) -> Unit): File {
        dir.mkdirs()
        val name = (reader.displayName(uri) ?: "model.gguf").replace(Regex("[^A-Za-z0-9._-]"), "_").trimStart('.')
            .ifEmpty { "model.gguf" }
        val total = reader.size(uri)
        if (total != null && total + SPACE_MARGIN > freeBytes()) {
            throw ImpException.NoSpace(
                "The file is ${mb(total)} MB; ${mb(freeBytes())} MB is free and ${mb(total + SPACE_MARGIN)} MB is needed.",
            )
        }
        val partial = File(dir, ".$name.${System.nanoTime()}$PARTIAL")
        try {
            reader.open(uri).use { input ->
                partial.outputStream().use { output ->
                    val buffer = ByteArray(1 shl 20)
                    var done = 0L
                    while (true) {
                        coroutineContext.ensureActive()
                        val n = input.read(buffer)
                        if (n < 0) break
                        output.write(buffer, 0, n)
                        done += n
                        onProgress(done, total)
                    }
                }
            }
            val target = freeName(name)
            if (!partial.renameTo(target)) error("could not name the copy $target")
            return target
        } finally {
            partial.delete()
        }
    }

    /** Copies a killed process left half-written. */
    fun removeLeftovers() {
        dir.listFiles { f -> f.name.endsWith(PARTIAL) }?.forEach(File::delete)
    }

    /** [name], or name-2, name-3 ... : never a file that exists (a model in use may be mapped from it). */
    private fun freeName(name: String): File {
        val stem = name.removeSuffix(".gguf")
        return generateSequence(1) { it + 1 }
            .map { n -> File(dir, if (n == 1) name else "$stem-$n.gguf") }
            .first { !it.exists() }
    }

    private fun mb(bytes: Long) = bytes / (1024 * 1024)

    private companion object {
        const val PARTIAL = ".partial"

        /** Room left for the store's manifest and the phone itself. */
        const val SPACE_MARGIN = 64L * 1024 * 1024
    }
}
