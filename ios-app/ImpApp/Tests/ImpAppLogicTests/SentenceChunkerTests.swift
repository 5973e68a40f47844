import ImpKit
import XCTest

/// The core's chunker as the app sees it through ImpKit (the rules and their
/// Rust tests: rust-core/core/src/text/sentences.rs).

final class SentenceChunkerTests: XCTestCase {
    /// Feeds `pieces` as tokens would arrive; returns every sentence released, and when.
    func chunk(_ pieces: [String], maxLength: Int = 200) -> (sentences: [String], releasedAt: [Int]) {
        let chunker = SentenceChunker(maxLength: maxLength)
        var sentences: [String] = [], releasedAt: [Int] = []
        for (i, piece) in pieces.enumerated() {
            for s in chunker.append(piece) {
                sentences.append(s)
                releasedAt.append(i)
            }
        }
        for s in chunker.finish() {
            sentences.append(s)
            releasedAt.append(pieces.count)
        }
        return (sentences, releasedAt)
    }

    func testReleasesWholeSentencesAsSoonAsTheyEnd() {
        let pieces = ["A", " red", " cup", " sits", " on", " a", " table", ".", " It", " is", " full", "!", " Why", "?"]
        let (sentences, at) = chunk(pieces)
        XCTAssertEqual(sentences, ["A red cup sits on a table.", "It is full!", "Why?"])
        // The first sentence goes once the space after its period arrives, not at the end.
        XCTAssertEqual(at, [8, 12, 14])
    }

    func testNothingIsReleasedMidSentence() {
        let chunker = SentenceChunker()
        for piece in ["The", " label", " says", " \"Fragile"] {
            XCTAssertEqual(chunker.append(piece), [])
        }
        XCTAssertEqual(chunker.append(".\" Handle"), ["The label says \"Fragile.\""])
        XCTAssertEqual(chunker.held, " Handle")
    }

    func testDecimalsDomainsAndAbbreviationsDoNotEndSentences() {
        let text = "It costs 3.50 dollars at shop.example.com today. Dr. Smith, e.g. the vet, is at St. Mary's. Done."
        let (sentences, _) = chunk(text.map(String.init))
        XCTAssertEqual(sentences, [
            "It costs 3.50 dollars at shop.example.com today.",
            "Dr. Smith, e.g. the vet, is at St. Mary's.",
            "Done.",
        ])
    }

    func testInitialsAndListNumbersStayWithTheirText() {
        let (sentences, _) = chunk(["Signed J. R. Smith in the U.S. office.", "\n1. Milk\n2. Eggs, a dozen.\nI count 3. Fine."])
        XCTAssertEqual(sentences, ["Signed J. R. Smith in the U.S. office.", "1. Milk", "2. Eggs, a dozen.", "I count 3.", "Fine."])
    }

    func testLineBreaksEndSentencesAndMarkdownIsNotSpoken() {
        let (sentences, _) = chunk(["## Text found\n", "- **Exit** only\n", "* Open `9-5`\n", "\n", "---\n"])
        XCTAssertEqual(sentences, ["Text found", "Exit only", "Open 9-5"])
    }

    func testEllipsesAndMixedPunctuationStayWithTheirSentence() {
        let (sentences, _) = chunk(["Wait... what?! ", "No way…", " Yes?!\" he said."])
        XCTAssertEqual(sentences, ["Wait...", "what?!", "No way…", "Yes?!\"", "he said."])
    }

    func testFullWidthEndersNeedNoSpace() {
        let (sentences, _) = chunk(["这是一个杯子。", "它是红色的！"])
        XCTAssertEqual(sentences, ["这是一个杯子。", "它是红色的！"])
    }

    func testARunOnSentenceIsCutAtACommaBeforeTheLimit() {
        let clause = "a shelf with jars of jam, honey and pickles"
        let text = Array(repeating: clause, count: 6).joined(separator: ", ") + "."
        let (sentences, _) = chunk(text.map(String.init), maxLength: 120)
        XCTAssertGreaterThan(sentences.count, 1)
        XCTAssertTrue(sentences.allSatisfy { $0.count <= 120 }, "\(sentences.map(\.count))")
        XCTAssertTrue(sentences.dropLast().allSatisfy { $0.hasSuffix(",") }, "\(sentences)")
        XCTAssertEqual(sentences.joined(separator: " "), text)
    }

    func testAnUnbrokenRunIsCutAtTheLimit() {
        let text = String(repeating: "x", count: 250)
        let (sentences, _) = chunk([text], maxLength: 100)
        XCTAssertEqual(sentences.map(\.count), [100, 100, 50])
    }

    func testFinishReleasesTheRestAndDropsWhatWouldNotBeHeard() {
        let chunker = SentenceChunker()
        XCTAssertEqual(chunker.append("Almost done"), [])
        XCTAssertEqual(chunker.finish(), ["Almost done"])
        XCTAssertEqual(chunker.finish(), [])
        XCTAssertEqual(chunker.append(" ... "), [])
        XCTAssertEqual(chunker.finish(), [])
    }

    func testPiecesSplitInsideAWordOrAfterThePeriodJoin() {
        // The period arrives, then the space in the next token: only then is the sentence complete.
        let (sentences, at) = chunk(["Hel", "lo.", " Wor", "ld", "."])
        XCTAssertEqual(sentences, ["Hello.", "World."])
        XCTAssertEqual(at, [2, 5])
    }
}
