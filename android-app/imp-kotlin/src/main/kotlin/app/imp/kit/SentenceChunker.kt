package app.imp.kit

import app.imp.ffi.ImpFfiException
import app.imp.ffi.SentenceChunker as FfiSentenceChunker

/**
 * Turns a streaming answer into whole sentences for speech and TalkBack, by the
 * core's rules (`rust-core/core/src/text/sentences.rs`), so both apps speak an
 * answer at the same sentence ends. Sentences longer than [maxLength]
 * characters are cut at a comma or a space (0: the core's default, 200).
 */
class SentenceChunker(maxLength: Int = 0) {
    private val chunker = FfiSentenceChunker(maxLength.coerceAtLeast(0).toUInt())

    /** Text held back waiting for a sentence end. */
    val held: String get() = orElse("") { chunker.held() }

    /** Adds a piece of the answer; returns the sentences it completed. */
    fun append(piece: String): List<String> = orElse(listOf(piece)) { chunker.append(piece) }

    /** The rest of the answer, if any words are left; the chunker is then empty. */
    fun finish(): List<String> = orElse(emptyList()) { chunker.finish() }

    /**
     * The core failing here would be a bug (its only error is a caught panic);
     * the person still hears the answer, unchunked, rather than silence.
     */
    private inline fun <T> orElse(fallback: T, call: () -> T): T =
        try {
            call()
        } catch (_: ImpFfiException) {
            fallback
        }
}
