//! Prose analysis for privacy policies.
//!
//! * [`text`] and [`split`]: load plain text, Markdown or HTML, normalise it and
//!   split it into positioned sentences with their section path.
//! * [`classify`]: assign CAPP-130 practice labels ([`Practice`]) to sentences,
//!   with the rule ids and evidence behind each label.
//! * [`audit`]: check a policy against the disclosures PIPL, GDPR or CCPA require
//!   and render the result as text, JSON or HTML.
//! * [`import`]: draft a `policy.toml` pack from the prose, quoting each source
//!   sentence and marking what is missing with `TODO`.
//!
//! The crate is pure: callers read files and pass text in.
//!
//! ```
//! use troth_prose::{Document, Format, classify::Classifier, audit::{audit, Law}};
//! let doc = Document::from_text("一、联系我们\n如有问题，请发送邮件至 privacy@example.com。", Format::Text).unwrap();
//! let labels = Classifier::new().classify_document(&doc);
//! assert!(labels[1].has(troth_prose::Practice::Contact));
//! let report = audit(&doc, Law::Pipl);
//! assert!(report.render_text().contains("pipl.controller_contact"));
//! ```

pub mod audit;
pub mod classify;
pub mod import;
mod model;
pub mod split;
mod stack;
pub mod text;
#[doc(hidden)]
pub mod training;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use classify::{Classification, Classifier, Practice};
pub use split::Sentence;
pub use text::Format;

/// Errors from this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The input contained no text after markup removal and normalisation.
    #[error("document is empty after normalisation")]
    Empty,
    /// An unknown law profile name was given.
    #[error("unknown law profile `{0}` (expected pipl, gdpr or ccpa)")]
    UnknownLaw(String),
    /// An unknown practice id or label was given.
    #[error("unknown practice `{0}`")]
    UnknownPractice(String),
}

/// Dominant script of a document, used to pick wording in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Mostly CJK characters.
    Chinese,
    /// Mostly Latin script.
    English,
}

/// A loaded, normalised and sentence-split document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    text: String,
    format: Format,
    language: Language,
    sentences: Vec<Sentence>,
}

impl Document {
    /// Load a policy from text in the given format and split it into sentences.
    ///
    /// # Errors
    /// [`Error::Empty`] when nothing remains after normalisation.
    pub fn from_text(input: &str, format: Format) -> Result<Document, Error> {
        let blocks = text::load(input, format);
        Document::from_blocks(&blocks, format, true)
    }

    /// "One sentence per line" mode: every non-empty input line is exactly one
    /// sentence (no further splitting), headings still give section context.
    /// Empty lines are kept as empty sentences so results stay aligned with input.
    #[must_use]
    pub fn from_lines<S: AsRef<str>>(lines: &[S]) -> Document {
        let blocks: Vec<text::Block> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| text::Block {
                line: i + 1,
                text: text::normalize(l.as_ref()),
                heading_level: None,
            })
            .collect();
        Document::from_blocks(&blocks, Format::Text, false).unwrap_or_else(|_| Document {
            text: String::new(),
            format: Format::Text,
            language: Language::English,
            sentences: Vec::new(),
        })
    }

    fn from_blocks(blocks: &[text::Block], format: Format, split: bool) -> Result<Document, Error> {
        let mut text = String::new();
        let mut offsets = Vec::with_capacity(blocks.len());
        for b in blocks {
            offsets.push(text.len());
            text.push_str(&b.text);
            text.push('\n');
        }
        if text.trim().is_empty() && split {
            return Err(Error::Empty);
        }
        let sentences = if split {
            split::split_blocks(blocks, &offsets)
        } else {
            split::lines_as_sentences(blocks, &offsets)
        };
        let cjk = text.chars().filter(|c| text::is_cjk(*c)).count();
        let latin = text.chars().filter(char::is_ascii_alphabetic).count();
        let language = if cjk * 3 >= latin {
            Language::Chinese
        } else {
            Language::English
        };
        Ok(Document {
            text,
            format,
            language,
            sentences,
        })
    }

    /// The normalised text; sentence `start`/`end` offsets index into it.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The input format.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The dominant language.
    #[must_use]
    pub fn language(&self) -> Language {
        self.language
    }

    /// Sentences (headings included, flagged with `is_heading`), in order.
    #[must_use]
    pub fn sentences(&self) -> &[Sentence] {
        &self.sentences
    }
}

/// Compile a regex literal of this crate. All patterns are fixed strings covered
/// by unit tests, so failure is a programming error; fall back to a never-matching
/// regex rather than panicking in library code.
pub(crate) fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => {
            debug_assert!(false, "bad regex {pattern}: {e}");
            never()
        }
    }
}

fn never() -> Regex {
    match Regex::new(r"[^\s\S]") {
        Ok(r) => r,
        Err(_) => never(),
    }
}
