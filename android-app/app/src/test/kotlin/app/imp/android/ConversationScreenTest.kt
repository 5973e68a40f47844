package app.imp.android

import androidx.compose.foundation.layout.Box
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.assertCountEquals
import androidx.compose.ui.test.assertIsDisplayed
import androidx.compose.ui.test.assertIsEnabled
import androidx.compose.ui.test.hasContentDescription
import androidx.compose.ui.test.hasText
import androidx.compose.ui.test.isFocused
import androidx.compose.ui.test.onAllNodesWithText
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextInput
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.engine.Problem
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.capture.CaptureActions
import app.imp.android.ui.capture.CaptureScreen
import app.imp.android.ui.capture.CaptureUiState
import app.imp.android.ui.common.LIVE_REGION_TAG
import app.imp.android.ui.conversation.ConversationActions
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationScreen
import app.imp.android.ui.conversation.PROBLEM_TAG
import app.imp.android.ui.conversation.PictureSource
import app.imp.android.ui.conversation.answerTag
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.annotation.Config

/**
 * The capture and conversation screens on fakes, driven only through the
 * semantics tree: what TalkBack sees and does (labels, clicks, the live region).
 */
open class ConversationScreenTest : ScreenTest() {

    /** A small app: the capture screen, then the conversation about the picture taken, on fakes. */
    private fun showApp(world: ConversationWorld, captureState: CaptureUiState = CaptureUiState.Previewing) {
        val vm = world.viewModel()
        compose.setContent {
            ImpTheme {
                var open by remember { mutableStateOf(false) }
                if (!open) {
                    CaptureScreen(
                        captureState,
                        CaptureActions(onTakePicture = {
                            vm.open(ConversationArgs("walk", world.picture().path, PictureSource.Camera))
                            open = true
                        }),
                        preview = { Box(it) },
                    )
                } else {
                    val state by vm.uiState.collectAsStateWithLifecycle()
                    ConversationScreen(
                        state,
                        ConversationActions(
                            onDescribe = vm::describe, onReadText = vm::readText, onQuestionChange = vm::onQuestionChange,
                            onAsk = vm::askTypedQuestion, onStop = vm::stop, onCopy = vm::copyAnswer, onShare = vm::shareAnswer,
                        ),
                    )
                }
            }
        }
    }

    private fun liveRegionText(): String? = compose.onNodeWithTag(LIVE_REGION_TAG).fetchSemanticsNode()
        .config.getOrNull(SemanticsProperties.ContentDescription)?.joinToString()

    private fun waitFor(what: String, condition: () -> Boolean) {
        settle(what) {
            compose.waitForIdle()
            condition()
        }
        compose.waitForIdle()
    }

    @Test
    fun takePictureDescribeHearTheAnswerStopAndAskAFollowUpByTouchAlone() {
        // TalkBack on: answers are read by TalkBack by default (so a braille
        // display shows them too), sentence by sentence; text-to-speech stays quiet.
        val world = ConversationWorld(texts, temp.newFolder(), accessibility = FakeAccessibility(on = true))
        showApp(world)
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("capture")

        compose.onNodeWithContentDescription(text(R.string.action_take_picture)).performClick()
        waitFor("the picture to be encoded") { world.engine.pictures.isNotEmpty() }
        waitFor("Describe to be enabled") {
            runCatching { compose.onNodeWithText(text(R.string.action_describe)).assertIsEnabled() }.isSuccess
        }
        compose.onNodeWithText(text(R.string.action_describe)).performClick()
        compose.waitForIdle()
        assertEquals(text(R.string.announce_answering), liveRegionText())
        world.engine.current!!.send("A blue door. ", "It has a brass ")
        compose.waitForIdle()
        // Whole sentences are read, not tokens: the half sentence waits.
        assertEquals("A blue door.", liveRegionText())
        assertTrue(world.voice.spoken.isEmpty())
        compose.onNodeWithTag(answerTag(0)).assertIsDisplayed()
        compose.screenshot("conversation-answering")

        compose.onNodeWithText(text(R.string.action_stop)).assertIsDisplayed().performClick()
        compose.waitForIdle()
        assertEquals(text(R.string.announce_stopped), liveRegionText())
        assertTrue(world.engine.answers.isEmpty())

        compose.onNodeWithText(text(R.string.question_label)).performScrollTo().performTextInput("Is it open?")
        compose.onNodeWithText(text(R.string.action_ask)).performScrollTo().performClick()
        compose.waitForIdle()
        world.engine.current!!.send("No, it is closed.")
        world.engine.current!!.finish()
        // The last sentence and the end status reach TalkBack as one text.
        val end = "No, it is closed. " + text(R.string.announce_end_of_answer)
        waitFor("the follow-up's end") { liveRegionText() == end }
        compose.onNodeWithText("No, it is closed.").assertExists()
        assertTrue(world.voice.spoken.isEmpty())
        val live = compose.onNodeWithTag(LIVE_REGION_TAG).fetchSemanticsNode().config[SemanticsProperties.LiveRegion]
        assertEquals(LiveRegionMode.Polite, live)
        assertEquals(listOf("Is it open?"), world.engine.questions.drop(1))
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("conversation-answered")
    }

