//! Where sentences end in a streamed answer, so speech and screen readers get
//! whole sentences instead of a few characters per token. Both apps use this
//! one implementation through the facade; only the wording they add around it
//! is theirs.
//!
//! The rules, on the text as it streams:
//! 1. A sentence ends at `.`, `!`, `?`, `…` (or `。！？`), with any closing
//!    quotes or brackets, once whitespace follows; so "3.5" and "example.com"
//!    never end one. Full-width enders need no whitespace (CJK has none),
//!    only a character after them.
//! 2. A line break ends a sentence (list items, headings).
//! 3. A period does not end a sentence after a known abbreviation ("e.g.",
//!    "Dr.", "approx."), a single letter ("J. Smith", "U.S.") or a list number
//!    opening the sentence ("1. Milk").
//! 4. A sentence longer than `max_chars` characters is released at its last
//!    comma, semicolon, colon or dash within the limit, else its last space,
//!    else at the limit, so speech never waits long for a run-on sentence.
//! 5. What is released is cleaned of list markers and markdown symbols (`*`,
//!    `#`, backticks); sentences with no letter or digit are dropped.
//! 6. [`SentenceChunker::finish`] releases whatever is left.
//!
//! The sentences depend only on the text, not on how it was cut into pieces:
//! every decision waits until the characters it looks at have arrived (tested
//! below and fuzzed by `fuzz_targets/sentences.rs`). Each character is looked
//! at a bounded number of times, so a hostile piece costs linear time.

/// Characters that end a sentence.
const ENDERS: &[char] = &['.', '!', '?', '…', '。', '！', '？'];
/// Full-width enders: the sentence ends without waiting for whitespace.
const WIDE_ENDERS: &[char] = &['。', '！', '？'];
/// Closing quotes and brackets that belong to the sentence they follow.
const CLOSERS: &[char] = &['"', '\'', ')', ']', '}', '»', '”', '’'];
/// Where an over-long sentence may be cut, after the character.
const SOFT_BREAKS: &[char] = &[',', ';', ':', '—', '–'];
/// Words after whose period a sentence goes on (compared in lower case).
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "approx", "ca", "fig",
    "cf", "mt", "ft", "inc", "ltd", "co",
];

/// Turns a streamed answer into whole sentences (the module's rules).
#[derive(Debug, Clone)]
pub struct SentenceChunker {
    max_chars: usize,
    pending: String,
}

impl Default for SentenceChunker {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_CHARS)
    }
}

impl SentenceChunker {
    /// About two lines of speech: long enough for ordinary sentences, short
    /// enough that a run-on one starts being spoken within a few seconds.
    pub const DEFAULT_MAX_CHARS: usize = 200;

    /// A chunker that cuts sentences longer than `max_chars` (at least 1).
    pub fn new(max_chars: usize) -> Self {
        Self {
            max_chars: max_chars.max(1),
            pending: String::new(),
        }
    }

    /// Text held back waiting for a sentence end.
    pub fn held(&self) -> &str {
        &self.pending
    }

    /// Adds a piece of the answer; returns the sentences it completed.
    pub fn push(&mut self, piece: &str) -> Vec<String> {
        self.pending.push_str(piece);
        let mut sentences = Vec::new();
        let mut start = 0;
        while let Some(end) = self.next_end(&self.pending[start..]) {
            sentences.extend(spoken(&self.pending[start..start + end]));
            start += end;
        }
        self.pending.drain(..start);
        sentences
    }

    /// The rest of the answer, if any words are left; the chunker is then empty.
    pub fn finish(&mut self) -> Vec<String> {
        let rest = std::mem::take(&mut self.pending);
        spoken(&rest).into_iter().collect()
    }

    /// The byte length of the first complete sentence of `text`, if one is
    /// complete. Looks at no more than `max_chars + 1` characters past the
    /// start, plus the run of enders and closers at a boundary.
    fn next_end(&self, text: &str) -> Option<usize> {
        let mut chars = text.char_indices().peekable();
        let mut count = 0;
        while let Some((i, c)) = chars.next() {
            count += 1;
            if count > self.max_chars {
                return Some(soft_end(text, self.max_chars));
            }
            if c == '\n' {
                return Some(i + c.len_utf8());
            }
            if !ENDERS.contains(&c) {
                continue;
            }
            // "...", "?!" and closing quotes belong to the sentence.
            let mut end = i + c.len_utf8();
            while let Some(&(j, next)) = chars.peek() {
                if !(ENDERS.contains(&next) || CLOSERS.contains(&next)) {
                    break;
                }
                end = j + next.len_utf8();
                count += 1;
                chars.next();
            }
            if count > self.max_chars {
                return Some(soft_end(text, self.max_chars));
            }
            match chars.peek() {
                // Wait: "3." may become "3.5", and "。" or "?" be followed by
                // more of the run ("。。", "?!").
                None => return None,
                Some(_) if WIDE_ENDERS.contains(&c) => return Some(end),
                Some(&(_, next)) if next.is_whitespace() => {
                    if !(c == '.' && is_abbreviation(&text[..i])) {
                        return Some(end);
                    }
                }
                Some(_) => {}
            }
        }
        None
    }
}

