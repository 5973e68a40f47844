//! The Hugging Face hub as a model source: the authors' float checkpoints,
//! listed at a revision, downloaded file by file through the hub's resolve
//! protocol, each verified against the hub's own checksum, into the hub's
//! cache layout (so a desktop shares its cache with `transformers`).
//!
//! - [`HubEndpoint`]: where the hub is (`HF_ENDPOINT`) and whether to use the
//!   network at all (`HF_HUB_OFFLINE`), as `huggingface_hub` reads them.
//! - [`RepoSnapshot`]: `GET /api/models/{repo}/revision/{rev}?blobs=true`,
//!   the commit and each file's size and checksum (LFS SHA-256, else git's
//!   blob SHA-1); which of them an Imp checkpoint needs.
//! - [`CheckpointCache`]: the `models--{owner}--{name}` folders of blobs,
//!   snapshots and refs.
//! - [`fetch_checkpoint`]: all of it, resumable, with one progress figure.
//!
//! References: `huggingface_hub/file_download.py` (resolve, `X-Repo-Commit`,
//! `X-Linked-Etag`, `X-Linked-Size`, the cache layout), the hub's API docs.

mod cache;
mod endpoint;
mod fetch;
mod listing;

pub use cache::CheckpointCache;
pub use endpoint::{check_repo_id, HubEndpoint};
pub use fetch::{fetch_checkpoint, FetchedCheckpoint, HubFetch};
pub use listing::{RepoFile, RepoSnapshot};
