//! `troth demo`: the zero-configuration first run. Checks the built-in demo pack
//! (seed 002's policy) and writes its rendered policy, in English and Chinese, as HTML
//! and Markdown into the data folder.

use std::path::PathBuf;

use anyhow::Context as _;
use troth_policy::{Format, Lang};

use crate::Outcome;

/// The demo pack, compiled into the binary so `troth demo` needs no files.
pub(crate) const DEMO_PACK: &str = include_str!("../../../../packs/s002-template/policy.toml");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for troth's data.
    #[arg(long, default_value = "troth-data")]
    data_dir: PathBuf,
}

pub fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let policy = match troth_policy::parse_policy("demo:s002-template/policy.toml", DEMO_PACK) {
        Ok(p) => p,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprint!("{}", d.render());
            }
            return Ok(Outcome::Invalid);
        }
    };
    let out = args.data_dir.join("demo");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create `{}`", out.display()))?;
    println!(
        "demo pack `{}`: {} version {}, content hash {}",
        policy.policy.id,
        policy.policy.title.en,
        policy.policy.version,
        troth_policy::content_hash(&policy)
    );
    println!(
        "  {} categories, {} purposes, {} recipients, {} rights",
        policy.categories.len(),
        policy.purposes.len(),
        policy.recipients.len(),
        policy.rights.offered.len()
    );
    for lang in Lang::ALL {
        for (format, ext) in [(Format::Html, "html"), (Format::Markdown, "md")] {
            let path = out.join(format!("policy.{}.{ext}", lang.tag()));
            let text = troth_policy::render(&policy, lang, format)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            println!("  wrote {}", path.display());
        }
    }
    Ok(Outcome::Ok)
}
