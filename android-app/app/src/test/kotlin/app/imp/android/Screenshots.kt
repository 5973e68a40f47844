package app.imp.android

import android.graphics.Bitmap
import android.graphics.Canvas
import androidx.activity.ComponentActivity
import androidx.compose.ui.test.junit4.AndroidComposeTestRule
import java.io.File

/** A phone-sized screen (720 x 1560 px) for every UI test. */
const val PHONE = "w360dp-h780dp-xhdpi"

/**
 * Draws the activity's whole window to android-app/build/screenshots/NAME.png
 * (the directory comes from -Dimp.screenshots) and returns the bitmap. Needs
 * Robolectric's native graphics (@GraphicsMode(NATIVE)), which draws with the
 * real Skia. Compose's captureToImage() does not work under Robolectric: it
 * waits for a redraw that never comes (robolectric/robolectric#8071).
 */
fun <A : ComponentActivity> AndroidComposeTestRule<*, A>.screenshot(name: String): Bitmap {
    waitForIdle()
    val view = activity.window.decorView
    val bitmap = runOnUiThread {
        Bitmap.createBitmap(view.width, view.height, Bitmap.Config.ARGB_8888).also { view.draw(Canvas(it)) }
    }
    val dir = File(System.getProperty("imp.screenshots") ?: error("set -Dimp.screenshots"))
    dir.mkdirs()
    File(dir, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    return bitmap
}
