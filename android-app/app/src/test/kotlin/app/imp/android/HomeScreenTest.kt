package app.imp.android

import androidx.compose.ui.graphics.toArgb
import androidx.compose.ui.test.assertHasClickAction
import androidx.compose.ui.test.assertIsDisplayed
import androidx.compose.ui.test.junit4.createAndroidComposeRule
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import app.imp.android.ui.impColorScheme
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File

@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(qualifiers = PHONE)
class HomeScreenTest {
    @get:Rule
    val compose = createAndroidComposeRule<MainActivity>()

    private val takePicture get() = compose.activity.getString(R.string.home_take_picture)

    @Test
    fun showsTheTitleAndALabelledButton() {
        compose.onNodeWithText(compose.activity.getString(R.string.home_title)).assertIsDisplayed()
        compose.onNodeWithText(takePicture).assertIsDisplayed().assertHasClickAction()
    }

    @Test
    fun theButtonAnswersAClick() {
        val notice = compose.activity.getString(R.string.home_picture_requested)
        compose.onNodeWithText(notice).assertDoesNotExist()
        compose.onNodeWithText(takePicture).performClick()
        compose.onNodeWithText(notice).assertIsDisplayed()
    }

    @Test
    fun rendersToAPng() {
        val bitmap = compose.screenshot("home")
        assertEquals(720, bitmap.width)
        assertEquals(1560, bitmap.height)
        assertTrue(File(System.getProperty("imp.screenshots"), "home.png").length() > 0)

        // The button is drawn where its semantics say, in the theme's primary colour.
        val button = compose.onNodeWithText(takePicture).fetchSemanticsNode().boundsInRoot
        val primary = impColorScheme(compose.activity, darkTheme = false).primary.toArgb()
        val inButton = bitmap.getPixel(button.left.toInt() + 4, button.center.y.toInt())
        assertEquals(Integer.toHexString(primary), Integer.toHexString(inButton))
        // Text was drawn: the screen is not a few flat colours.
        val colours = (0 until bitmap.height step 8).flatMap { y ->
            (0 until bitmap.width step 8).map { x -> bitmap.getPixel(x, y) }
        }.toSet()
        assertTrue("only ${colours.size} colours", colours.size > 8)
    }
}
