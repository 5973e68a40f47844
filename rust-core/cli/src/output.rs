//! How answers are written: plain streamed text, or one JSON object per token
//! and a closing summary.

use imp_core::{AnswerSummary, TokenEvent};
use serde_json::json;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn token(format: Format, event: &TokenEvent) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not abort generation with a panic.
    let _ = match format {
        Format::Text => write!(out, "{}", event.text),
        Format::Json => {
            let mut line = json!({ "id": event.id, "text": event.text });
            if !event.top_logprobs.is_empty() {
                line["top"] = event
                    .top_logprobs
                    .iter()
                    .map(|(id, lp)| json!({ "id": id, "logprob": lp }))
                    .collect();
            }
            writeln!(out, "{line}")
        }
    };
    let _ = out.flush();
}

pub fn summary(format: Format, summary: &AnswerSummary) {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Text => writeln!(out, "{}", summary.tail),
        Format::Json => writeln!(
            out,
            "{}",
            json!({
                "done": true,
                "stop_reason": summary.stop_reason.as_str(),
                "tail": summary.tail,
                "vision_ms": round(summary.vision_ms),
                "prefill_tokens": summary.prefill_tokens,
                "prefill_ms": round(summary.prefill_ms),
                "decode_tokens": summary.decode_tokens,
                "decode_ms": round(summary.decode_ms),
            })
        ),
    };
    let _ = out.flush();
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}
