package app.imp.android.speech

/**
 * Turns a streaming answer into whole sentences for speech and TalkBack.
 * Tokens arrive a few characters at a time; speaking or announcing each would be
 * noise, so text is released only at sentence ends. The same rules as the iOS
 * app's SentenceChunker:
 *
 * 1. A sentence ends at `.`, `!`, `?`, `…` (or `。！？`), with any closing quotes
 *    or brackets, once whitespace follows; so "3.5" and "example.com" never end one.
 * 2. A line break ends a sentence (list items, headings).
 * 3. A period does not end a sentence after a known abbreviation ("e.g.",
 *    "Dr.", "approx."), a single letter ("J. Smith", "U.S.") or a list number
 *    at the start of a sentence ("1. Milk").
 * 4. A sentence longer than [maxLength] characters is released at its last
 *    comma, semicolon, colon or dash, else its last space, so speech never
 *    waits long for a run-on sentence.
 * 5. What is spoken is cleaned of list markers and markdown symbols (`*`, `#`,
 *    backticks); empty sentences are dropped.
 * 6. [finish] releases whatever is left.
 */
class SentenceChunker(private val maxLength: Int = 200) {
    private var pending = StringBuilder()

    /** Text held back waiting for a sentence end. */
    val held: String get() = pending.toString()

    /** Adds a piece of the answer; returns the sentences it completed. */
    fun append(piece: String): List<String> {
        pending.append(piece)
        val sentences = mutableListOf<String>()
        while (true) {
            val end = nextBoundary() ?: break
            val sentence = pending.substring(0, end)
            pending = StringBuilder(pending.substring(end))
            spoken(sentence)?.let(sentences::add)
        }
        return sentences
    }

    /** The rest of the answer, if any words are left. */
    fun finish(): List<String> {
        val rest = spoken(pending.toString())
        pending = StringBuilder()
        return listOfNotNull(rest)
    }

    /** Where the first complete sentence in [pending] ends (exclusive), if any. */
    private fun nextBoundary(): Int? {
        val text = pending
        var i = 0
        while (i < text.length) {
            val c = text[i]
            if (c == '\n') return i + 1
            if (c in ENDERS) {
                var j = i + 1
                // "...", "?!" and closing quotes belong to the sentence.
                while (j < text.length && (text[j] in ENDERS || text[j] in CLOSERS)) j++
                // Full-width enders need no space after them (CJK has none).
                if (c in WIDE_ENDERS) return j
                if (j >= text.length) return null // wait: "3." may become "3.5"
                if (text[j].isWhitespace() && !(c == '.' && isAbbreviation(i))) return j
                i = j
                continue
            }
            i++
        }
        return if (text.length > maxLength) softBoundary() else null
    }

    /** The word before the period at [dot] is one after which sentences go on. */
    private fun isAbbreviation(dot: Int): Boolean {
        val head = pending.substring(0, dot)
        val wordStart = head.indexOfLast { it.isWhitespace() } + 1
        val word = head.substring(wordStart).trimStart('(', '"', '\'', '“', '‘')
        if (word.length == 1 && word[0].isLetter()) return true // "J. Smith"
        if (word.lowercase() in ABBREVIATIONS) return true
        // "U.S." style: letters separated by dots.
        if ('.' in word && word.split('.').all { it.length == 1 }) return true
        // A list number opening the sentence: "1. Milk".
        val opensSentence = head.substring(0, wordStart).all { it.isWhitespace() }
        return opensSentence && word.isNotEmpty() && word.all { it.isDigit() }
    }

    /** For a sentence over [maxLength]: after its last soft break, else at its last space. */
    private fun softBoundary(): Int {
        val window = pending.substring(0, maxLength)
        val comma = window.indexOfLast { it in SOFT_BREAKS }
        if (comma > 0) return comma + 1
        val space = window.indexOfLast { it.isWhitespace() }
        if (space > 0) return space
        return maxLength
    }

    companion object {
        private val ENDERS = setOf('.', '!', '?', '…', '。', '！', '？')
        private val CLOSERS = setOf('"', '\'', ')', ']', '}', '»', '”', '’')
        private val WIDE_ENDERS = setOf('。', '！', '？')
        private val SOFT_BREAKS = setOf(',', ';', ':', '—', '–')
        private val ABBREVIATIONS = setOf(
            "e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "approx",
            "ca", "fig", "cf", "mt", "ft", "inc", "ltd", "co",
        )

        /** The sentence as it should be spoken, or null if nothing would be heard. */
        fun spoken(raw: String): String? {
            var text = raw.trim()
            // List markers and headings: "- ", "* ", "• ", "## ".
            while (text.isNotEmpty() && text[0] in "-*•#") text = text.substring(1).trimStart()
            text = text.replace("**", "").replace("__", "").replace("`", "").trim()
            return text.takeIf { t -> t.any { it.isLetterOrDigit() } }
        }
    }
}
