//! The conversation history: round trip, paging, deleting, the size bound, a
//! corrupt entry skipped, a writer killed mid-write losing nothing saved
//! before, and the version-1 fixture migrated.

use imp_store::history::{History, Turn, TurnTimings, CURRENT_VERSION, MAX_THUMBNAIL_SIDE};
use imp_store::StoreError;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn photo() -> Vec<u8> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images");
    std::fs::read(fixtures.join("large.png")).unwrap()
}

fn turn(n: usize) -> Turn {
    Turn {
        question: format!("question {n}: what is written here? « ü »"),
        answer: format!("answer {n}"),
        stop_reason: "eos".into(),
        asked_at_ms: 1_700_000_000_000 + n as u64,
        timings: TurnTimings {
            vision_ms: 12.5,
            prefill_tokens: 236,
            prefill_ms: 800.25,
            decode_tokens: 9,
            decode_ms: 700.0,
        },
    }
}

#[test]
fn conversations_round_trip_with_their_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let created = history.create("imp-3b-196-q4_k", &photo()).unwrap();
    history.append_turn(&created.id, turn(1)).unwrap();
    let after = history.append_turn(&created.id, turn(2)).unwrap();
    // Reopened, as after a restart.
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let loaded = history.load(&created.id).unwrap();
    assert_eq!(loaded, after);
    assert_eq!(loaded.turns, vec![turn(1), turn(2)]);
    assert_eq!(loaded.model_id, "imp-3b-196-q4_k");
    let thumb = image::load_from_memory(&history.thumbnail(&created.id).unwrap()).unwrap();
    // large.png is 920x600: the long side shrinks to the bound, aspect kept.
    assert_eq!((thumb.width(), thumb.height()), (MAX_THUMBNAIL_SIDE, 167));
    assert!(matches!(
        history.load("0123456789abcdef"),
        Err(StoreError::UnknownConversation(_))
    ));
    assert!(matches!(
        history.load("../etc"),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn the_list_is_newest_first_in_pages_and_deletes_work() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = history.create(&format!("m{i}"), &photo()).unwrap();
        history.append_turn(&c.id, turn(i)).unwrap();
        ids.push(c.id);
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    // Using an old conversation brings it to the top.
    std::thread::sleep(std::time::Duration::from_millis(3));
    history.append_turn(&ids[0], turn(9)).unwrap();
    let first = history.list(0, 2).unwrap();
    assert_eq!(first.total, 5);
    assert_eq!(first.skipped, 0);
    let order: Vec<_> = first.items.iter().map(|c| c.id.clone()).collect();
    assert_eq!(order, vec![ids[0].clone(), ids[4].clone()]);
    assert_eq!(first.items[0].turn_count, 2);
    assert_eq!(first.items[0].first_question, Some(turn(0).question));
    assert_eq!(first.items[0].last_answer, Some("answer 9".into()));
    let rest = history.list(2, 10).unwrap();
    assert_eq!(rest.items.len(), 3);
    assert_eq!(rest.items[2].id, ids[1]);
    assert!(history.list(5, 10).unwrap().items.is_empty());

    history.delete(&ids[4]).unwrap();
    assert_eq!(history.list(0, 10).unwrap().total, 4);
    assert!(history.delete(&ids[4]).is_err());
    history.delete_all().unwrap();
    assert_eq!(history.list(0, 10).unwrap().total, 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_oldest_conversations_go_when_the_bound_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let one = {
        let probe = History::open(&dir.path().join("probe"), 1 << 30).unwrap();
        let c = probe.create("m", &photo()).unwrap();
        probe.append_turn(&c.id, turn(0)).unwrap();
        probe.size_bytes()
    };
    // Room for three conversations.
    let history = History::open(&dir.path().join("h"), one * 3 + one / 2).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = history.create("m", &photo()).unwrap();
        history.append_turn(&c.id, turn(i)).unwrap();
        ids.push(c.id);
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let left: Vec<_> = history
        .list(0, 10)
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    assert!(history.size_bytes() <= one * 3 + one / 2);
}

#[test]
fn a_corrupt_conversation_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let good = history.create("m", &photo()).unwrap();
    history.append_turn(&good.id, turn(1)).unwrap();
    let bad = history.create("m", &photo()).unwrap();
    let bad_file = dir.path().join(&bad.id).join("conversation.json");
    let text = std::fs::read(&bad_file).unwrap();
    std::fs::write(&bad_file, &text[..text.len() / 2]).unwrap();
    // A leftover temporary file of an interrupted write is ignored too.
    std::fs::write(
        dir.path().join(&good.id).join("conversation.json.tmp"),
        b"{\"form",
    )
    .unwrap();
    let page = history.list(0, 10).unwrap();
    assert_eq!(page.skipped, 1);
    assert_eq!(page.items.len(), 1);
    assert_eq!(history.load(&good.id).unwrap().turns, vec![turn(1)]);
    assert!(matches!(
        history.load(&bad.id),
        Err(StoreError::CorruptConversation { .. })
    ));
    // A future version is refused by name, not misread.
    std::fs::write(
        &bad_file,
        format!("{{\"format_version\": {}}}", CURRENT_VERSION + 1),
    )
    .unwrap();
    let err = history.load(&bad.id).unwrap_err().to_string();
    assert!(err.contains("format_version"), "{err}");
}

#[test]
fn version_one_is_migrated_with_every_turn_and_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/history-v1/00c0ffee00c0ffee.json");
    std::fs::copy(&fixture, dir.path().join("00c0ffee00c0ffee.json")).unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    assert!(!dir.path().join("00c0ffee00c0ffee.json").exists());
    let c = history.load("00c0ffee00c0ffee").unwrap();
    assert_eq!(c.model_id, "imp-3b-196-q4_k");
    assert_eq!(
        (c.created_at_ms, c.updated_at_ms),
        (1764000000000, 1764000060000)
    );
    assert_eq!(c.turns.len(), 2);
    assert_eq!(c.turns[1].stop_reason, "cancelled");
    assert_eq!(c.turns[0].timings.prefill_tokens, 236);
    assert_eq!(c.turns[0].timings.decode_ms, 390.25);
    let thumb = image::load_from_memory(&history.thumbnail(&c.id).unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (8, 6));
    let written =
        std::fs::read_to_string(dir.path().join(&c.id).join("conversation.json")).unwrap();
    assert!(written.contains(&format!("\"format_version\":{CURRENT_VERSION}")));
    // Still writable as a version-2 conversation.
    history.append_turn(&c.id, turn(3)).unwrap();
    assert_eq!(history.load(&c.id).unwrap().turns.len(), 3);
}

