package app.imp.android.pictures

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import app.imp.android.R
import app.imp.android.engine.Problem
import app.imp.android.engine.ProblemException
import app.imp.android.engine.Texts
import java.io.File
import java.io.InputStream
import java.util.UUID

/** Reads what another app hands over by URI (a shared or picked photo, a model file). */
interface ContentReader {
    fun open(uri: String): InputStream

    /** The file's name as the other app shows it, if it says. */
    fun displayName(uri: String): String?

    /** Its size in bytes, if known. */
    fun size(uri: String): Long?

    /** Its MIME type as the app that holds it says, if it says. */
    fun type(uri: String): String? = null
}

/** An image file's format, from its first bytes. */
enum class PictureFormat(val extension: String, val coreDecodes: Boolean) {
    Jpeg("jpg", true),
    Png("png", true),
    WebP("webp", true),
    Gif("gif", true),
    Bmp("bmp", true),
    Heif("heic", false),
    Unknown("bin", false),
    ;

    companion object {
        fun sniff(bytes: ByteArray): PictureFormat {
            fun at(offset: Int, magic: String) = bytes.size >= offset + magic.length &&
                magic.indices.all { bytes[offset + it] == magic[it].code.toByte() }
            return when {
                bytes.size >= 3 && bytes[0] == 0xFF.toByte() && bytes[1] == 0xD8.toByte() && bytes[2] == 0xFF.toByte() -> Jpeg
                bytes.size >= 4 && bytes[0] == 0x89.toByte() && at(1, "PNG") -> Png
                at(0, "RIFF") && at(8, "WEBP") -> WebP
                at(0, "GIF8") -> Gif
                at(0, "BM") -> Bmp
                at(4, "ftyp") -> Heif // ISO media: HEIC/HEIF/AVIF photos
                else -> Unknown
            }
        }
    }
}

/**
 * The pictures of conversations, kept in the app's own files: the history keeps
 * only a 256 px thumbnail, too small to encode again at 384 px when a
 * conversation is reopened for a follow-up. A new picture is `new-<uuid>.<ext>`;
 * once the conversation is saved it becomes `<conversation id>.<ext>`.
 */
class PictureStore(private val dir: File, private val reader: ContentReader, private val texts: Texts) {
    /** A picture the camera took (already sized for the model: see CaptureSize). */
    fun keepCapture(jpeg: ByteArray): File = write(jpeg, PictureFormat.Jpeg)

    /**
     * A picture from another app (share sheet, photo picker). Only a `content:`
     * URI is read (a `file:` link or a path could name this app's own private
     * files), only an image, at most [MAX_BYTES]; each refusal says why.
     * Formats the core reads go to it as they are (it applies the EXIF
     * orientation and resizes exactly); HEIC, and photos far larger than the
     * model needs (a 50 MP frame is 200 MB of pixels in the core's decoder,
     * next to the model), are decoded here to at most [MAX_SIDE] px and kept as
     * JPEG.
     */
    fun importFrom(uri: String): File {
        if (!uri.startsWith("content:")) throw refused(texts.get(R.string.picture_refused_not_content))
        val type = runCatching { reader.type(uri) }.getOrNull()
        if (type != null && !type.startsWith("image/")) throw refused(texts.get(R.string.picture_refused_type, type))
        val size = runCatching { reader.size(uri) }.getOrNull()
        if (size != null && size > MAX_BYTES) throw tooLarge()
        val bytes = try {
            reader.open(uri).use { readAtMost(it, MAX_BYTES) } ?: throw tooLarge()
        } catch (e: ProblemException) {
            throw e
        } catch (e: SecurityException) {
            throw refused(texts.get(R.string.picture_refused_no_access))
        } catch (e: OutOfMemoryError) {
            throw tooLarge()
        } catch (e: Exception) {
            throw unusable(e.message ?: "")
        }
        return prepare(bytes)
    }

