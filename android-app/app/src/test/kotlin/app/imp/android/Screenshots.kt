package app.imp.android

import android.content.pm.ActivityInfo
import android.content.res.Configuration
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Rect
import android.view.Gravity
import android.view.View
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.compose.ui.semantics.SemanticsActions
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.hasClickAction
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.junit4.AndroidComposeTestRule
import androidx.compose.ui.test.junit4.createAndroidComposeRule
import app.imp.android.engine.Texts
import app.imp.android.ui.conversation.PICTURE_LOADING_TAG
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.rules.ExternalResource
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File
import kotlin.math.roundToInt

/** A phone-sized screen (720 x 1560 px) for every UI test. */
const val PHONE = "w360dp-h780dp-xhdpi"

/**
 * Waits until every conversation picture on screen has decoded: that happens
 * off the main thread, which idling does not wait for, and a picture arriving
 * changes the layout (scroll to a control only after this, or the scroll
 * lands elsewhere: a CI run once drew conversation-font-200 13 px off).
 */
fun AndroidComposeTestRule<*, *>.waitForPictures() {
    waitUntil(10_000) { onAllNodesWithTag(PICTURE_LOADING_TAG, useUnmergedTree = true).fetchSemanticsNodes().isEmpty() }
    waitForIdle()
}

/**
 * Draws the activity's window, and any dialog over it, to
 * android-app/build/screenshots/NAME.png (the directory comes from
 * -Dimp.screenshots; NAME-dark.png in night mode), checks it against the committed reference
 * ([ScreenshotReference]) and returns the bitmap. Needs
 * Robolectric's native graphics (@GraphicsMode(NATIVE)), which draws with the
 * real Skia. Compose's captureToImage() does not work under Robolectric: it
 * waits for a redraw that never comes (robolectric/robolectric#8071).
 */
fun <A : ComponentActivity> AndroidComposeTestRule<*, A>.screenshot(name: String): Bitmap {
    waitForPictures()
    val view = activity.window.decorView
    val bitmap = runOnUiThread {
        Bitmap.createBitmap(view.width, view.height, Bitmap.Config.ARGB_8888).also { drawWindows(view, Canvas(it)) }
    }
    val dir = File(System.getProperty("imp.screenshots") ?: error("set -Dimp.screenshots"))
    dir.mkdirs()
    val night = activity.resources.configuration.uiMode and Configuration.UI_MODE_NIGHT_MASK == Configuration.UI_MODE_NIGHT_YES
    val file = if (night) "$name-dark" else name
    File(dir, "$file.png").writePng(bitmap)
    ScreenshotReference.check(file, bitmap, dir)
    return bitmap
}

private fun File.writePng(bitmap: Bitmap) = outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }

/**
 * The committed reference images (android-app/app/src/test/screenshots,
 * -Dimp.screenshotReferences): a screen that changes by more than the
 * tolerance fails its test, with a diff image beside the screenshot
 * (NAME.diff.png, changed pixels in red). To change a screen on purpose,
 * run with IMP_RECORD_SCREENSHOTS=1 (tests/android.sh), look at every
 * image it rewrote, and commit them.
 *
 * The tolerance: Skia picks its SIMD code for the CPU it runs on, so edges
 * antialias a few levels differently on an AVX2 and an AVX-512 machine. A
 * pixel counts as changed when a channel moves by more than [CHANNEL_SLACK]
 * levels; up to [CHANGED_FRACTION] of the pixels may change (0.1 %: about a
 * thousand pixels of a 720 x 1560 screen, less than one changed word).
 */
object ScreenshotReference {
    private const val CHANNEL_SLACK = 24
    private const val CHANGED_FRACTION = 0.001

    fun check(name: String, actual: Bitmap, outDir: File) {
        val references = File(System.getProperty("imp.screenshotReferences") ?: error("set -Dimp.screenshotReferences"))
        val reference = File(references, "$name.png")
        if (System.getProperty("imp.recordScreenshots") == "true") {
            references.mkdirs()
            reference.writePng(actual)
            return
        }
        check(reference.exists()) { "no reference for $name: record it with IMP_RECORD_SCREENSHOTS=1 and look at it" }
        val expected = android.graphics.BitmapFactory.decodeFile(reference.path)
        val size = "${actual.width}x${actual.height}"
        assertTrue("$name: $size, the reference is ${expected.width}x${expected.height}", expected.width == actual.width && expected.height == actual.height)
        val changed = changedPixels(expected, actual)
        val allowed = (actual.width * actual.height * CHANGED_FRACTION).toInt()
        if (changed.count > allowed) File(outDir, "$name.diff.png").writePng(changed.image)
        assertTrue(
            "$name: ${changed.count} pixels differ from the reference (at most $allowed may): see $name.diff.png",
            changed.count <= allowed,
        )
    }

    private class Changed(val count: Int, val image: Bitmap)

