//! A question as a person types, dictates or pastes it, through each Imp
//! chat template and that model's tokenizer (the fixtures'): the prompt holds
//! exactly one image and the template's own turns, whatever the question
//! says. The first byte picks the first turn or a follow-up.
#![no_main]

use std::sync::OnceLock;

use imp_core::text::chat_template::ChatTemplate;
use imp_core::text::tokenizer::ImpTokenizer;
use libfuzzer_sys::fuzz_target;

fn models() -> &'static [(ChatTemplate, ImpTokenizer)] {
    static MODELS: OnceLock<Vec<(ChatTemplate, ImpTokenizer)>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        [
            (ChatTemplate::Phi2, "tiny-imp-196-msft"),
            (ChatTemplate::Qwen2, "tiny-imp-qwen2"),
            (ChatTemplate::Phi3, "tiny-imp-phi3"),
        ]
        .into_iter()
        .map(|(template, dir)| {
            let tokenizer = ImpTokenizer::from_dir(&fixtures.join(dir)).expect("fixture tokenizer");
            (template, tokenizer)
        })
        .collect()
    })
}

/// How many times each marker's token appears in `ids`.
fn marker_counts(template: ChatTemplate, tokenizer: &ImpTokenizer, ids: &[u32]) -> Vec<usize> {
    template
        .markers()
        .iter()
        .filter_map(|m| tokenizer.token_id(m))
        .map(|id| ids.iter().filter(|&&i| i == id).count())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let question = String::from_utf8_lossy(rest);
    for (template, tokenizer) in models() {
        let (prompt, plain) = if pick & 1 == 0 {
            (template.first_turn(&question), template.first_turn("q"))
        } else {
            (template.next_turn(&question), template.next_turn("q"))
        };
        let ids = tokenizer.encode(&prompt).expect("a prompt encodes");
        let expected = tokenizer.encode(&plain).expect("a prompt encodes");
        assert_eq!(
            marker_counts(*template, tokenizer, &ids),
            marker_counts(*template, tokenizer, &expected),
            "{template:?}: the question {question:?} changed the prompt's structure"
        );
    }
});
