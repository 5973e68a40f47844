//! One HTTP GET on a thread of its own, its events sent over a channel, so the
//! caller can notice a cancel or a stall within a tenth of a second while the
//! socket itself waits as long as a mobile network needs (tens of seconds for
//! TLS and the first byte, not the 500 ms that once made slow servers
//! impossible to download from).
//!
//! Redirects are followed here, not by the HTTP client, so that each hop is
//! checked against [`check_url`] (https, or plain http on this device only; no
//! step down from https to http) and the commit the hub names on the first hop
//! (`X-Repo-Commit`) is kept.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

/// Hops followed before giving up (the hub needs one: resolve -> CDN).
const MAX_REDIRECTS: usize = 8;
/// Bytes a `Data` event carries at most.
const CHUNK: usize = 256 << 10;

/// What the server said about the body it is about to send.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Head {
    pub status: u16,
    pub etag: Option<String>,
    pub content_length: Option<u64>,
    /// `Content-Range: bytes START-END/TOTAL` as (START, TOTAL if known).
    pub content_range: Option<(u64, Option<u64>)>,
    /// The hub's `X-Repo-Commit`, from whichever hop carried it (the
    /// listing, not `X-Linked-Etag`/`-Size`, gives each file's checksum and
    /// size).
    pub repo_commit: Option<String>,
}

#[derive(Debug)]
pub enum Event {
    Head(Head),
    Data(Vec<u8>),
    End,
    /// The server answered with an error status.
    Status(u16),
    /// The connection failed (refused, reset, timed out, TLS).
    Transport(String),
    /// A URL this client will not fetch.
    Refused(String),
}

/// Starts `GET url` with an optional `Range` from `offset` (and `If-Range`);
/// the events arrive on the returned channel, which the caller may drop at
/// any time (the thread then ends at its next send).
pub fn start(
    agent: ureq::Agent,
    url: String,
    offset: u64,
    if_range: Option<String>,
) -> Receiver<Event> {
    let (tx, rx) = sync_channel(4);
    std::thread::Builder::new()
        .name("imp-download".into())
        .spawn(move || run(&agent, &url, offset, if_range.as_deref(), &tx))
        .expect("a thread for the transfer");
    rx
}

/// The client a transfer uses: no automatic redirects (see the module doc).
pub fn agent(connect_timeout: Duration, read_timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(connect_timeout)
        .timeout_read(read_timeout)
        .timeout_write(read_timeout)
        .redirects(0)
        .build()
}

fn run(
    agent: &ureq::Agent,
    url: &str,
    offset: u64,
    if_range: Option<&str>,
    tx: &SyncSender<Event>,
) {
    let mut url = url.to_string();
    let mut from: Option<url::Url> = None;
    let mut hub = Head::default();
    for _ in 0..=MAX_REDIRECTS {
        let parsed = match check_url(&url, from.as_ref()) {
            Ok(u) => u,
            Err(why) => return send(tx, Event::Refused(why)),
        };
        let mut request = agent.get(parsed.as_str());
        if offset > 0 {
            request = request.set("Range", &format!("bytes={offset}-"));
            if let Some(tag) = if_range {
                request = request.set("If-Range", tag);
            }
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(status, _)) => return send(tx, Event::Status(status)),
            Err(ureq::Error::Transport(t)) => return send(tx, Event::Transport(t.to_string())),
        };
        keep_hub_headers(&response, &mut hub);
        if (300..400).contains(&response.status()) {
            let Some(location) = response.header("Location") else {
                return send(tx, Event::Status(response.status()));
            };
            url = match parsed.join(location) {
                Ok(next) => next.to_string(),
                Err(e) => {
                    return send(tx, Event::Refused(format!("redirect to {location:?}: {e}")))
                }
            };
            from = Some(parsed);
            continue;
        }
        let head = Head {
            status: response.status(),
            etag: response.header("ETag").map(str::to_string),
            content_length: response
                .header("Content-Length")
                .and_then(|v| v.trim().parse().ok()),
            content_range: response.header("Content-Range").and_then(content_range),
            ..hub
        };
        if !send_ok(tx, Event::Head(head)) {
            return;
        }
        return stream_body(response.into_reader(), tx);
    }
    send(
        tx,
        Event::Refused(format!("more than {MAX_REDIRECTS} redirects")),
    );
}

fn stream_body(mut body: impl Read, tx: &SyncSender<Event>) {
    loop {
        let mut buf = vec![0u8; CHUNK];
        match body.read(&mut buf) {
            Ok(0) => return send(tx, Event::End),
            Ok(n) => {
                buf.truncate(n);
                if !send_ok(tx, Event::Data(buf)) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                return send(tx, Event::Transport("the server stopped sending".into()))
            }
            Err(e) => return send(tx, Event::Transport(e.to_string())),
        }
    }
}

/// The hub puts its commit on the resolve answer (the redirect), the CDN
/// does not repeat it: the first value seen wins.
fn keep_hub_headers(response: &ureq::Response, hub: &mut Head) {
    if hub.repo_commit.is_none() {
        hub.repo_commit = response.header("X-Repo-Commit").map(str::to_string);
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn send(tx: &SyncSender<Event>, event: Event) {
    let _ = tx.send(event);
}

fn send_ok(tx: &SyncSender<Event>, event: Event) -> bool {
    tx.send(event).is_ok()
}

/// `bytes START-END/TOTAL` -> (START, TOTAL if known).
fn content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

/// A URL this client fetches: https anywhere, plain http only on this device
/// (tests, a mirror on loopback), and never http after https.
pub fn check_url(url: &str, redirected_from: Option<&url::Url>) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if redirected_from.is_some_and(|f| f.scheme() == "https") => Err(format!(
            "{} redirected to plain http ({url}); refused",
            redirected_from.map(|f| f.as_str()).unwrap_or_default()
        )),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(format!(
            "{url}: plain http is refused (https only, except on this device)"
        )),
        other => Err(format!("{url}: {other}: is not a download scheme")),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_on_this_device_only_and_never_a_step_down() {
        assert!(check_url("https://huggingface.co/a", None).is_ok());
        assert!(check_url("http://127.0.0.1:8080/a", None).is_ok());
        assert!(check_url("http://[::1]:8080/a", None).is_ok());
        assert!(check_url("http://localhost/a", None).is_ok());
        assert!(check_url("http://example.org/a", None).is_err());
        assert!(check_url("http://10.0.0.1/a", None).is_err());
        assert!(check_url("ftp://example.org/a", None).is_err());
        assert!(check_url("file:///etc/passwd", None).is_err());
        let https = url::Url::parse("https://huggingface.co/a").unwrap();
        assert!(check_url("http://127.0.0.1/a", Some(&https)).is_err());
        assert!(check_url("https://cdn.example.org/a", Some(&https)).is_ok());
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(content_range("bytes 5-9/10"), Some((5, Some(10))));
        assert_eq!(content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(content_range("items 5-9/10"), None);
    }
}