    /**
     * Issue 27: Stop is always reachable, pinned below the scrolling answer
     * (not at its end, off screen); here at twice the font size, where a long
     * answer fills screens (the screenshot shows it scrolled to its end).
     */
    @Test
    @Config(fontScale = 2.0f)
    fun stopStaysOnScreenAndTheAnswerScrollsIntoViewAsItGrows() {
        val world = ConversationWorld(texts, temp.newFolder())
        showApp(world)
        compose.onNodeWithContentDescription(text(R.string.action_take_picture)).performClick()
        waitFor("the picture to be encoded") { world.engine.pictures.isNotEmpty() }
        compose.waitForPictures()
        compose.onNodeWithText(text(R.string.action_describe)).performScrollTo().performClick()
        compose.waitForIdle()
        val words = (1..60).joinToString(" ") { "Line $it of a long answer." }
        world.engine.current!!.send(words, " The last words")
        compose.waitForIdle()
        compose.onNodeWithText(text(R.string.action_stop)).assertIsDisplayed()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("conversation-long-answer-font-200")
        compose.onNodeWithText(text(R.string.action_stop)).performClick()
        compose.waitForIdle()
    }

    @Test
    fun aMissingModelIsExplainedWithTheWayOut() {
        val world = ConversationWorld(texts, temp.newFolder())
        world.library.models.clear()
        showApp(world)
        compose.onNodeWithContentDescription(text(R.string.action_take_picture)).performClick()
        waitFor("the problem") { runCatching { compose.onNodeWithTag(PROBLEM_TAG).assertExists() }.isSuccess }
        // The title is the status line and the problem's heading; focus (TalkBack's too) is on the heading.
        compose.onNode(hasText(text(R.string.problem_model_missing_title)) and isFocused()).assertExists()
        compose.onAllNodesWithText(text(R.string.problem_model_missing_title)).assertCountEquals(2)
        compose.onNodeWithText(text(R.string.recovery_open_models)).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        // The picture stays above the problem: the person sees what they took while they fetch a model.
        compose.waitForPictures()
        compose.onNodeWithContentDescription(text(R.string.picture_description)).assertIsDisplayed()
        compose.screenshot("conversation-model-missing")
    }

    @Test
    fun cameraPermissionDeniedLeavesTheGallery() {
        val world = ConversationWorld(texts, temp.newFolder())
        showApp(world, CaptureUiState.NoCamera(Problem.cameraDenied(texts, canAskAgain = false)))
        compose.onNodeWithText(text(R.string.problem_camera_denied_title)).assertIsDisplayed()
        compose.onNodeWithText(text(R.string.recovery_open_system_settings)).assertIsDisplayed()
        compose.onNodeWithText(text(R.string.action_pick_photo)).assertIsDisplayed()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("capture-camera-denied")
    }

    /** Issue 27, defect 3: a shot that did not work says why, over the preview, and the shutter still works. */
    @Test
    fun aFailedShotLeavesTheShutterAndTryAgain() {
        val world = ConversationWorld(texts, temp.newFolder())
        showApp(world, CaptureUiState.ShotFailed(Problem.cameraNotReady(texts)))
        compose.onNodeWithText(text(R.string.problem_camera_starting_title)).assertIsDisplayed()
        compose.onNodeWithText(text(R.string.recovery_try_again)).assertIsDisplayed()
        compose.onNodeWithContentDescription(text(R.string.action_take_picture)).assertIsEnabled()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("capture-shot-failed")
    }

