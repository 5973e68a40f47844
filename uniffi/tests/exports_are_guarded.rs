//! The facade's one rule for entry points: each exported function runs its
//! body through `guard::guarded` (or `guard::on_worker`, which guards its
//! thread), so a panic in the core reaches Kotlin or Swift as an error and
//! never as a crash (UniFFI's own catch becomes a `try!` trap in Swift for
//! functions that cannot throw). Read from the sources, which `cargo fmt`
//! keeps in one shape; a few entry points that cannot panic are named below
//! with the reason.

use std::path::Path;

/// Entry points exempt from the rule, and why each cannot panic.
const CANNOT_PANIC: &[(&str, &str)] = &[
    ("answer.rs", "cancel"),             // an atomic store
    ("cancellation.rs", "new"),          // a fresh atomic flag
    ("cancellation.rs", "cancel"),       // an atomic store
    ("cancellation.rs", "is_cancelled"), // an atomic load
    ("conversation.rs", "context_used"), // an atomic load
    ("engine.rs", "live_engines"),       // an atomic load
    ("sentences.rs", "new"),             // a `max` and an empty string
];

/// One exported function: its file, name and body.
struct Export {
    file: String,
    name: String,
    body: String,
}

/// Exported functions of one source file: free functions under
/// `#[uniffi::export]` and the methods of exported `impl` blocks (foreign
/// traits, `with_foreign`, are the apps' code and are skipped).
fn exports(file: &str, source: &str) -> Vec<Export> {
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("#[uniffi::export") {
            i += 1;
            continue;
        }
        let item = i + 1;
        if lines[item].starts_with("impl ") {
            let end = item + lines[item..].iter().position(|l| *l == "}").unwrap();
            let mut j = item;
            while j < end {
                if let Some(name) = fn_name(lines[j].trim_start_matches("    ")) {
                    let (export, close) = read_fn(file, name, &lines, j, "    }");
                    found.push(export);
                    j = close;
                }
                j += 1;
            }
            i = end;
        } else if let Some(name) = fn_name(lines[item]) {
            let (export, close) = read_fn(file, name, &lines, item, "}");
            found.push(export);
            i = close;
        } else {
            assert!(
                lines[item].starts_with("pub trait "),
                "{file}:{}: an export this test cannot read: {}",
                item + 1,
                lines[item]
            );
            i = item;
        }
    }
    found
}

/// The function declared at line `start`, up to its closing line (`end`,
/// the brace at its indentation), and that line's index.
fn read_fn(file: &str, name: String, lines: &[&str], start: usize, end: &str) -> (Export, usize) {
    let close = start + lines[start..].iter().position(|l| *l == end).unwrap();
    let body = lines[start..close].join("\n");
    let export = Export {
        file: file.into(),
        name,
        body,
    };
    (export, close)
}

/// The name of a `pub fn` or `pub async fn` declared on this line.
fn fn_name(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("pub fn ")
        .or_else(|| line.strip_prefix("pub async fn "))?;
    Some(rest.split(['(', '<']).next().unwrap().to_string())
}

fn all_exports() -> Vec<Export> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        all.extend(exports(&file, &std::fs::read_to_string(&path).unwrap()));
    }
    all
}

#[test]
fn every_entry_point_is_guarded() {
    let all = all_exports();
    // The reader found the facade: a rewrite that hid the exports from it
    // would otherwise pass with nothing checked.
    assert!(all.len() >= 40, "found only {} exports", all.len());
    let unguarded: Vec<String> = all
        .iter()
        .filter(|e| !e.body.contains("guarded(") && !e.body.contains("on_worker("))
        .filter(|e| !CANNOT_PANIC.contains(&(e.file.as_str(), e.name.as_str())))
        .map(|e| format!("{}: {}", e.file, e.name))
        .collect();
    assert!(
        unguarded.is_empty(),
        "exported without guard::guarded: {unguarded:?}"
    );
}

#[test]
fn the_exemptions_name_real_entry_points() {
    let all = all_exports();
    for (file, name) in CANNOT_PANIC {
        let export = all
            .iter()
            .find(|e| e.file == *file && e.name == *name)
            .unwrap_or_else(|| panic!("{file}: {name} is no longer exported"));
        assert!(
            !export.body.contains("guarded("),
            "{file}: {name} is guarded now: take it off the list"
        );
    }
}

#[test]
fn the_reader_sees_an_unguarded_export() {
    let source = "#[uniffi::export]\nimpl X {\n    pub fn bad(&self) -> u32 {\n        1\n    }\n\n    pub async fn good(&self) -> Result<(), E> {\n        on_worker(\"w\", || Ok(())).await\n    }\n}\n\n#[uniffi::export]\npub fn free() -> Result<(), E> {\n    guarded(|| Ok(()))\n}\n";
    let found = exports("x.rs", source);
    let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["bad", "good", "free"]);
    assert!(!found[0].body.contains("guarded("));
    assert!(found[1].body.contains("on_worker("));
}
