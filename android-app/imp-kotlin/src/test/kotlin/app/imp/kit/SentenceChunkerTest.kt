package app.imp.kit

import kotlin.test.Test
import kotlin.test.assertEquals

/**
 * The core's sentence chunker as the Android app speaks with it (the rules and
 * their Rust tests: rust-core/core/src/text/sentences.rs; iOS runs the same
 * cases in SentenceChunkerTests.swift).
 */
class SentenceChunkerTest {
    @Test
    fun releasesWholeSentencesAsSoonAsTheyEnd() {
        val chunker = SentenceChunker()
        val pieces = listOf("A", " red", " cup.", " It", " is", " full", "!", " Why")
        // Which piece released which sentence: the period's, once a space follows it.
        val released = pieces.withIndex().flatMap { (i, piece) -> chunker.append(piece).map { i to it } }
        assertEquals(listOf(3 to "A red cup.", 7 to "It is full!"), released)
        assertEquals(" Why", chunker.held)
        assertEquals(listOf("Why"), chunker.finish())
        assertEquals("", chunker.held)
    }

    @Test
    fun nonAsciiTextAndTheLimitCrossTheBoundaryIntact() {
        val chunker = SentenceChunker(maxLength = 10)
        assertEquals(listOf("这是一个杯子。", "Ünïcödé,"), chunker.append("这是一个杯子。Ünïcödé, ok"))
        assertEquals(listOf("ok"), chunker.finish())
    }
}
