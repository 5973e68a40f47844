package app.imp.android.ui.common

import java.util.Locale

/** Sizes as people read and hear them (decimal units, as the Files app shows them). */
object ByteSize {
    fun text(bytes: Long): String = format(bytes, listOf("bytes", "kB", "MB", "GB", "TB"))

    /** For TalkBack: "2.4 gigabytes", which it reads better than "2.4 GB". */
    fun spoken(bytes: Long): String = format(bytes, listOf("bytes", "kilobytes", "megabytes", "gigabytes", "terabytes"))

    /** Whole percent done, or null without a total. */
    fun percent(done: Long, total: Long?): Int? =
        if (total == null || total <= 0) null else (done.coerceAtLeast(0) * 100 / total).coerceAtMost(100).toInt()

    private fun format(bytes: Long, units: List<String>): String {
        var value = bytes.toDouble()
        var unit = 0
        while (value >= 1000 && unit < units.size - 1) {
            value /= 1000
            unit++
        }
        if (unit == 0) return "$bytes ${units[0]}"
        val rounded = if (value >= 100) value.toLong().toString() else String.format(Locale.ROOT, "%.1f", value)
        return "$rounded ${units[unit]}"
    }
}

/** Joins parts into sentences for TalkBack: each ends with one stop, so the voice pauses between them. */
object SpokenText {
    fun sentences(parts: List<String>): String = parts.map(String::trim).filter(String::isNotEmpty)
        .joinToString(" ") { if (it.last() in ".?!…:") it else "$it." }
}
