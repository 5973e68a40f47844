package app.imp.android.platform

import kotlin.math.abs

/**
 * What one preview frame looks like, for aiming help, from its luminance
 * alone: [brightness] (mean, 0-255), [detail] (how much there is to see:
 * the root-mean-square difference between pixels 4 apart), [sharpness] (the
 * share of that difference already present between neighbours: about 0.25 for
 * a sharp edge, a few hundredths once blur spreads it over several pixels;
 * scale- and contrast-free) and [motion] (mean change of a coarse grid since
 * the last look, 0-255).
 */
data class FrameLook(val brightness: Int, val detail: Int, val sharpness: Float, val motion: Int) {
    val tooDark: Boolean get() = brightness < DARK_BELOW

    /** Blurred: there is detail to see, and little of it is sharp. A bare wall is not called blurred. */
    val blurred: Boolean get() = detail >= DETAIL_FOR_FOCUS && sharpness < SHARP_FROM

    val moving: Boolean get() = motion > MOVING_ABOVE

    companion object {
        /** A room lit by a phone screen: about 1/6 of full scale. */
        const val DARK_BELOW = 40
        const val DETAIL_FOR_FOCUS = 12
        const val SHARP_FROM = 0.08f
        const val MOVING_ABOVE = 14
    }
}

/**
 * Computes [FrameLook]s from successive luminance planes (the Y plane of
 * YUV_420_888: one byte a pixel, rows [rowStride] apart). Samples a grid of
 * about 10,000 points whatever the frame's size, so a look costs well under a
 * millisecond. Not thread-safe: one per camera thread.
 */
class FrameChecker {
    private var previousGrid: IntArray? = null

    fun look(luma: ByteArray, width: Int, height: Int, rowStride: Int): FrameLook {
        require(width > 2 * GAP && height > 2 * GAP && rowStride >= width && luma.size >= rowStride * (height - 1) + width)
        val step = maxOf(1, minOf(width, height) / 80)
        var sum = 0L
        var count = 0
        var near = 0L
        var far = 0L
        var y = 0
        while (y < height - GAP) {
            val row = y * rowStride
            var x = 0
            while (x < width - GAP) {
                val p = luma.at(row + x)
                sum += p
                count++
                near += sq(luma.at(row + x + 1) - p) + sq(luma.at(row + rowStride + x) - p)
                far += sq(luma.at(row + x + GAP) - p) + sq(luma.at(row + GAP * rowStride + x) - p)
                x += step
            }
            y += step
        }
        val grid = grid(luma, width, height, rowStride)
        val motion = previousGrid?.let { before -> grid.indices.sumOf { abs(grid[it] - before[it]) } / grid.size } ?: 0
        previousGrid = grid
        val detail = kotlin.math.sqrt(far.toDouble() / (2 * count)).toInt()
        val sharpness = if (far == 0L) 1f else (near.toDouble() / far).toFloat()
        return FrameLook((sum / count).toInt(), detail, sharpness, motion)
    }

    /** Mean luminance of each cell of a [GRID_W] x [GRID_H] grid (sampled), for motion between looks. */
    private fun grid(luma: ByteArray, width: Int, height: Int, rowStride: Int): IntArray = IntArray(GRID_W * GRID_H) { cell ->
        val (cx, cy) = cell % GRID_W to cell / GRID_W
        val (x0, x1) = cx * width / GRID_W to (cx + 1) * width / GRID_W
        val (y0, y1) = cy * height / GRID_H to (cy + 1) * height / GRID_H
        val step = maxOf(1, (x1 - x0) / 4)
        var sum = 0
        var n = 0
        for (y in y0 until y1 step step) for (x in x0 until x1 step step) {
            sum += luma.at(y * rowStride + x)
            n++
        }
        sum / maxOf(1, n)
    }

    private fun ByteArray.at(i: Int) = this[i].toInt() and 0xff

    private fun sq(v: Int) = (v * v).toLong()

    private companion object {
        const val GAP = 4
        const val GRID_W = 16
        const val GRID_H = 12
    }
}
