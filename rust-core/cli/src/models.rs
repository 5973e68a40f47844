//! `imp models`: the same store the apps use, on the desktop.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use imp_core::CancelToken;
use imp_store::catalog::Catalog;
use imp_store::download::TransferProgress;
use imp_store::model_store::{DownloadSource, ImportMode, InstalledModel, ModelStore};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Args)]
pub struct ModelsArgs {
    /// The store directory (default: $IMP_STORE, else ~/.local/share/imp).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    /// A catalogue file or URL instead of the one built in.
    #[arg(long, global = true)]
    catalog: Option<String>,
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// The catalogue, what is installed, and downloads that did not finish.
    List,
    /// Download a catalogue model (by id: its published file, else the
    /// authors' checkpoint from the hub, converted here) or any URL, verify it
    /// and install it.
    Download {
        /// A catalogue id or an http(s) URL.
        what: String,
        /// With a URL: the SHA-256 the file must have.
        #[arg(long)]
        sha256: Option<String>,
        /// With a URL: the size it must have.
        #[arg(long)]
        size: Option<u64>,
        /// With a catalogue id: which published quantization.
        #[arg(long)]
        quant: Option<String>,
        /// The installed id (default: the file name without .gguf).
        #[arg(long)]
        id: Option<String>,
    },
    /// Install a .gguf file you have.
    Import {
        file: PathBuf,
        /// Use the file where it is instead of copying it into the store.
        #[arg(long)]
        in_place: bool,
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Hash an installed model again and compare it with what it must be.
    Verify { id: String },
    /// Remove an installed model (a model used in place keeps its file).
    Remove { id: String },
}

pub fn run(args: &ModelsArgs) -> Result<()> {
    let store = open(args.store.as_ref(), args.catalog.as_deref())?;
    let cancel = CancelToken::new();
    match &args.command {
        ModelsCommand::List => list(&store),
        ModelsCommand::Download {
            what,
            sha256,
            size,
            quant,
            id,
        } => {
            let source = if what.starts_with("http://") || what.starts_with("https://") {
                DownloadSource::Url {
                    url: what.clone(),
                    sha256: sha256.clone(),
                    size: *size,
                    id: id.clone(),
                }
            } else {
                DownloadSource::Catalog {
                    id: what.clone(),
                    quantization: quant.clone(),
                }
            };
            let from_hub = match &source {
                DownloadSource::Catalog { id, .. } => store.catalog().entry(id)?.files.is_empty(),
                DownloadSource::Url { .. } => false,
            };
            if from_hub {
                // No converted file is published: made here from the
                // authors' checkpoint, as a phone does.
                let store = store.with_hub(crate::hub::desktop());
                let path = crate::hub::install(&store, &store.hub_model(what)?)?;
                let model = store.installed()?.into_iter().find(|m| m.path == path);
                let model = model.context("the installed model is not listed")?;
                println!("installed {}", describe(&model));
                return Ok(());
            }
            let bar = bytes_bar(&format!("downloading {what}"));
            let model = store.download(&source, &mut |p| show(&bar, p), &cancel);
            bar.finish_and_clear();
            let model = model.with_context(|| format!("cannot download {what}"))?;
            println!("installed {}", describe(&model));
            Ok(())
        }
        ModelsCommand::Import {
            file,
            in_place,
            sha256,
        } => {
            let mode = if *in_place {
                ImportMode::InPlace
            } else {
                ImportMode::Copy
            };
            let bar = bytes_bar(&format!("importing {}", file.display()));
            let model = store.import(
                file,
                mode,
                sha256.as_deref(),
                &mut |p| show(&bar, p),
                &cancel,
            );
            bar.finish_and_clear();
            let model = model.with_context(|| format!("cannot import {}", file.display()))?;
            println!("installed {}", describe(&model));
            Ok(())
        }
        ModelsCommand::Verify { id } => {
            let bar = bytes_bar(&format!("hashing {id}"));
            let check = store.verify(id, &mut |p| show(&bar, p), &cancel);
            bar.finish_and_clear();
            let check = check?;
            match (&check.expected, check.ok) {
                (_, false) => anyhow::bail!(
                    "{id}: SHA-256 {} does not match {}: the file is damaged; remove it and \
                     download it again",
                    check.sha256,
                    check.expected.as_deref().unwrap_or("?")
                ),
                (Some(_), true) => println!("{id}: ok, SHA-256 {}", check.sha256),
                (None, true) => println!(
                    "{id}: SHA-256 {} (no known checksum to compare with)",
                    check.sha256
                ),
            }
            Ok(())
        }
        ModelsCommand::Remove { id } => {
            store.remove(id)?;
            println!("removed {id}");
            Ok(())
        }
    }
}

/// The store at `dir` (or the default), with a catalogue from a file or URL.
pub fn open(dir: Option<&PathBuf>, catalog: Option<&str>) -> Result<ModelStore> {
    let catalog = match catalog {
        None => Catalog::bundled(),
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Catalog::fetch(url)?
        }
        Some(file) => Catalog::from_json(
            &std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?,
        )?,
    };
    let dir = dir.cloned().unwrap_or_else(default_store);
    ModelStore::open(&dir, catalog)
        .with_context(|| format!("cannot open the store {}", dir.display()))
}

/// $IMP_STORE, else the XDG data directory.
pub fn default_store() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMP_STORE") {
        return PathBuf::from(dir);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("imp")
}

fn list(store: &ModelStore) -> Result<()> {
    let installed = store.installed()?;
    println!("catalogue:");
    for entry in &store.catalog().models {
        let have = installed
            .iter()
            .any(|m| m.catalog_id.as_deref() == Some(&entry.id));
        let files = if entry.files.is_empty() {
            "no published file".to_string()
        } else {
            entry
                .files
                .iter()
                .map(|f| format!("{} {:.2} GB", f.quantization, f.size_bytes as f64 / 1e9))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "  {:<12} {:<22} {:>4} px  needs {:.1} GB  {}{}\n               {}",
            entry.id,
            entry.display_name,
            entry.image_size,
            entry.memory_bytes as f64 / 1e9,
            files,
            if have { "  [installed]" } else { "" },
            entry.good_for
        );
    }
    println!("installed:");
    if installed.is_empty() {
        println!("  (none)");
    }
    for model in &installed {
        println!("  {}", describe(model));
    }
    let pending = store.pending_downloads()?;
    if !pending.is_empty() {
        println!("unfinished downloads (download again to resume):");
        for p in pending {
            println!("  {} ({:.1} MB so far)", p.id, p.done as f64 / 1e6);
        }
    }
    Ok(())
}

fn describe(m: &InstalledModel) -> String {
    let what = m
        .info
        .as_ref()
        .map(|i| format!("{} {} {} px", i.variant, i.weights_dtype, i.image_size))
        .unwrap_or_default();
    let state = match (&m.problem, m.verified) {
        (Some(problem), _) => format!("UNUSABLE: {problem}"),
        (None, true) => "verified".into(),
        (None, false) => "checksum not vouched for".into(),
    };
    format!(
        "{} ({what}, {:.2} GB, {state}) {}",
        m.id,
        m.size_bytes as f64 / 1e9,
        m.path.display()
    )
}

fn bytes_bar(message: &str) -> ProgressBar {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}, {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

fn show(bar: &ProgressBar, p: TransferProgress) {
    if let Some(total) = p.total {
        bar.set_length(total);
    }
    bar.set_position(p.done);
}
