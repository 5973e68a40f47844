package app.imp.android

import app.imp.kit.ImpEngine
import app.imp.kit.ImpException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.io.File

/**
 * The Rust core, host-built (target/debug/libimp_ffi.so, found through
 * -Djna.library.path), called from inside Robolectric's Android sandbox the way
 * the app calls it: through the imp-kotlin wrapper and the UniFFI bindings.
 */
@RunWith(RobolectricTestRunner::class)
class CoreTest {
    private val fixtures = File(System.getProperty("imp.fixtures") ?: error("set -Dimp.fixtures"))

    @Test
    fun inspectsTheFixtureModelThroughTheCore() {
        val details = ImpEngine.inspect(File(fixtures, "tiny-imp-196-msft").path)
        assertEquals(196, details.imageTokens)
        assertEquals(196, details.imageSize)
        assertEquals("bf16", details.weightsDtype)
        assertTrue(details.parameterCount > 0)
    }

    @Test
    fun reportsAFolderWithoutAModelAsUnusable() {
        assertThrows(ImpException.ModelUnusable::class.java) {
            ImpEngine.inspect(File(fixtures, "images").path)
        }
    }
}
