package app.imp.android

import app.imp.android.platform.FrameChecker
import app.imp.android.platform.FrameLook
import app.imp.android.ui.capture.AimingCoach
import app.imp.android.ui.capture.AimingHint
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Aiming help (issue 27, "what users of Seeing AI and Lookout expect"): the
 * looks computed from synthetic luminance frames, and the coach that turns
 * them into hints calm enough to be read aloud.
 */
class AimingTest {
    private val w = 320
    private val h = 240

    /** A frame of [w] x [h] whose pixel (x, y) is [value], rows [stride] apart (padding bright). */
    private fun frame(stride: Int = w, value: (Int, Int) -> Int) = ByteArray(stride * h) { i ->
        val (x, y) = i % stride to i / stride
        (if (x < w) value(x, y) else 255).coerceIn(0, 255).toByte()
    }

    private fun stripes(shift: Int = 0) = { x: Int, _: Int -> if ((x + shift) / 16 % 2 == 0) 40 else 220 }

    /** [stripes] seen through a lens out of focus: each pixel the mean of the 15 around it in its row. */
    private fun blurredStripes() = { x: Int, y: Int -> (-7..7).sumOf { stripes()(x + it, y) } / 15 }

    private fun look(frame: ByteArray, stride: Int = w) = FrameChecker().look(frame, w, h, stride)

    @Test
    fun aDarkFrameIsTooDarkEvenWithBrightPaddingBesideItsRows() {
        val look = look(frame(stride = w + 32) { _, _ -> 12 }, stride = w + 32)
        assertEquals(12, look.brightness)
        assertTrue(look.tooDark)
    }

    @Test
    fun sharpEdgesAreSharpAndTheSameEdgesOutOfFocusAreBlurred() {
        val sharp = look(frame(value = stripes()))
        val blurred = look(frame(value = blurredStripes()))
        assertFalse("sharp: $sharp", sharp.blurred)
        assertTrue("blurred: $blurred", blurred.blurred)
        assertFalse(sharp.tooDark || blurred.tooDark)
        assertTrue("$sharp vs $blurred", sharp.sharpness > 2 * blurred.sharpness)
    }

    @Test
    fun aBareWallIsNotCalledBlurred() {
        val wall = look(frame { _, _ -> 150 })
        assertEquals(0, wall.detail)
        assertFalse(wall.blurred)
        assertFalse(wall.tooDark)
    }

    @Test
    fun aSceneThatShiftsBetweenLooksIsMovingAndAStillOneIsNot() {
        val checker = FrameChecker()
        val ramp = { shift: Int -> frame { x, _ -> (x + shift) * 255 / (w + 60) } }
        assertEquals(0, checker.look(ramp(0), w, h, w).motion)
        assertFalse(checker.look(ramp(0), w, h, w).moving)
        val moved = checker.look(ramp(60), w, h, w)
        assertTrue("$moved", moved.moving)
    }

    private val dark = FrameLook(brightness = 10, detail = 0, sharpness = 1f, motion = 0)
    private val fine = FrameLook(brightness = 120, detail = 40, sharpness = 0.25f, motion = 2)
    private val moving = fine.copy(motion = 40)

    @Test
    fun aProblemIsToldOnceItLastsAndGoesOnceItIsGone() {
        val coach = AimingCoach(settleMs = 800, gapMs = 4_000)
        assertNull(coach.see(dark, 0))
        assertNull("a passing shadow says nothing", coach.see(dark, 500))
        assertEquals(AimingHint.TooDark, coach.see(dark, 900))
        assertEquals("stays while the light is back only briefly", AimingHint.TooDark, coach.see(fine, 1_000))
        assertNull(coach.see(fine, 1_900))
    }

    @Test
    fun hintsComeAtMostEveryGap() {
        val coach = AimingCoach(settleMs = 800, gapMs = 4_000)
        coach.see(dark, 0)
        assertEquals(AimingHint.TooDark, coach.see(dark, 800))
        coach.see(moving, 1_000)
        assertNull("too soon for the next hint, and the old one is no longer true", coach.see(moving, 2_000))
        assertEquals(AimingHint.Moving, coach.see(moving, 4_800))
    }

    @Test
    fun darknessIsToldBeforeMotion() {
        val coach = AimingCoach(settleMs = 0, gapMs = 0)
        assertEquals(AimingHint.TooDark, coach.see(dark.copy(motion = 40), 0))
    }
}
