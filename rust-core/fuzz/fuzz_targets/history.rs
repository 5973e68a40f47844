//! Conversation history files as another version, a crash or a full disk
//! may have left them: part 1 is a conversation's `conversation.json`, part 2
//! an old single-file conversation (version 1) migrated at open. Listing and
//! loading either report a corrupt conversation or read it, and appending a
//! turn keeps what was there.
#![no_main]

use imp_core_fuzz::{fresh_dir, parts, write};
use imp_store::history::{History, Turn, TurnTimings};
use libfuzzer_sys::fuzz_target;

const ID: &str = "00000000000000a1";

fuzz_target!(|data: &[u8]| {
    let [current, old] = parts(data, 2)[..] else {
        return;
    };
    let dir = fresh_dir("history");
    std::fs::create_dir_all(dir.join(ID)).expect("scratch folder");
    write(&dir.join(ID), "conversation.json", current);
    if !old.is_empty() {
        write(&dir, "00000000000000b2.json", old);
    }
    let Ok(history) = History::open(&dir, 1 << 30) else {
        return;
    };
    let _ = history.list(0, 100);
    let Ok(before) = history.load(ID) else {
        return;
    };
    let turn = Turn {
        question: "And?".into(),
        answer: "Yes.".into(),
        stop_reason: "eos".into(),
        asked_at_ms: 1,
        timings: TurnTimings::default(),
    };
    if let Ok(after) = history.append_turn(ID, turn) {
        assert_eq!(after.turns.len(), before.turns.len() + 1);
        assert_eq!(after.turns[..before.turns.len()], before.turns[..]);
    }
});
