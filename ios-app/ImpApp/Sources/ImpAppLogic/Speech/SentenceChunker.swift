import Foundation

/// Turns a streaming answer into whole sentences for speech. Tokens arrive a
/// few characters at a time; speaking or announcing each would be noise, so
/// text is released only at sentence ends. The rules below are written for
/// the Android app to follow too (docs/ios.md, "The iOS app").
///
/// Rules:
/// 1. A sentence ends at `.`, `!`, `?`, `…` (or `。！？`), with any closing quotes
///    or brackets, once whitespace follows; so "3.5" and "example.com" never end one.
/// 2. A line break ends a sentence (list items, headings).
/// 3. A period does not end a sentence after a known abbreviation ("e.g.",
///    "Dr.", "approx."), a single letter ("J. Smith", "U.S.") or a list number
///    at the start of a sentence ("1. Milk").
/// 4. A sentence longer than `maxLength` characters is released at its last
///    comma, semicolon, colon or dash, else its last space, so speech never
///    waits long for a run-on sentence.
/// 5. What is spoken is cleaned of list markers and markdown symbols (`*`, `#`,
///    backticks); empty sentences are dropped.
/// 6. `finish()` releases whatever is left.
public struct SentenceChunker: Sendable {
    public let maxLength: Int
    private var pending = ""

    public init(maxLength: Int = 200) {
        self.maxLength = maxLength
    }

    /// Adds a piece of the answer; returns the sentences it completed.
    public mutating func append(_ piece: String) -> [String] {
        pending += piece
        var sentences: [String] = []
        while let end = nextBoundary() {
            let sentence = String(pending[..<end])
            pending = String(pending[end...])
            if let spoken = Self.spoken(sentence) { sentences.append(spoken) }
        }
        return sentences
    }

    /// The rest of the answer, if any words are left.
    public mutating func finish() -> [String] {
        defer { pending = "" }
        return Self.spoken(pending).map { [$0] } ?? []
    }

    /// Text held back waiting for a sentence end.
    public var held: String { pending }

    private static let enders: Set<Character> = [".", "!", "?", "…", "。", "！", "？"]
    private static let closers: Set<Character> = ["\"", "'", ")", "]", "}", "»", "”", "’"]
    private static let wideEnders: Set<Character> = ["。", "！", "？"]
    private static let softBreaks: Set<Character> = [",", ";", ":", "—", "–"]
    private static let abbreviations: Set<String> = [
        "e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "approx",
        "ca", "fig", "cf", "mt", "ft", "inc", "ltd", "co",
    ]

    /// Where the first complete sentence in `pending` ends (exclusive), if any.
    private func nextBoundary() -> String.Index? {
        var i = pending.startIndex
        while i < pending.endIndex {
            let c = pending[i]
            if c == "\n" { return pending.index(after: i) }
            if Self.enders.contains(c) {
                var j = pending.index(after: i)
                // "...", "?!" and closing quotes belong to the sentence.
                while j < pending.endIndex, Self.enders.contains(pending[j]) || Self.closers.contains(pending[j]) {
                    j = pending.index(after: j)
                }
                // Full-width enders need no space after them (CJK has none).
                if Self.wideEnders.contains(c) { return j }
                guard j < pending.endIndex else { return nil }  // wait: "3." may become "3.5"
                if pending[j].isWhitespace, !(c == "." && isAbbreviation(endingAt: i)) {
                    return j
                }
                i = j
                continue
            }
            i = pending.index(after: i)
        }
        return pending.count > maxLength ? softBoundary() : nil
    }

    /// The word before the period at `dot` is one after which sentences go on.
    private func isAbbreviation(endingAt dot: String.Index) -> Bool {
        let head = pending[..<dot]
        let wordStart = head.lastIndex(where: { $0.isWhitespace }).map { head.index(after: $0) } ?? head.startIndex
        let word = head[wordStart...].trimmingCharacters(in: CharacterSet(charactersIn: "(\"'“‘"))
        if word.count == 1, word.first!.isLetter { return true }  // "J. Smith"
        if Self.abbreviations.contains(word.lowercased()) { return true }
        // "U.S." style: letters separated by dots.
        if word.contains("."), word.split(separator: ".").allSatisfy({ $0.count == 1 }) { return true }
        // A list number opening the sentence: "1. Milk".
        let before = head[..<wordStart]
        let opensSentence = before.allSatisfy { $0.isWhitespace }
        return opensSentence && !word.isEmpty && word.allSatisfy(\.isNumber)
    }

    /// For a sentence over `maxLength`: after its last soft break, else its last space.
    private func softBoundary() -> String.Index? {
        let window = pending.prefix(maxLength)
        if let comma = window.lastIndex(where: { Self.softBreaks.contains($0) }),
            comma > window.startIndex
        {
            return pending.index(after: comma)
        }
        if let space = window.lastIndex(where: { $0.isWhitespace }), space > window.startIndex {
            return space
        }
        return window.endIndex
    }

    /// The sentence as it should be spoken, or nil if nothing would be heard.
    static func spoken(_ raw: String) -> String? {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        // List markers and headings: "- ", "* ", "• ", "## ".
        while let first = text.first, "-*•#".contains(first) {
            text.removeFirst()
            text = text.trimmingCharacters(in: .whitespaces)
        }
        text = text.replacingOccurrences(of: "**", with: "")
            .replacingOccurrences(of: "__", with: "")
            .replacingOccurrences(of: "`", with: "")
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.contains(where: { $0.isLetter || $0.isNumber }) ? text : nil
    }
}
