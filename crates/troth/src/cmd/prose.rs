//! `troth policy audit|classify|import`: read a prose privacy policy (text, Markdown
//! or HTML; Chinese or English), audit it against a law's disclosure checklist, label
//! its sentences with the CAPP-130 practices, or draft a `policy.toml` pack from it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;
use troth_prose::audit::{Law, audit};
use troth_prose::{Classifier, Document, Format};

use crate::Outcome;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The policy text: .txt, .md or .html (use - for standard input).
    file: PathBuf,
    /// The law whose checklist is applied.
    #[arg(long, default_value = "pipl", value_parser = parse_law)]
    law: Law,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    format: AuditFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuditFormat {
    /// A readable report.
    Text,
    /// Machine-readable JSON.
    Json,
    /// A standalone HTML page.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// The policy text: .txt, .md or .html (use - for standard input).
    file: PathBuf,
    /// Treat each input line as exactly one sentence; output has one line per input line.
    #[arg(long)]
    one_sentence_per_line: bool,
    /// Output format (JSON lines).
    #[arg(long, value_enum, default_value_t = ClassifyFormat::Jsonl)]
    format: ClassifyFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClassifyFormat {
    /// One JSON object per sentence.
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The policy text: .txt, .md or .html (use - for standard input).
    file: PathBuf,
    /// The pack directory to create; the draft is written to its `policy.toml`.
    #[arg(short, long)]
    output: PathBuf,
    /// The pack id (default: the output directory's name).
    #[arg(long)]
    id: Option<String>,
    /// Overwrite an existing policy.toml.
    #[arg(long)]
    force: bool,
}

fn parse_law(s: &str) -> Result<Law, String> {
    s.parse().map_err(|e: troth_prose::Error| e.to_string())
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn format_of(path: &Path, text: &str) -> Format {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(Format::from_extension)
        .unwrap_or_else(|| Format::detect(text))
}

fn load(path: &Path) -> anyhow::Result<Document> {
    let text = read_input(path)?;
    Document::from_text(&text, format_of(path, &text))
        .with_context(|| format!("cannot read a policy from `{}`", path.display()))
}

pub fn run_audit(args: AuditArgs) -> anyhow::Result<Outcome> {
    let doc = load(&args.file)?;
    let report = audit(&doc, args.law);
    let out = match args.format {
        AuditFormat::Text => report.render_text(),
        AuditFormat::Json => report.render_json()?,
        AuditFormat::Html => report.render_html(),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    if !out.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    // Like a linter: a policy that misses a required disclosure, or raises a risk
    // flag, fails the check so it can gate a publishing pipeline.
    let s = &report.summary;
    Ok(if s.missing > 0 || s.flagged > 0 {
        Outcome::Invalid
    } else {
        Outcome::Ok
    })
}

#[derive(serde::Serialize)]
struct Line<'a> {
    index: usize,
    line: usize,
    section: &'a [String],
    text: &'a str,
    labels: Vec<&'static str>,
    practices: Vec<&'static str>,
    rules: Vec<&'a str>,
}

fn line<'a>(
    index: usize,
    line: usize,
    section: &'a [String],
    text: &'a str,
    c: &'a troth_prose::Classification,
) -> Line<'a> {
    Line {
        index,
        line,
        section,
        text,
        labels: c.practices().iter().map(|p| p.label_zh()).collect(),
        practices: c.practices().iter().map(|p| p.id()).collect(),
        rules: c
            .labels
            .iter()
            .flat_map(|h| h.evidence.iter().map(|e| e.rule.as_str()))
            .collect(),
    }
}

pub fn run_classify(args: ClassifyArgs) -> anyhow::Result<Outcome> {
    let ClassifyFormat::Jsonl = args.format;
    let classifier = Classifier::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.one_sentence_per_line {
        let text = read_input(&args.file)?;
        let lines: Vec<&str> = text.lines().collect();
        let results = classifier.classify_lines(&lines);
        for (i, (text, c)) in lines.iter().zip(&results).enumerate() {
            serde_json::to_writer(&mut out, &line(i, i + 1, &[], text, c))?;
            out.write_all(b"\n")?;
        }
    } else {
        let doc = load(&args.file)?;
        let results = classifier.classify_document(&doc);
        for (s, c) in doc.sentences().iter().zip(&results) {
            serde_json::to_writer(&mut out, &line(s.index, s.line, &s.section, &s.text, c))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

/// A pack id from a directory name: lowercase, letters, digits and `-` only,
/// starting with a letter (see docs/POLICY.md).
fn pack_id(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut id: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    id = id.trim_matches('-').to_string();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id.insert_str(0, "imported-");
    }
    id.chars().take(64).collect()
}

pub fn run_import(args: ImportArgs) -> anyhow::Result<Outcome> {
    let doc = load(&args.file)?;
    let id = args.id.unwrap_or_else(|| pack_id(&args.output));
    let draft = troth_prose::import::draft_policy(&doc, &id);
    let manifest = args.output.join("policy.toml");
    if manifest.exists() && !args.force {
        anyhow::bail!(
            "`{}` already exists; pass --force to overwrite it",
            manifest.display()
        );
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create `{}`", args.output.display()))?;
    std::fs::write(&manifest, &draft.toml)
        .with_context(|| format!("cannot write `{}`", manifest.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {}: {} values drafted from the prose, {} TODO markers to fill",
        manifest.display(),
        draft.drafted,
        draft.todos
    )?;
    if !draft.gaps.is_empty() {
        writeln!(
            out,
            "the PIPL audit found these disclosures missing or vague:"
        )?;
        for g in &draft.gaps {
            writeln!(out, "  {g}")?;
        }
    }
    writeln!(
        out,
        "next: `troth policy check {}` lists what a person must fill",
        args.output.display()
    )?;
    Ok(Outcome::Ok)
}
