//! The mobile API under stress, through the facade exactly as the Kotlin and
//! Swift bindings call it: ten thousand ask/cancel cycles in bounded memory,
//! loads cancelled midway, an engine closed while it answers, two questions
//! at once, listeners that throw, and answering under an address-space limit.
//! After every test no engine is alive and no thread of ours is left.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use imp_ffi::{
    live_engines, load_engine, AnswerHandle, AnswerListener, AnswerSummary, CancelHandle,
    EngineOptions, GenerationParams, ImageSource, ImpConversation, ImpEngine, ImpFfiError,
    LoadListener, StopReason, TokenEvent,
};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn photo() -> ImageSource {
    ImageSource::File {
        path: fixture("images/photo.png"),
    }
}

#[path = "../src/block_on.rs"]
mod block_on;
use block_on::block_on;

fn load(model: &str) -> Arc<ImpEngine> {
    let options = EngineOptions {
        threads: Some(1),
        ..Default::default()
    };
    block_on(load_engine(fixture(model), options, None, None)).unwrap()
}

fn start(engine: &ImpEngine) -> Arc<ImpConversation> {
    block_on(engine.start_conversation(photo())).unwrap()
}

fn params(max_new_tokens: u32) -> GenerationParams {
    GenerationParams {
        max_new_tokens,
        temperature: 0.0,
        top_k: None,
        top_p: None,
        repetition_penalty: 1.0,
        seed: 1,
        logprobs: 0,
    }
}

#[derive(Debug)]
enum Event {
    Token,
    Done(AnswerSummary),
    Error(ImpFfiError),
}

/// Sends what it hears to the test; panics (as UniFFI does when a Kotlin or
/// Swift callback throws) on the token number `throw_at`, if set.
struct Listener {
    events: Mutex<Sender<Event>>,
    tokens: AtomicUsize,
    throw_at: Option<usize>,
}

impl Listener {
    fn new(throw_at: Option<usize>) -> (Arc<Self>, Receiver<Event>) {
        let (tx, rx) = channel();
        let listener = Self {
            events: Mutex::new(tx),
            tokens: AtomicUsize::new(0),
            throw_at,
        };
        (Arc::new(listener), rx)
    }

    fn send(&self, event: Event) {
        let _ = self.events.lock().unwrap().send(event);
    }
}

impl AnswerListener for Listener {
    fn on_token(&self, token: TokenEvent) {
        let n = self.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        if Some(n) == self.throw_at {
            panic!("the app's listener threw on token {n}");
        }
        let _ = token.id;
        self.send(Event::Token);
    }

    fn on_done(&self, summary: AnswerSummary) {
        self.send(Event::Done(summary));
    }

    fn on_error(&self, error: ImpFfiError) {
        self.send(Event::Error(error));
    }
}

const PATIENCE: Duration = Duration::from_secs(60);

/// Asks, and waits until the first token has arrived: the answer is running.
fn ask_until_first_token(
    conversation: &ImpConversation,
    question: String,
    max_new_tokens: u32,
) -> (Arc<AnswerHandle>, Receiver<Event>) {
    let (listener, events) = Listener::new(None);
    let handle = conversation
        .ask(question, params(max_new_tokens), listener)
        .unwrap();
    assert!(matches!(
        events.recv_timeout(PATIENCE).unwrap(),
        Event::Token
    ));
    (handle, events)
}

/// Waits for the answer's last event, skipping tokens; returns it and the
/// number of tokens seen.
fn finish(events: &Receiver<Event>) -> (Event, usize) {
    let mut tokens = 0;
    loop {
        match events
            .recv_timeout(PATIENCE)
            .expect("the answer never ended")
        {
            Event::Token => tokens += 1,
            last => return (last, tokens),
        }
    }
}

fn done(events: &Receiver<Event>) -> AnswerSummary {
    match finish(events) {
        (Event::Done(summary), _) => summary,
        (other, _) => panic!("expected on_done, got {other:?}"),
    }
}