    private fun changedPixels(expected: Bitmap, actual: Bitmap): Changed {
        val (w, h) = actual.width to actual.height
        val a = IntArray(w * h).also { actual.getPixels(it, 0, w, 0, 0, w, h) }
        val e = IntArray(w * h).also { expected.getPixels(it, 0, w, 0, 0, w, h) }
        var count = 0
        val marked = IntArray(w * h) { i ->
            val differs = (0..24 step 8).any { shift -> kotlin.math.abs((a[i] ushr shift and 0xff) - (e[i] ushr shift and 0xff)) > CHANNEL_SLACK }
            if (differs) {
                count++
                Color.RED
            } else {
                // The unchanged screen, faded, so the red shows where it is.
                Color.argb(255, 255 - (255 - Color.red(e[i])) / 4, 255 - (255 - Color.green(e[i])) / 4, 255 - (255 - Color.blue(e[i])) / 4)
            }
        }
        return Changed(count, Bitmap.createBitmap(marked, w, h, Bitmap.Config.ARGB_8888))
    }
}

/**
 * Draws the activity's window and then every window opened over it (a Compose
 * dialog is a window of its own, which drawing the activity alone leaves out),
 * in the order they were added, with the dimming each asks for behind it. The
 * windows are the framework's own list (WindowManagerGlobal), read by
 * reflection: no API lists them. Robolectric leaves every window at the
 * screen's top left, so each is placed here as the window manager would, by
 * its gravity (a dialog: centred).
 */
private fun drawWindows(activityWindow: View, canvas: Canvas) {
    val global = Class.forName("android.view.WindowManagerGlobal")
    val instance = global.getMethod("getInstance").invoke(null)
    fun <T> field(name: String): List<T> {
        @Suppress("UNCHECKED_CAST")
        return global.getDeclaredField(name).apply { isAccessible = true }.get(instance) as List<T>
    }
    val windows = field<View>("mViews").zip(field<WindowManager.LayoutParams>("mParams"))
    val token = windows.first { it.first === activityWindow }.second.token
    val screen = Rect(0, 0, activityWindow.width, activityWindow.height)
    canvas.save()
    activityWindow.draw(canvas)
    for ((view, params) in windows) {
        if (view === activityWindow || params.token !== token || !view.isAttachedToWindow) continue
        if (params.flags and WindowManager.LayoutParams.FLAG_DIM_BEHIND != 0) {
            canvas.drawColor(Color.argb((params.dimAmount * 255).roundToInt(), 0, 0, 0))
        }
        val place = Rect()
        Gravity.apply(params.gravity, view.width, view.height, screen, params.x, params.y, place)
        canvas.save()
        canvas.translate(place.left.toFloat(), place.top.toFloat())
        view.draw(canvas)
        canvas.restore()
    }
    canvas.restore()
}

/**
 * Makes the plain ComponentActivity that createAndroidComposeRule<ComponentActivity>()
 * starts known to Robolectric's package manager (a Gradle build adds it through
 * ui-test-manifest; here nothing merges manifests). Must run before the compose rule.
 */
class RegisterComponentActivity : ExternalResource() {
    override fun before() {
        val app = RuntimeEnvironment.getApplication()
        val info = ActivityInfo().apply {
            name = ComponentActivity::class.java.name
            packageName = app.packageName
        }
        shadowOf(app.packageManager).addOrUpdateActivity(info)
    }
}

/** Every clickable node says what it does, and is at least 48 dp each way. */
fun AndroidComposeTestRule<*, *>.assertEveryControlLabelledAndLargeEnough() {
    val nodes = onAllNodes(hasClickAction(), useUnmergedTree = false).fetchSemanticsNodes()
    assertTrue(nodes.isNotEmpty())
    val density = activity.resources.displayMetrics.density
    for (node in nodes) {
        val c = node.config
        val label = (c.getOrNull(SemanticsProperties.ContentDescription).orEmpty() + c.getOrNull(SemanticsProperties.Text).orEmpty().map { it.text } +
            listOfNotNull(c.getOrNull(SemanticsProperties.EditableText)?.text, c.getOrNull(SemanticsActions.OnClick)?.label))
            .joinToString().trim()
        val merged = label.ifEmpty {
            node.children.flatMap { ch -> ch.config.getOrNull(SemanticsProperties.Text).orEmpty().map { it.text } }.joinToString()
        }
        assertTrue("a clickable node has no label: $c", merged.isNotEmpty())
        val (w, h) = node.size.width / density to node.size.height / density
        assertTrue("'$merged' is ${w}x$h dp", w >= 47.5f && h >= 47.5f)
    }
}


/**
 * A Compose screen test on a phone-sized screen with native graphics: the
 * host activity, the compose rule, a temporary folder and the app's strings.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(qualifiers = PHONE)
abstract class ScreenTest {
    @get:Rule(order = 0)
    val hostActivity = RegisterComponentActivity()

    @get:Rule(order = 1)
    val compose = createAndroidComposeRule<ComponentActivity>()

    @get:Rule
    val temp = TemporaryFolder()

    // The activity's resources, looked up once: `compose.activity` drains the main looper on every
    // call, so a view model reading a string through it ran queued coroutines in the middle of its
    // own work (a conversation published 'Failed' with the status line of 'Preparing').
    private val resources by lazy { compose.activity.resources }

    protected val texts by lazy { Texts { id, args -> resources.getString(id, *args) } }

    protected fun text(id: Int, vararg args: Any): String = resources.getString(id, *args)
}