/// For a sentence over `max_chars`: the byte end of the cut, after the last
/// soft break within the limit, else at its last whitespace, else at the limit.
fn soft_end(text: &str, max_chars: usize) -> usize {
    let window_end = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    let window = &text[..window_end];
    let after = |(i, c): (usize, char)| i + c.len_utf8();
    if let Some(cut) = window
        .char_indices()
        .rev()
        .find(|&(i, c)| i > 0 && SOFT_BREAKS.contains(&c))
        .map(after)
    {
        return cut;
    }
    match window
        .char_indices()
        .rev()
        .find(|&(i, c)| i > 0 && c.is_whitespace())
    {
        Some((space, _)) => space,
        None => window_end,
    }
}

/// Whether the word ending just before a period is one after which the
/// sentence goes on. `head` is the sentence up to the period.
fn is_abbreviation(head: &str) -> bool {
    let word_start = head
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = head[word_start..].trim_start_matches(['(', '"', '\'', '“', '‘']);
    let mut letters = word.chars();
    if let (Some(only), None) = (letters.next(), letters.next()) {
        if only.is_alphabetic() {
            return true; // "J. Smith"
        }
    }
    if ABBREVIATIONS.contains(&word.to_lowercase().as_str()) {
        return true;
    }
    // "U.S." style: single letters between dots.
    if word.contains('.') && word.split('.').all(|part| part.chars().count() == 1) {
        return true;
    }
    // A list number opening the sentence: "1. Milk".
    let opens_sentence = head[..word_start].chars().all(char::is_whitespace);
    opens_sentence && !word.is_empty() && word.chars().all(char::is_numeric)
}

