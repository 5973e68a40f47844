//! Running out of memory as an error, not an abort.
//!
//! Rust aborts the process when an allocation fails, and candle allocates
//! inside every tensor operation, so a step that cannot get its memory would
//! take the app down. Before each step that allocates much (the vision tower,
//! a forward pass over a prompt or one token, which may grow the KV cache),
//! the model asks for the step's worst-case working memory with a fallible
//! reservation (`Vec::try_reserve_exact`) and gives it back at once: if the
//! process cannot get it, the step fails with `ImpError::OutOfMemory` before
//! candle allocates anything, and the conversation is left as it was.
//!
//! What this covers: address-space limits (`setrlimit(RLIMIT_AS)`, 32-bit
//! processes) and allocators that return null without overcommit. What it
//! cannot: on Android and iOS the kernel overcommits, so a reservation
//! succeeds and the OS kills the app when pages are touched; there the budget
//! given at load (`EngineOptions::available_memory_bytes`) is the guard.
//! The estimates are upper bounds of what candle holds at once during the
//! step (`tests/hostile_inputs.rs` checks them against a counting allocator),
//! so a limit between the real need and the estimate refuses a step that
//! would have fitted: conservative, never an abort.

use crate::config::ImpConfig;
use crate::error::{ImpError, Result};

const F32: u64 = 4;
const MIB: u64 = 1 << 20;

/// Fails with `OutOfMemory` unless `bytes` more can be allocated right now,
/// plus slack for what the estimates leave out (see `slack`) for a step over
/// `rows` positions.
pub fn ensure(bytes: u64, rows: usize, what: &'static str) -> Result<()> {
    let bytes = bytes + slack(rows);
    let out_of_memory = || ImpError::OutOfMemory {
        what,
        needed_mb: bytes.div_ceil(MIB),
    };
    let size = usize::try_from(bytes).map_err(|_| out_of_memory())?;
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(size).map_err(|_| out_of_memory())?;
    // An allocation nobody reads may be optimised away; this one must happen.
    std::hint::black_box(probe.as_mut_ptr());
    Ok(())
}

/// Allocator rounding, candle's small tensors and gemm's packing buffers, and
/// for 16 rows or more the dequantised weight tile of the mapped path (16 MB).
pub fn slack(rows: usize) -> u64 {
    if rows >= 16 {
        24 * MIB
    } else {
        2 * MIB
    }
}

/// Worst-case bytes a forward pass of `seq` positions after `past` cached
/// ones holds at once: the KV cache's new buffers if it must grow (every
/// layer's, as they grow in the same pass), one layer's activations (q;k;v,
/// attention scores and probabilities over all positions, the MLP's inner
/// width) and the logits.
pub fn forward_bytes(config: &ImpConfig, past: usize, seq: usize) -> u64 {
    let t = &config.text;
    let (seq64, total) = (seq as u64, (past + seq) as u64);
    let (hidden, inner, heads) = (
        t.hidden_size as u64,
        t.intermediate_size as u64,
        t.num_attention_heads as u64,
    );
    // Counted generously: a layer keeps its input, the q;k;v projection and
    // the rotated, contiguous copies of q, k and v, up to three score-sized
    // tensors (scores, their sum with the mask, probabilities) and the mask,
    // and the MLP's input and output of the inner width.
    let activations = seq64 * (12 * hidden + 4 * inner) + 4 * heads * seq64 * total;
    // The cache's buffers double from 64 positions up to the context; the
    // capacity after `past` positions is at least this (more after a rollback,
    // which only makes the estimate larger than the need).
    let context = config.context_length;
    let capacity = |n: usize| n.next_power_of_two().clamp(64, context.max(n)) as u64;
    let kv = if past == 0 || past + seq > capacity(past) as usize {
        2 * t.num_hidden_layers as u64 * capacity(past + seq) * hidden
    } else {
        0
    };
    F32 * (activations + kv + t.vocab_size as u64)
}

/// Worst-case bytes encoding one picture holds at once: the pixels, one
/// vision layer's activations over all patches, and the projector's output.
pub fn vision_bytes(config: &ImpConfig) -> u64 {
    let v = &config.vision;
    let patches = v.num_patches() as u64;
    let (hidden, inner, heads) = (
        v.hidden_size as u64,
        v.intermediate_size as u64,
        v.num_attention_heads as u64,
    );
    let pixels = 3 * (v.image_size * v.image_size) as u64;
    let layer = patches * (12 * hidden + 4 * inner) + 4 * heads * patches * patches;
    let projector = patches * (config.mm_hidden_size as u64 + 2 * config.text.hidden_size as u64);
    F32 * (2 * pixels + layer + projector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_past_any_address_space_is_an_error() {
        assert!(ensure(1 << 20, 1, "a test").is_ok());
        let err = ensure(u64::MAX / 2, 1, "a test").unwrap_err();
        assert!(matches!(err, ImpError::OutOfMemory { .. }), "{err}");
        assert!(err.to_string().contains("a test"), "{err}");
    }
}
