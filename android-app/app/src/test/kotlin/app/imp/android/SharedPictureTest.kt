package app.imp.android

import android.content.ContentProvider
import android.content.ContentValues
import android.database.Cursor
import android.net.Uri
import android.os.ParcelFileDescriptor
import app.imp.android.engine.ProblemException
import app.imp.android.engine.Texts
import app.imp.android.pictures.PictureStore
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode
import java.io.File
import java.io.RandomAccessFile
import java.nio.ByteBuffer
import java.util.zip.CRC32

/**
 * Issue 27, defect 8: what other apps hand over, read through the real
 * content resolver from a real provider ([SharingApp]): a photo by `content:`
 * URI is kept; a `file:` link or a path (which could name Imp's own private
 * files), a huge stream, a non-image, a missing grant and an image that claims
 * more pixels than any photo are each refused with a reason, never a crash.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class SharedPictureTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }
    private lateinit var store: PictureStore

    @Before
    fun setUp() {
        Robolectric.setupContentProvider(SharingApp::class.java, SharingApp.AUTHORITY)
        SharingApp.items.clear()
        store = PictureStore(temp.newFolder("pictures"), ResolverContentReader(app), texts)
    }

    private fun refusal(uri: String): String = try {
        store.importFrom(uri)
        fail("$uri was accepted")
        ""
    } catch (e: ProblemException) {
        assertEquals(app.getString(R.string.picture_refused_title), e.problem.title)
        e.problem.message
    }

    @Test
    fun aPhotoSharedByContentUriIsKept() {
        val photo = tinyJpeg()
        val kept = store.importFrom(SharingApp.serve("photo.jpg", temp.newFile().apply { writeBytes(photo) }, "image/jpeg"))
        assertArrayEquals(photo, kept.readBytes())
    }

    @Test
    fun aFileLinkOrAPathIsNeverRead() {
        val secret = File(app.filesDir, "settings-secret.xml").apply { writeText("private") }
        val why = app.getString(R.string.picture_refused_not_content)
        assertEquals(why, refusal(Uri.fromFile(secret).toString()))
        assertEquals(why, refusal(secret.path))
    }

    @Test
    fun aStreamBeyondAnyPhotoIsCutOffAndRefused() {
        // 100 MB of nothing (a sparse file), its size unannounced: read up to the cap, then refused.
        val huge = temp.newFile().also { RandomAccessFile(it, "rw").use { f -> f.setLength(100L * 1024 * 1024) } }
        val why = refusal(SharingApp.serve("huge.jpg", huge, "image/jpeg"))
        assertEquals(app.getString(R.string.picture_refused_too_large, 64), why)
    }

    @Test
    fun aNonImageOrAMissingGrantIsRefusedWithTheReason() {
        val pdf = temp.newFile().apply { writeBytes("%PDF-1.7".toByteArray()) }
        assertEquals(
            app.getString(R.string.picture_refused_type, "application/pdf"),
            refusal(SharingApp.serve("doc.pdf", pdf, "application/pdf")),
        )
        assertEquals(
            app.getString(R.string.picture_refused_no_access),
            refusal(SharingApp.serve("locked.jpg", temp.newFile().apply { writeBytes(tinyJpeg()) }, "image/jpeg", granted = false)),
        )
    }

    @Test
    fun anImageClaimingMorePixelsThanAnyPhotoIsRefusedBeforeDecoding() {
        val bomb = temp.newFile().apply { writeBytes(pngHeader(100_000, 100_000)) }
        val why = refusal(SharingApp.serve("bomb.png", bomb, "image/png"))
        assertEquals(app.getString(R.string.picture_refused_too_many_pixels, 10_000), why)
    }

    /** A small PNG that claims [width] x [height] pixels: its header, one compressed row of zeros, its end. */
    private fun pngHeader(width: Int, height: Int): ByteArray {
        fun chunk(type: String, data: ByteArray): ByteArray {
            val body = type.toByteArray() + data
            val crc = CRC32().apply { update(body) }.value.toInt()
            return ByteBuffer.allocate(4).putInt(data.size).array() + body + ByteBuffer.allocate(4).putInt(crc).array()
        }
        val header = ByteBuffer.allocate(13).putInt(width).putInt(height).put(8).put(2).put(0).put(0).put(0).array()
        val row = java.io.ByteArrayOutputStream().also { out ->
            java.util.zip.DeflaterOutputStream(out).use { it.write(ByteArray(1 + 3 * 64)) }
        }.toByteArray()
        return byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10) +
            chunk("IHDR", header) + chunk("IDAT", row) + chunk("IEND", ByteArray(0))
    }
}

/** Another app's provider, as a gallery or messenger has: files by name, each with a type and a grant. */
class SharingApp : ContentProvider() {
    data class Item(val file: File, val type: String, val granted: Boolean)

    companion object {
        const val AUTHORITY = "org.example.sharing"
        val items = mutableMapOf<String, Item>()

        fun serve(name: String, file: File, type: String, granted: Boolean = true): String {
            items[name] = Item(file, type, granted)
            return "content://$AUTHORITY/$name"
        }
    }

    override fun onCreate() = true

    override fun getType(uri: Uri): String? = items[uri.lastPathSegment]?.type

    override fun openFile(uri: Uri, mode: String): ParcelFileDescriptor {
        val item = items[uri.lastPathSegment] ?: throw java.io.FileNotFoundException("$uri")
        if (!item.granted) throw SecurityException("Permission Denial: reading $uri requires a grant")
        return ParcelFileDescriptor.open(item.file, ParcelFileDescriptor.MODE_READ_ONLY)
    }

    override fun query(uri: Uri, projection: Array<out String>?, selection: String?, args: Array<out String>?, sort: String?): Cursor? = null

    override fun insert(uri: Uri, values: ContentValues?): Uri? = null

    override fun delete(uri: Uri, selection: String?, args: Array<out String>?) = 0

    override fun update(uri: Uri, values: ContentValues?, selection: String?, args: Array<out String>?) = 0
}