    @Test
    fun askingForTheCameraExplainsWhy() {
        val world = ConversationWorld(texts, temp.newFolder())
        showApp(world, CaptureUiState.NeedsPermission)
        compose.onNodeWithText(text(R.string.camera_why)).assertIsDisplayed()
        compose.onNodeWithText(text(R.string.action_allow_camera)).assertIsDisplayed()
        compose.assertEveryControlLabelledAndLargeEnough()
    }

    @Test
    @Config(fontScale = 2.0f)
    fun theConversationHoldsAtTwiceTheFontSize() {
        val world = ConversationWorld(texts, temp.newFolder())
        showApp(world)
        compose.onNodeWithContentDescription(text(R.string.action_take_picture)).assertIsDisplayed().performClick()
        waitFor("the picture to be encoded") { world.engine.pictures.isNotEmpty() }
        compose.waitForPictures()
        compose.onNodeWithText(text(R.string.action_describe)).performScrollTo().assertIsDisplayed().performClick()
        compose.waitForIdle()
        world.engine.current!!.send("A long answer that wraps over several lines at this size. ")
        world.engine.current!!.finish()
        waitFor("the end of the answer") { runCatching { compose.onNodeWithText(text(R.string.action_copy)).assertExists() }.isSuccess }
        compose.waitForPictures()
        compose.onNodeWithText(text(R.string.question_label)).performScrollTo().assertIsDisplayed()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("conversation-font-200")
    }

    /**
     * Issue 27, defect 6: a phone camera's photo is stored sideways with an
     * EXIF orientation; the picture on screen is upright. The frame here is
     * left half red, right half blue, tagged "turn 90 degrees clockwise": the
     * top must be red.
     */
    @Test
    fun aPhotoTaggedSidewaysIsShownUpright() {
        val world = ConversationWorld(texts, temp.newFolder())
        val frame = android.graphics.Bitmap.createBitmap(80, 60, android.graphics.Bitmap.Config.ARGB_8888)
        for (x in 0 until 80) for (y in 0 until 60) {
            frame.setPixel(x, y, if (x < 40) android.graphics.Color.RED else android.graphics.Color.BLUE)
        }
        val photo = temp.newFile("sideways.jpg")
        photo.outputStream().use { frame.compress(android.graphics.Bitmap.CompressFormat.JPEG, 95, it) }
        android.media.ExifInterface(photo.path).apply {
            setAttribute(android.media.ExifInterface.TAG_ORIENTATION, android.media.ExifInterface.ORIENTATION_ROTATE_90.toString())
            saveAttributes()
        }
        val vm = world.viewModel()
        vm.open(ConversationArgs("sideways", photo.path, PictureSource.Camera))
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                ConversationScreen(state, ConversationActions())
            }
        }
        val picture = hasContentDescription(text(R.string.picture_description))
        waitFor("the picture") { compose.onAllNodes(picture).fetchSemanticsNodes().isNotEmpty() }
        // And read by the engine (the status line says so), so the screenshot shows one state.
        waitFor("ready") { compose.onAllNodes(hasText(text(R.string.status_ready))).fetchSemanticsNodes().isNotEmpty() }
        val screen = compose.screenshot("conversation-upright-picture")
        val box = compose.onNode(picture).fetchSemanticsNode().boundsInWindow
        // Fit in its box: the upright (portrait) picture is centred; sample its middle column.
        val x = ((box.left + box.right) / 2).toInt()
        val top = screen.getPixel(x, (box.top + box.height / 5).toInt())
        val bottom = screen.getPixel(x, (box.top + box.height * 4 / 5).toInt())
        assertTrue("top ${Integer.toHexString(top)}", android.graphics.Color.red(top) > 200 && android.graphics.Color.blue(top) < 80)
        assertTrue("bottom ${Integer.toHexString(bottom)}", android.graphics.Color.blue(bottom) > 200 && android.graphics.Color.red(bottom) < 80)
        vm.close()
    }
}
