package app.imp.android.pictures

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Matrix
import android.media.ExifInterface
import java.io.File
import java.io.InputStream

/**
 * Pictures the right way up: a phone's camera stores the sensor's frame and an
 * EXIF orientation saying how to turn it, which a decoder does not apply.
 */
object UprightPicture {
    /** How far [exif] says to turn the picture, clockwise, in degrees (0 if it says nothing). */
    fun degrees(exif: InputStream): Int = runCatching {
        when (ExifInterface(exif).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)) {
            ExifInterface.ORIENTATION_ROTATE_90 -> 90
            ExifInterface.ORIENTATION_ROTATE_180 -> 180
            ExifInterface.ORIENTATION_ROTATE_270 -> 270
            else -> 0
        }
    }.getOrDefault(0)

    fun rotate(bitmap: Bitmap, degrees: Int): Bitmap = if (degrees == 0) {
        bitmap
    } else {
        Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, Matrix().apply { postRotate(degrees.toFloat()) }, true)
    }

    /**
     * [file] for the screen: at most about [maxSide] px on its long side (the
     * file may be a full camera frame), upright. Null if it cannot be read.
     * Reads the file: not on the main thread.
     */
    fun forScreen(file: File, maxSide: Int): Bitmap? = runCatching {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeFile(file.path, bounds)
        val side = maxOf(bounds.outWidth, bounds.outHeight)
        if (side <= 0) return null
        var sample = 1
        while (side / (sample * 2) >= maxSide) sample *= 2
        val decoded = BitmapFactory.decodeFile(file.path, BitmapFactory.Options().apply { inSampleSize = sample })
            ?: return null
        rotate(decoded, file.inputStream().use(::degrees))
    }.getOrNull()
}