    fun prepare(bytes: ByteArray): File {
        val format = PictureFormat.sniff(bytes)
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeByteArray(bytes, 0, bytes.size, bounds)
        val side = maxOf(bounds.outWidth, bounds.outHeight)
        // A small file can claim a vast image (a decompression bomb): refused before any pixel is decoded.
        val pixels = bounds.outWidth.toLong() * bounds.outHeight
        if (pixels > MAX_PIXELS) throw refused(texts.get(R.string.picture_refused_too_many_pixels, pixels / 1_000_000))
        // Not even its size can be read: not a picture, whatever its first bytes say.
        if (side <= 0) throw unusable("")
        if (format.coreDecodes && side <= PASS_THROUGH_LIMIT) return write(bytes, format)
        var sample = 1
        while (side / sample > MAX_SIDE) sample *= 2
        val options = BitmapFactory.Options().apply { inSampleSize = sample }
        val decoded = try {
            BitmapFactory.decodeByteArray(bytes, 0, bytes.size, options)
        } catch (e: OutOfMemoryError) {
            throw tooLarge()
        } ?: throw unusable("")
        val upright = UprightPicture.rotate(decoded, UprightPicture.degrees(bytes.inputStream()))
        val jpeg = java.io.ByteArrayOutputStream().also { upright.compress(Bitmap.CompressFormat.JPEG, JPEG_QUALITY, it) }
        return write(jpeg.toByteArray(), PictureFormat.Jpeg)
    }

    /** Renames a new picture after the conversation it now belongs to. */
    fun keepFor(conversationId: String, file: File): File {
        val target = File(dir, safe(conversationId) + "." + file.extension)
        if (file == target) return file
        return if (file.renameTo(target)) target else file
    }

    /** The kept picture of a saved conversation, if there is one. */
    fun forConversation(conversationId: String): File? =
        dir.listFiles { f -> f.nameWithoutExtension == safe(conversationId) }?.firstOrNull()

    fun remove(conversationId: String) {
        forConversation(conversationId)?.delete()
    }

    fun removeAll() {
        dir.listFiles()?.forEach(File::delete)
    }

    /** Drops the pictures of conversations the history no longer has, and new pictures never asked about. */
    fun prune(keepConversations: Set<String>, keepFiles: Set<String>, olderThanMs: Long) {
        dir.listFiles()?.forEach { f ->
            val isNew = f.name.startsWith(NEW_PREFIX)
            val keep = if (isNew) f.path in keepFiles || f.lastModified() > olderThanMs else f.nameWithoutExtension in keepConversations.map(::safe)
            if (!keep) f.delete()
        }
    }

    private fun write(bytes: ByteArray, format: PictureFormat): File {
        dir.mkdirs()
        val file = File(dir, "$NEW_PREFIX${UUID.randomUUID()}.${format.extension}")
        val partial = File(dir, file.name + ".partial")
        partial.writeBytes(bytes)
        partial.renameTo(file)
        return file
    }

    /** The stream's bytes, or null if it has more than [limit]. */
    private fun readAtMost(input: InputStream, limit: Long): ByteArray? {
        val out = java.io.ByteArrayOutputStream()
        val buffer = ByteArray(64 * 1024)
        while (true) {
            val n = input.read(buffer)
            if (n < 0) return out.toByteArray()
            if (out.size() + n > limit) return null
            out.write(buffer, 0, n)
        }
    }

    private fun tooLarge() = refused(texts.get(R.string.picture_refused_too_large, MAX_BYTES / (1024 * 1024)))

    /** A shared item that is not read, or not used, and why. */
    private fun refused(why: String) = ProblemException(
        Problem(
            Problem.Kind.PictureUnusable, texts.get(R.string.picture_refused_title), why, Problem.Recovery.TakeNewPicture,
        ),
    )

    private fun unusable(detail: String) = ProblemException(
        Problem(
            Problem.Kind.PictureUnusable, texts.get(R.string.problem_picture_unusable_title),
            texts.get(R.string.problem_picture_unusable, detail.ifEmpty { texts.get(R.string.picture_not_readable) }),
            Problem.Recovery.TakeNewPicture,
        ),
    )

    private fun safe(id: String) = id.replace(Regex("[^A-Za-z0-9._-]"), "_")

    companion object {
        /** More than any photo a phone takes (a 200 MP JPEG is about 40 MB). */
        const val MAX_BYTES = 64L * 1024 * 1024

        /** 200 MP: the largest phone sensors; beyond it, an image is not a photo. */
        const val MAX_PIXELS = 200_000_000L
        const val MAX_SIDE = 2048
        const val PASS_THROUGH_LIMIT = 4096
        const val JPEG_QUALITY = 90
        private const val NEW_PREFIX = "new-"
    }
}
