package app.imp.android

import android.content.Intent
import android.net.Uri
import androidx.compose.ui.test.assertIsDisplayed
import androidx.compose.ui.test.hasContentDescription
import androidx.compose.ui.test.hasSetTextAction
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.junit4.createEmptyComposeRule
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import androidx.test.core.app.ActivityScenario
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File

/**
 * The real activity with the real app graph (the Rust core through JNA, an
 * empty store in the app's files): where it opens, how its screens lead to
 * one another, and that the screen and the conversation survive rotation.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(qualifiers = PHONE)
class AppNavigationTest {
    @get:Rule
    val compose = createEmptyComposeRule()

    private val app get() = RuntimeEnvironment.getApplication()

    private fun text(id: Int, vararg args: Any) = app.getString(id, *args)

    private fun rotate(scenario: ActivityScenario<MainActivity>, landscape: Boolean) {
        RuntimeEnvironment.setQualifiers(if (landscape) "w780dp-h360dp-land-xhdpi" else "w360dp-h780dp-port-xhdpi")
        scenario.recreate()
        compose.waitForIdle()
    }

    private fun showing(title: Int) = compose.onNode(hasText(text(title))).assertExists()

    @Test
    fun firstRunOpensTheModelsAndEachScreenSurvivesRotation() {
        ActivityScenario.launch(MainActivity::class.java).use { scenario ->
            compose.waitForIdle()
            showing(R.string.models_title)
            settle("the catalogue") {
                compose.onAllNodesWithTextCount(text(R.string.models_first_run)) == 1
            }
            rotate(scenario, landscape = true)
            showing(R.string.models_first_run)

            compose.onNodeWithText(text(R.string.models_done)).performScrollTo().performClick()
            compose.waitForIdle()
            showing(R.string.home_title)
            compose.onNodeWithText(text(R.string.action_history)).performClick()
            settle("the empty history") { compose.onAllNodesWithTextCount(text(R.string.history_empty)) == 1 }
            rotate(scenario, landscape = false)
            showing(R.string.history_empty)

            compose.onNodeWithText(text(R.string.action_back)).performClick()
            compose.waitForIdle()
            compose.onNodeWithText(text(R.string.action_settings)).performClick()
            compose.waitForIdle()
            showing(R.string.settings_title)
            compose.onNodeWithText(text(R.string.action_benchmark)).performScrollTo().performClick()
            settle("the benchmark's verdict") { compose.onAllNodesWithTextCount(text(R.string.problem_no_model_title)) == 1 }
            rotate(scenario, landscape = true)
            showing(R.string.benchmark_title)
            // Back walks the way it came: benchmark, settings, camera.
            compose.onNodeWithText(text(R.string.action_back)).performClick()
            compose.waitForIdle()
            showing(R.string.settings_title)
        }
    }

    private fun share(uri: Uri) = Intent(app, MainActivity::class.java)
        .setAction(Intent.ACTION_SEND)
        .setType("image/jpeg")
        .putExtra(Intent.EXTRA_STREAM, uri)
        .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)

    @Test
    fun aSharedPictureOpensItsConversationWhichSurvivesRotation() {
        Robolectric.setupContentProvider(SharingApp::class.java, SharingApp.AUTHORITY)
        val picture = File(app.cacheDir, "shared.jpg").apply { writeBytes(tinyJpeg()) }
        val uri = Uri.parse(SharingApp.serve("shared.jpg", picture, "image/jpeg"))
        ActivityScenario.launch<MainActivity>(share(uri)).use { scenario ->
            // No model on this phone yet: the conversation says so and offers the models.
            settle("the problem") { compose.onAllNodesWithTextCount(text(R.string.problem_no_model_title)) >= 1 }
            settle("the picture, decoded off the main thread") {
                compose.onAllNodes(hasContentDescription(text(R.string.picture_description))).fetchSemanticsNodes().isNotEmpty()
            }
            compose.onNode(hasSetTextAction()).performScrollTo().performTextInput("Is it raining?")
            compose.waitForIdle()

            rotate(scenario, landscape = true)
            settle("the picture after rotation") {
                compose.onAllNodes(hasContentDescription(text(R.string.picture_description))).fetchSemanticsNodes().isNotEmpty()
            }
            compose.onNode(hasSetTextAction() and hasText("Is it raining?")).assertExists()
            assertEquals(1, compose.onAllNodesWithTextCount(text(R.string.recovery_open_models)))

            compose.onNodeWithText(text(R.string.recovery_open_models)).performScrollTo().performClick()
            compose.waitForIdle()
            compose.onNodeWithText(text(R.string.models_title)).assertIsDisplayed()
        }
    }

    /**
     * Issue 27, defect 8: a share naming a file (here Imp's own private
     * settings) is refused in words, nothing is read, and Back returns to the
     * app that shared it (the activity finishes) rather than to Imp's camera.
     */
    @Test
    fun aSharedFileLinkIsRefusedAndBackReturnsToTheSharingApp() {
        val secret = File(app.filesDir, "shared_prefs-secret.xml").apply { writeText("private") }
        ActivityScenario.launch<MainActivity>(share(Uri.fromFile(secret))).use { scenario ->
            settle("the refusal") { compose.onAllNodesWithTextCount(text(R.string.picture_refused_title)) >= 1 }
            compose.onNode(hasText(text(R.string.picture_refused_not_content), substring = true)).assertExists()
            assertEquals(emptyList<String>(), File(app.filesDir, "pictures").list()?.toList().orEmpty())
            scenario.onActivity { it.onBackPressedDispatcher.onBackPressed() }
            compose.waitForIdle()
            var finishing = false
            scenario.onActivity { finishing = it.isFinishing }
            assertTrue("Back after a share leaves Imp", finishing || scenario.state == androidx.lifecycle.Lifecycle.State.DESTROYED)
        }
    }
}

private fun androidx.compose.ui.test.junit4.ComposeTestRule.onAllNodesWithTextCount(text: String): Int =
    onAllNodes(hasText(text)).fetchSemanticsNodes().size
