//! `troth policy ...`: check, render, hash and diff policy packs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use troth_policy::{Lang, LoadError, Pack};

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate one or more packs; prints every problem with file:line:column.
    Check {
        /// Pack directories or policy.toml files.
        #[arg(required = true)]
        packs: Vec<PathBuf>,
        /// Print problems as JSON lines instead of a report.
        #[arg(long)]
        json: bool,
    },
    /// Render the human-readable policy.
    Render {
        /// Pack directory or policy.toml file.
        pack: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RenderFormat::Md)]
        format: RenderFormat,
        /// Language.
        #[arg(long, default_value = "en", value_parser = parse_lang)]
        lang: Lang,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a pack's content hash.
    Hash {
        /// Pack directory or policy.toml file.
        pack: PathBuf,
    },
    /// Audit a prose privacy policy against a law's disclosure checklist.
    Audit(super::prose::AuditArgs),
    /// Label each sentence of a prose policy with its CAPP-130 practices (JSON lines).
    Classify(super::prose::ClassifyArgs),
    /// Draft a policy.toml pack from a prose policy, with TODOs for what it lacks.
    Import(super::prose::ImportArgs),
    /// List every change between two versions and classify its significance.
    Diff {
        /// The old version.
        old: PathBuf,
        /// The new version.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RenderFormat {
    /// Markdown.
    Md,
    /// Standalone HTML page.
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    /// A readable report.
    Text,
    /// Machine-readable JSON.
    Json,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PolicyCommand::Check { packs, json } => check(&packs, json),
        PolicyCommand::Audit(a) => super::prose::run_audit(a),
        PolicyCommand::Classify(a) => super::prose::run_classify(a),
        PolicyCommand::Import(a) => super::prose::run_import(a),
        PolicyCommand::Render {
            pack,
            format,
            lang,
            output,
        } => {
            let Some(pack) = load_or_report(&pack)? else {
                return Ok(Outcome::Invalid);
            };
            let format = match format {
                RenderFormat::Md => troth_policy::Format::Markdown,
                RenderFormat::Html => troth_policy::Format::Html,
            };
            let text = troth_policy::render(&pack.policy, lang, format)?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write `{}`", path.display()))?,
                None => std::io::stdout().write_all(text.as_bytes())?,
            }
            Ok(Outcome::Ok)
        }
        PolicyCommand::Hash { pack } => {
            let Some(pack) = load_or_report(&pack)? else {
                return Ok(Outcome::Invalid);
            };
            println!("{}", troth_policy::content_hash(&pack.policy));
            Ok(Outcome::Ok)
        }
        PolicyCommand::Diff { old, new, format } => {
            let (Some(old), Some(new)) = (load_or_report(&old)?, load_or_report(&new)?) else {
                return Ok(Outcome::Invalid);
            };
            let report = troth_policy::diff(&old.policy, &new.policy);
            match format {
                DiffFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                DiffFormat::Text => print!("{}", diff_text(&report)),
            }
            Ok(Outcome::Ok)
        }
    }
}

/// Loads a pack; on validation problems prints them and returns `None`.
fn load_or_report(path: &Path) -> anyhow::Result<Option<Pack>> {
    match troth_policy::load_pack(path) {
        Ok(p) => Ok(Some(p)),
        Err(LoadError::Invalid { diagnostics, .. }) => {
            for d in &diagnostics {
                eprint!("{}", d.render());
            }
            Ok(None)
        }
        Err(e @ LoadError::Io { .. }) => Err(e.into()),
    }
}

fn check(packs: &[PathBuf], json: bool) -> anyhow::Result<Outcome> {
    let mut invalid = 0usize;
    for path in packs {
        match troth_policy::load_pack(path) {
            Ok(pack) => {
                if !json {
                    println!(
                        "ok  {}  ({} categories, {} purposes, {} recipients; hash {})",
                        pack.file.display(),
                        pack.policy.categories.len(),
                        pack.policy.purposes.len(),
                        pack.policy.recipients.len(),
                        &troth_policy::content_hash(&pack.policy)[..16]
                    );
                }
            }
            Err(LoadError::Invalid { file, diagnostics }) => {
                invalid += 1;
                for d in &diagnostics {
                    if json {
                        println!("{}", serde_json::to_string(d)?);
                    } else {
                        eprint!("{}", d.render());
                    }
                }
                if !json {
                    eprintln!(
                        "invalid  {}: {} problem(s)\n",
                        file.display(),
                        diagnostics.len()
                    );
                }
            }
            Err(e @ LoadError::Io { .. }) => return Err(e.into()),
        }
    }
    Ok(if invalid == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

fn diff_text(r: &troth_policy::DiffReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "old {}\nnew {}", &r.old_hash[..16], &r.new_hash[..16]);
    if r.changes.is_empty() {
        out.push_str("no changes\n");
        return out;
    }
    let mut section = "";
    for c in &r.changes {
        if c.section != section {
            section = &c.section;
            let _ = writeln!(out, "\n[{section}]");
        }
        let mark = match c.kind {
            troth_policy::ChangeKind::Added => '+',
            troth_policy::ChangeKind::Removed => '-',
            troth_policy::ChangeKind::Changed => '~',
        };
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref().map(|v| {
                let s = v.to_string();
                if s.chars().count() > 80 {
                    format!("{}…", s.chars().take(80).collect::<String>())
                } else {
                    s
                }
            })
        };
        let value = match (show(&c.before), show(&c.after)) {
            (Some(b), Some(a)) => format!("{b} -> {a}"),
            (Some(b), None) => b,
            (None, Some(a)) => a,
            (None, None) => String::new(),
        };
        let criteria: Vec<&str> = c.criteria.iter().map(|k| k.as_str()).collect();
        let tag = if criteria.is_empty() {
            "minor".to_owned()
        } else {
            format!("significant: {}", criteria.join(", "))
        };
        let reduced = if c.reduces_rights {
            "; reduces rights"
        } else {
            ""
        };
        let _ = writeln!(out, "  {mark} {}  {value}  ({tag}{reduced})", c.path);
    }
    let all: Vec<&str> = r.criteria.iter().map(|k| k.as_str()).collect();
    let _ = writeln!(
        out,
        "\n{} change(s); significant: {}{}; rights reduced: {}; explicit consent needed: {}",
        r.changes.len(),
        if r.significant { "yes" } else { "no" },
        if all.is_empty() {
            String::new()
        } else {
            format!(" ({})", all.join(", "))
        },
        if r.rights_reduced { "yes" } else { "no" },
        if r.needs_explicit_consent {
            "yes"
        } else {
            "no"
        },
    );
    out
}
