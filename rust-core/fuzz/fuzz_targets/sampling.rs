//! The generation parameters an app passes (temperature, top-k, top-p,
//! repetition penalty, seed) and the logits a model could produce (any
//! floats, NaN and infinities included): a sampler either refuses the
//! parameters or picks a token of the vocabulary.
#![no_main]

use imp_core::generation::sampling::{Sampler, SamplingParams};
use libfuzzer_sys::fuzz_target;

fn f32_at(data: &[u8], at: usize) -> f32 {
    data.get(at..at + 4)
        .map_or(0.0, |b| f32::from_le_bytes(b.try_into().unwrap()))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let (head, rest) = data.split_at(24);
    let params = SamplingParams {
        temperature: f32_at(head, 0),
        top_k: (head[4] & 1 == 1)
            .then(|| u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize >> 1),
        top_p: (head[8] & 1 == 1).then(|| f32_at(head, 12)),
        repetition_penalty: f32_at(head, 16),
        seed: u64::from(u32::from_le_bytes(head[20..24].try_into().unwrap())),
    };
    let Ok(mut sampler) = Sampler::new(params) else {
        return;
    };
    let (logits, previous) = rest.split_at(rest.len() / 5 * 4);
    let logits: Vec<f32> = logits
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    if logits.is_empty() {
        return;
    }
    let previous: Vec<u32> = previous.iter().map(|&b| u32::from(b) * 7).collect();
    for _ in 0..3 {
        let id = sampler.sample(&logits, &previous);
        assert!(
            (id as usize) < logits.len(),
            "token {id} of {}",
            logits.len()
        );
    }
});