/// Names of this process's threads that the core or the facade started.
fn our_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| name.starts_with("imp-"))
        .collect()
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// One test at a time (engines and threads are counted process-wide); on
/// drop, checks that the test left no engine alive and no thread running.
struct Clean(#[allow(dead_code)] MutexGuard<'static, ()>);

fn clean() -> Clean {
    static ONE: Mutex<()> = Mutex::new(());
    let guard = ONE.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(live_engines(), 0, "an earlier test left an engine alive");
    Clean(guard)
}

impl Drop for Clean {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // Threads end a moment after the work they did is reported.
        let deadline = Instant::now() + Duration::from_secs(10);
        while (live_engines() != 0 || !our_threads().is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(live_engines(), 0, "engines left alive");
        assert_eq!(our_threads(), Vec::<String>::new(), "threads left running");
    }
}

/// Asks, cancels at a varying point (before the first token, after it, after
/// three), and waits for the end, ten thousand times; a conversation whose
/// context is nearly full is replaced. The resident set may not grow by more
/// than 16 MiB between the 1,000th cycle and the last: a leak of even 2 KiB a
/// cycle would show.
#[test]
fn ten_thousand_ask_cancel_cycles_stay_in_bounded_memory() {
    let _clean = clean();
    let engine = load("tiny-imp-196-msft");
    let limit = engine.info().unwrap().context_length;
    let mut conversation = start(&engine);
    let mut baseline = 0;
    let (mut cancelled, mut replaced) = (0, 0);
    const CYCLES: usize = 10_000;
    for cycle in 0..CYCLES {
        if conversation.context_used() + 64 > limit {
            conversation = start(&engine);
            replaced += 1;
        }
        let (listener, events) = Listener::new(None);
        let handle = conversation
            .ask("What is in this picture?".into(), params(1000), listener)
            .unwrap();
        // Cancel before the first token, after it, or after three.
        let wait_for = [0, 1, 3][cycle % 3];
        let mut ended = None;
        for _ in 0..wait_for {
            match events.recv_timeout(PATIENCE).unwrap() {
                Event::Token => {}
                last => {
                    ended = Some(last); // the model ended its answer first
                    break;
                }
            }
        }
        handle.cancel();
        match ended.unwrap_or_else(|| finish(&events).0) {
            Event::Done(summary) if summary.stop_reason == StopReason::Cancelled => cancelled += 1,
            Event::Done(_) => {}
            other => panic!("cycle {cycle}: {other:?}"),
        }
        if cycle == 999 {
            baseline = resident_bytes();
        }
    }
    let grown = resident_bytes().saturating_sub(baseline);
    eprintln!(
        "{CYCLES} cycles ({replaced} conversations replaced): resident set grew {} KiB after cycle 1000",
        grown >> 10
    );
    assert!(
        cancelled > CYCLES * 9 / 10,
        "only {cancelled} answers were cancelled"
    );
    assert!(replaced >= 1, "the context never filled: cycles too short");
    assert!(grown < 16 << 20, "resident set grew {} MiB", grown >> 20);
}

/// A load cancelled midway fails with Cancelled and leaves nothing behind;
/// loading again works.
#[test]
fn a_load_cancelled_midway_then_loaded_again() {
    let _clean = clean();
    struct CancelSecond(Arc<CancelHandle>, AtomicUsize);
    impl LoadListener for CancelSecond {
        fn on_progress(&self, _fraction: f32) {
            if self.1.fetch_add(1, Ordering::SeqCst) == 1 {
                self.0.cancel();
            }
        }
    }
    for _ in 0..3 {
        let cancel = Arc::new(CancelHandle::new());
        let listener = Arc::new(CancelSecond(cancel.clone(), AtomicUsize::new(0)));
        let result = block_on(load_engine(
            fixture("tiny-imp-384"),
            EngineOptions::default(),
            Some(listener.clone()),
            Some(cancel),
        ));
        assert!(
            matches!(result, Err(ImpFfiError::Cancelled)),
            "{:?}",
            result.err()
        );
        assert!(listener.1.load(Ordering::SeqCst) >= 2);
        assert_eq!(live_engines(), 0);

        let engine = load("tiny-imp-384");
        let (listener, events) = Listener::new(None);
        let _answer = start(&engine)
            .ask("What?".into(), params(2), listener)
            .unwrap();
        assert_eq!(done(&events).decode_tokens, 2);
    }
}

/// Closing the engine (the app dropping its handle) while an answer streams:
/// the answer goes on to its end (the conversation holds the model), and the
/// model is released when the conversation is closed too.
#[test]
fn closing_the_engine_while_an_answer_streams() {
    let _clean = clean();
    let engine = load("tiny-imp-196-msft");
    let conversation = start(&engine);
    let (handle, events) =
        ask_until_first_token(&conversation, "What is in this picture?".into(), 40);
    drop(engine);
    assert_eq!(live_engines(), 1, "the conversation holds the model");
    let (last, tokens) = finish(&events);
    match last {
        Event::Done(summary) => assert_eq!(summary.stop_reason, StopReason::MaxTokens),
        other => panic!("{other:?}"),
    }
    assert_eq!(tokens + 1, 40);
    drop(handle);
    // The conversation still answers without its engine handle.
    let (listener, events) = Listener::new(None);
    let _answer = conversation
        .ask("And?".into(), params(3), listener)
        .unwrap();
    assert_eq!(done(&events).decode_tokens, 3);
    drop(conversation);
}

/// An answer whose handle is dropped (the app let go of it without
/// cancelling) stops as a cancelled one, and the engine is free again.
#[test]
fn dropping_the_handle_cancels_the_answer() {
    let _clean = clean();
    let engine = load("tiny-imp-196-msft");
    let conversation = start(&engine);
    let (handle, events) = ask_until_first_token(&conversation, "What?".into(), 100_000);
    drop(handle);
    assert_eq!(done(&events).stop_reason, StopReason::Cancelled);
    let (listener, events) = Listener::new(None);
    let _answer = conversation
        .ask("And?".into(), params(2), listener)
        .unwrap();
    assert_eq!(done(&events).decode_tokens, 2);
}

/// Two questions at once on one engine: the second is refused with Busy at
/// once, the first is unaffected, and the engine answers again afterwards.
#[test]
fn two_questions_at_once_one_is_busy() {
    let _clean = clean();
    let engine = load("tiny-imp-196-msft");
    let (a, b) = (start(&engine), start(&engine));
    let (handle, events) = ask_until_first_token(&a, "What?".into(), 100_000);
    for conversation in [&a, &b] {
        let (other, other_events) = Listener::new(None);
        let err = conversation.ask("Me too?".into(), params(4), other).err();
        assert!(matches!(err, Some(ImpFfiError::Busy)), "{err:?}");
        assert!(
            other_events.try_recv().is_err(),
            "a refused question heard back"
        );
    }
    handle.cancel();
    assert_eq!(done(&events).stop_reason, StopReason::Cancelled);
    let (listener, events) = Listener::new(None);
    let _answer = b.ask("Now?".into(), params(2), listener).unwrap();
    assert_eq!(done(&events).decode_tokens, 2);
}

/// A listener that throws on a token: the answer stops there, the app hears
/// Internal through on_error (once, no on_done), and the conversation goes on.
#[test]
fn a_listener_that_throws_stops_the_answer_and_the_conversation_goes_on() {
    let _clean = clean();
    let engine = load("tiny-imp-196-msft");
    let conversation = start(&engine);
    let (listener, events) = Listener::new(Some(3));
    let _answer = conversation
        .ask("What is in this picture?".into(), params(50), listener)
        .unwrap();
    match finish(&events) {
        (Event::Error(ImpFfiError::Internal { reason }), 2) => {
            assert!(reason.contains("listener"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        events.recv_timeout(Duration::from_millis(200)).is_err(),
        "more than one last event"
    );
    let (listener, events) = Listener::new(None);
    let _answer = conversation
        .ask("Describe the colours, please.".into(), params(4), listener)
        .unwrap();
    assert_eq!(done(&events).decode_tokens, 4);
}

/// A load listener that throws stops the load, which fails with Internal.
#[test]
fn a_load_listener_that_throws_fails_the_load() {
    let _clean = clean();
    struct Throws;
    impl LoadListener for Throws {
        fn on_progress(&self, fraction: f32) {
            if fraction > 0.0 {
                panic!("the app's progress bar threw");
            }
        }
    }
    let result = block_on(load_engine(
        fixture("tiny-imp-384"),
        EngineOptions::default(),
        Some(Arc::new(Throws)),
        None,
    ));
    match result {
        Err(ImpFfiError::Internal { reason }) => assert!(reason.contains("listener"), "{reason}"),
        other => panic!("{:?}", other.err()),
    }
}

/// `setrlimit(RLIMIT_AS)` as glibc declares it on Linux (x86_64, aarch64).
mod rlimit {
    #[repr(C)]
    pub struct Limit {
        pub current: u64,
        pub max: u64,
    }
    pub const ADDRESS_SPACE: i32 = 9;
    extern "C" {
        pub fn getrlimit(resource: i32, limit: *mut Limit) -> i32;
        pub fn setrlimit(resource: i32, limit: *const Limit) -> i32;
    }

    /// Sets the soft limit (the hard one stays, so it can be raised again).
    pub fn set_address_space(bytes: u64) {
        let mut limit = Limit { current: 0, max: 0 };
        // SAFETY: `Limit` has the layout of struct rlimit (two 64-bit words
        // on the 64-bit Linux these tests run on), read and written in place.
        unsafe {
            assert_eq!(getrlimit(ADDRESS_SPACE, &mut limit), 0);
            limit.current = bytes.min(limit.max);
            assert_eq!(setrlimit(ADDRESS_SPACE, &limit), 0);
        }
    }

    pub fn virtual_size() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
        pages * 4096
    }
}

/// Answering when the process's address space is nearly used up: the answer
/// fails with OutOfMemory (before anything is allocated for it), the process
/// lives on, and with the limit lifted the conversation answers again. Run in
/// a child process, whose limit it sets; without the headroom check the child
/// aborts inside the prefill's allocations.
#[test]
fn answering_under_a_memory_limit_is_out_of_memory() {
    let _clean = clean();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .args([
            "--exact",
            "memory_limited_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child: {:?}\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stderr.contains("out of memory as expected"), "{stderr}");
}

/// Set in the child process that `memory_limited_child` runs in.
const CHILD: &str = "IMP_STRESS_MEMORY_CHILD";

/// The child of `answering_under_a_memory_limit_is_out_of_memory`: in the
/// test run itself it returns at once (it limits its whole process), and the
/// parent checks that the child's run printed what only the full test does.
#[test]
fn memory_limited_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let engine = load("tiny-imp-196-msft");
    let conversation = start(&engine);
    let (listener, events) = Listener::new(None);
    let _answer = conversation
        .ask("What?".into(), params(2), listener)
        .unwrap();
    done(&events);
    // A question of 1500 tokens: its prefill needs some 60 MB (attention
    // scores over 1700 positions, the KV cache grown to 2048), more than the
    // 16 MiB left.
    let long = "colours ".repeat(1500);
    rlimit::set_address_space(rlimit::virtual_size() + (16 << 20));
    let (listener, events) = Listener::new(None);
    let _answer = conversation.ask(long, params(4), listener).unwrap();
    let (last, tokens) = finish(&events);
    rlimit::set_address_space(u64::MAX);
    match last {
        Event::Error(ImpFfiError::OutOfMemory { reason }) => {
            assert_eq!(tokens, 0);
            eprintln!("out of memory as expected: {reason}");
        }
        other => panic!("{other:?}"),
    }
    let (listener, events) = Listener::new(None);
    let _answer = conversation
        .ask("And the colours?".into(), params(3), listener)
        .unwrap();
    assert_eq!(done(&events).decode_tokens, 3);
}
