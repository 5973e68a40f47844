//! An answer's text, however the model streams it, through the sentence
//! chunker both apps speak with: the sentences are the same whether the text
//! arrives whole or in pieces, none is longer than the limit, and every letter
//! and digit of the answer is spoken once, in order. The first byte sets the
//! limit, the second where the text is cut.
#![no_main]

use imp_core::text::sentences::SentenceChunker;
use libfuzzer_sys::fuzz_target;

fn sentences(pieces: &[&str], max_chars: usize) -> Vec<String> {
    let mut chunker = SentenceChunker::new(max_chars);
    let mut out: Vec<String> = pieces.iter().flat_map(|p| chunker.push(p)).collect();
    out.extend(chunker.finish());
    out
}

fn alphanumerics(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| c.is_alphanumeric())
}

fuzz_target!(|data: &[u8]| {
    let [limit, cut, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let max_chars = usize::from(*limit) + 1;
    let whole = sentences(&[&text], max_chars);

    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let at = bounds
        .get(usize::from(*cut) % bounds.len().max(1))
        .copied()
        .unwrap_or(0);
    let (head, tail) = text.split_at(at);
    assert_eq!(whole, sentences(&[head, tail], max_chars), "cut at {at}");
    let each: Vec<String> = text.chars().map(String::from).collect();
    let each: Vec<&str> = each.iter().map(String::as_str).collect();
    assert_eq!(whole, sentences(&each, max_chars), "character by character");

    for sentence in &whole {
        assert!(
            sentence.chars().count() <= max_chars,
            "{sentence:?} over {max_chars}"
        );
        assert!(
            alphanumerics(sentence).next().is_some(),
            "{sentence:?} says nothing"
        );
    }
    let spoken: String = whole.concat();
    assert!(
        alphanumerics(&spoken).eq(alphanumerics(&text)),
        "words lost or added"
    );
});