/// The writer side of the kill test: appends turns forever, printing the count
/// after each append has returned (so the parent knows what was saved).
#[test]
fn writer_child_for_the_kill_test() {
    let Ok(dir) = std::env::var("IMP_HISTORY_WRITER_DIR") else {
        return;
    };
    let history = History::open(Path::new(&dir), 1 << 30).unwrap();
    let id = std::env::var("IMP_HISTORY_WRITER_ID").unwrap();
    for n in 1.. {
        let mut t = turn(n);
        // Long answers make each write big enough to be caught half way.
        t.answer = "x".repeat(20_000);
        history.append_turn(&id, t).unwrap();
        println!("saved {n}");
    }
}

#[test]
fn a_writer_killed_mid_write_loses_nothing_saved_before() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let id = history.create("m", &photo()).unwrap().id;
    for round in 0..5 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "writer_child_for_the_kill_test",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("IMP_HISTORY_WRITER_DIR", dir.path())
            .env("IMP_HISTORY_WRITER_ID", &id)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut saved = 0;
        // Kill it at a different point each round, mid-stream of writes.
        while saved < 3 + round * 2 {
            let line = lines.next().unwrap().unwrap();
            if let Some(n) = line.strip_prefix("saved ") {
                saved = n.parse().unwrap();
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let before = history.load(&id).unwrap().turns.len();
        assert!(
            before >= saved,
            "round {round}: {saved} turns confirmed saved, {before} found"
        );
        assert_eq!(history.list(0, 10).unwrap().skipped, 0);
    }
}

/// Issue 31, item 4: writers of one conversation take turns. Threads of one
/// process each append 25 turns at once: all 100 are kept (read, add, write
/// without a lock lost some).
#[test]
fn concurrent_writers_in_one_process_lose_no_turn() {
    let dir = tempfile::tempdir().unwrap();
    let history = std::sync::Arc::new(History::open(dir.path(), 1 << 30).unwrap());
    let id = history.create("m", &photo()).unwrap().id;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (history, id) = (history.clone(), id.clone());
            std::thread::spawn(move || {
                for n in 0..25 {
                    history.append_turn(&id, turn(w * 100 + n)).unwrap();
                }
            })
        })
        .collect();
    writers.into_iter().for_each(|w| w.join().unwrap());
    assert_eq!(history.load(&id).unwrap().turns.len(), 100);
}

/// The same across processes (the app and, say, a share extension): this
/// process and a child append 40 turns each at once; all 80 are kept.
#[test]
fn two_processes_writing_one_conversation_lose_no_turn() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path(), 1 << 30).unwrap();
    let id = history.create("m", &photo()).unwrap().id;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "appender_child_for_the_two_writers_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("IMP_HISTORY_APPENDER_DIR", dir.path())
        .env("IMP_HISTORY_APPENDER_ID", &id)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    for n in 0..40 {
        history.append_turn(&id, turn(n)).unwrap();
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(history.load(&id).unwrap().turns.len(), 80);
}

/// The child of the two-writers test: 40 appends, as fast as it can.
#[test]
fn appender_child_for_the_two_writers_test() {
    let Ok(dir) = std::env::var("IMP_HISTORY_APPENDER_DIR") else {
        return;
    };
    let history = History::open(Path::new(&dir), 1 << 30).unwrap();
    let id = std::env::var("IMP_HISTORY_APPENDER_ID").unwrap();
    for n in 0..40 {
        history.append_turn(&id, turn(1000 + n)).unwrap();
    }
}