/// The sentence as it should be spoken, or None if nothing would be heard.
fn spoken(raw: &str) -> Option<String> {
    // List markers and headings: "- ", "* ", "• ", "## ".
    let text = raw
        .trim()
        .trim_start_matches(|c: char| "-*•#".contains(c) || c.is_whitespace());
    let text = text.replace("**", "").replace("__", "").replace('`', "");
    let text = text.trim();
    text.chars()
        .any(char::is_alphanumeric)
        .then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` as tokens would arrive; every sentence released, and
    /// the index of the piece that released it (`pieces.len()` for finish).
    fn chunk(pieces: &[&str], max_chars: usize) -> (Vec<String>, Vec<usize>) {
        let mut chunker = SentenceChunker::new(max_chars);
        let (mut sentences, mut at) = (Vec::new(), Vec::new());
        for (i, piece) in pieces.iter().enumerate() {
            for s in chunker.push(piece) {
                sentences.push(s);
                at.push(i);
            }
        }
        for s in chunker.finish() {
            sentences.push(s);
            at.push(pieces.len());
        }
        (sentences, at)
    }

    fn each_char(text: &str) -> Vec<String> {
        text.chars().map(String::from).collect()
    }

    fn sentences_of_chars(text: &str, max_chars: usize) -> Vec<String> {
        let pieces = each_char(text);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        chunk(&refs, max_chars).0
    }

    #[test]
    fn whole_sentences_are_released_as_soon_as_they_end() {
        let pieces = [
            "A", " red", " cup", " sits", " on", " a", " table", ".", " It", " is", " full", "!",
            " Why", "?",
        ];
        let (sentences, at) = chunk(&pieces, 200);
        assert_eq!(
            sentences,
            ["A red cup sits on a table.", "It is full!", "Why?"]
        );
        // The first goes once the space after its period arrives, not at the end.
        assert_eq!(at, [8, 12, 14]);
    }

    #[test]
    fn nothing_is_released_mid_sentence() {
        let mut chunker = SentenceChunker::default();
        for piece in ["The", " label", " says", " \"Fragile"] {
            assert!(chunker.push(piece).is_empty());
        }
        assert_eq!(chunker.push(".\" Handle"), ["The label says \"Fragile.\""]);
        assert_eq!(chunker.held(), " Handle");
    }

    #[test]
    fn decimals_domains_and_abbreviations_do_not_end_sentences() {
        let text = "It costs 3.50 dollars at shop.example.com today. Dr. Smith, e.g. the vet, \
                    is at St. Mary's. Done.";
        assert_eq!(
            sentences_of_chars(text, 200),
            [
                "It costs 3.50 dollars at shop.example.com today.",
                "Dr. Smith, e.g. the vet, is at St. Mary's.",
                "Done."
            ]
        );
    }

    #[test]
    fn initials_and_list_numbers_stay_with_their_text() {
        let pieces = [
            "Signed J. R. Smith in the U.S. office.",
            "\n1. Milk\n2. Eggs, a dozen.\nI count 3. Fine.",
        ];
        assert_eq!(
            chunk(&pieces, 200).0,
            [
                "Signed J. R. Smith in the U.S. office.",
                "1. Milk",
                "2. Eggs, a dozen.",
                "I count 3.",
                "Fine."
            ]
        );
    }

    #[test]
    fn line_breaks_end_sentences_and_markdown_is_not_spoken() {
        let pieces = [
            "## Text found\n",
            "- **Exit** only\n",
            "* Open `9-5`\n",
            "\n",
            "---\n",
        ];
        assert_eq!(
            chunk(&pieces, 200).0,
            ["Text found", "Exit only", "Open 9-5"]
        );
    }

    #[test]
    fn ellipses_and_mixed_punctuation_stay_with_their_sentence() {
        let pieces = ["Wait... what?! ", "No way…", " Yes?!\" he said."];
        assert_eq!(
            chunk(&pieces, 200).0,
            ["Wait...", "what?!", "No way…", "Yes?!\"", "he said."]
        );
    }

    #[test]
    fn full_width_enders_need_no_space() {
        let pieces = ["这是一个杯子。", "它是红色的！"];
        assert_eq!(chunk(&pieces, 200).0, ["这是一个杯子。", "它是红色的！"]);
    }

    #[test]
    fn a_run_of_full_width_enders_stays_together_however_it_arrives() {
        // Found by fuzzing: streamed, the first "。" ended the sentence and the
        // second was dropped as a sentence of its own.
        let text = "这是什么。。好的！？ 再见";
        assert_eq!(chunk(&[text], 200).0, ["这是什么。。", "好的！？", "再见"]);
        assert_eq!(sentences_of_chars(text, 200), chunk(&[text], 200).0);
    }

    #[test]
    fn a_run_on_sentence_is_cut_at_a_comma_before_the_limit() {
        let clause = "a shelf with jars of jam, honey and pickles";
        let text = [clause; 6].join(", ") + ".";
        let sentences = sentences_of_chars(&text, 120);
        assert!(sentences.len() > 1);
        assert!(
            sentences.iter().all(|s| s.chars().count() <= 120),
            "{sentences:?}"
        );
        let (last, rest) = sentences.split_last().unwrap();
        assert!(rest.iter().all(|s| s.ends_with(',')), "{sentences:?}");
        assert!(last.ends_with('.'));
        assert_eq!(sentences.join(" "), text);
    }

    #[test]
    fn an_unbroken_run_is_cut_at_the_limit() {
        let text = "x".repeat(250);
        let lengths: Vec<usize> = chunk(&[&text], 100).0.iter().map(String::len).collect();
        assert_eq!(lengths, [100, 100, 50]);
    }

    #[test]
    fn finish_releases_the_rest_and_drops_what_would_not_be_heard() {
        let mut chunker = SentenceChunker::default();
        assert!(chunker.push("Almost done").is_empty());
        assert_eq!(chunker.finish(), ["Almost done"]);
        assert!(chunker.finish().is_empty());
        assert!(chunker.push(" ... ").is_empty());
        assert!(chunker.finish().is_empty());
    }

    #[test]
    fn pieces_split_inside_a_word_or_after_the_period_join() {
        let (sentences, at) = chunk(&["Hel", "lo.", " Wor", "ld", "."], 200);
        assert_eq!(sentences, ["Hello.", "World."]);
        assert_eq!(at, [2, 5]);
    }

    #[test]
    fn a_long_sentence_arriving_whole_is_cut_as_if_it_streamed() {
        // The period ends the text well past the limit: streamed, the soft
        // cut would have come first, so it must come first here too.
        let text = format!("{}, {}. Next one. ", "word ".repeat(30), "more ".repeat(30));
        let whole = chunk(&[&text], 80).0;
        assert_eq!(whole, sentences_of_chars(&text, 80));
        assert!(whole.iter().all(|s| s.chars().count() <= 80), "{whole:?}");
    }

    #[test]
    fn the_sentences_do_not_depend_on_how_the_text_was_cut() {
        let run_on = format!("{} end. ", "runon, ".repeat(60));
        let texts = [
            "Dr. J. Smith said: \"Take 2.5 mg twice a day.\" Then stop!\n\n- Keep cool… Ask?! ",
            "这是一个杯子。它是红色的！ Fine... 1. One\n2. Two",
            run_on.as_str(),
            "a.b.c. d. 3. U.S. e.g. x",
        ];
        for text in texts {
            for max in [1, 7, 40, 200] {
                let whole = chunk(&[text], max).0;
                assert_eq!(whole, sentences_of_chars(text, max), "{text:?} at {max}");
                // Cut in thirds at character boundaries.
                let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                let (a, b) = (cuts[cuts.len() / 3], cuts[2 * cuts.len() / 3]);
                let thirds = chunk(&[&text[..a], &text[a..b], &text[b..]], max).0;
                assert_eq!(whole, thirds, "{text:?} at {max}");
            }
        }
    }

    #[test]
    fn a_huge_piece_with_no_end_is_cut_into_limit_sized_sentences() {
        // 1 MiB with no sentence end, in one piece (a hostile or broken model).
        let text = "y".repeat(1 << 20);
        let sentences = chunk(&[&text], 200).0;
        assert_eq!(sentences.len(), (1 << 20) / 200 + 1);
        assert!(sentences.iter().all(|s| s.len() <= 200));
    }
}
