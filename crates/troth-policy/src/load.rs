//! Reading a manifest from text or from a pack directory.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, FieldPath, Problem, Segment};
use crate::model::Policy;
use crate::validate::validate;

/// The file name of a manifest inside a pack directory.
pub const MANIFEST: &str = "policy.toml";

/// A manifest that parsed and passed every check.
#[derive(Debug, Clone)]
pub struct Pack {
    /// The manifest file it came from.
    pub file: PathBuf,
    /// The parsed policy.
    pub policy: Policy,
}

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path tried.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest has problems; all of them are listed.
    #[error("`{file}` has {} problem(s)", .diagnostics.len())]
    Invalid {
        /// The manifest file.
        file: PathBuf,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

/// Resolves a pack argument: a directory means its `policy.toml`.
pub fn manifest_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(MANIFEST)
    } else {
        path.to_owned()
    }
}

/// Loads and checks a pack from a directory or a manifest file.
pub fn load_pack(path: &Path) -> Result<Pack, LoadError> {
    let file = manifest_path(path);
    let text = std::fs::read_to_string(&file).map_err(|source| LoadError::Io {
        path: file.clone(),
        source,
    })?;
    parse_policy(&file.display().to_string(), &text)
        .map(|policy| Pack {
            file: file.clone(),
            policy,
        })
        .map_err(|diagnostics| LoadError::Invalid { file, diagnostics })
}

/// Parses and checks a manifest. `file` names it in diagnostics.
pub fn parse_policy(file: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let problem = Problem::new("toml-syntax", FieldPath::root(), first_line(e.message()))
                .help("fix the TOML syntax at the marked place");
            return Err(vec![Diagnostic::at(problem, file, text, e.span())]);
        }
    };
    let policy: Policy = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let path = e.span().map(|s| path_at(&doc, s.start)).unwrap_or_default();
            let message = first_line(e.message());
            let code = if message.starts_with("unknown field") {
                "unknown-field"
            } else if message.starts_with("missing field") {
                "missing-field"
            } else if message.starts_with("unknown variant") {
                "unknown-value"
            } else {
                "wrong-type"
            };
            let problem = Problem::new(code, path, message)
                .help("see docs/POLICY.md for the fields each section takes");
            return Err(vec![Diagnostic::at(problem, file, text, e.span())]);
        }
    };
    let problems = validate(&policy);
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(problems
            .into_iter()
            .map(|p| Diagnostic::locate(p, file, text, Some(&doc)))
            .collect())
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_owned()
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// The path of the deepest node whose span contains `offset`, for errors that come
/// with a position but no path.
fn path_at(doc: &toml_edit::Document<&str>, offset: usize) -> FieldPath {
    fn walk_table(t: &dyn toml_edit::TableLike, offset: usize, out: &mut Vec<Segment>) {
        for (k, item) in t.iter() {
            let key_span = t.key(k).and_then(|k| k.span());
            if contains(item.span(), offset) || contains(key_span, offset) {
                out.push(Segment::Key(k.to_owned()));
                walk_item(item, offset, out);
                return;
            }
            // Implicit and array-of-table items have no span of their own; look inside.
            let mut inner = Vec::new();
            walk_item(item, offset, &mut inner);
            if !inner.is_empty() {
                out.push(Segment::Key(k.to_owned()));
                out.extend(inner);
                return;
            }
        }
    }
    fn walk_item(item: &toml_edit::Item, offset: usize, out: &mut Vec<Segment>) {
        match item {
            toml_edit::Item::Table(t) => walk_table(t, offset, out),
            toml_edit::Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    let mut inner = Vec::new();
                    walk_table(t, offset, &mut inner);
                    if contains(t.span(), offset) || !inner.is_empty() {
                        out.push(Segment::Index(i));
                        out.extend(inner);
                        return;
                    }
                }
            }
            toml_edit::Item::Value(v) => walk_value(v, offset, out),
            toml_edit::Item::None => {}
        }
    }
    fn walk_value(v: &toml_edit::Value, offset: usize, out: &mut Vec<Segment>) {
        match v {
            toml_edit::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    if contains(x.span(), offset) {
                        out.push(Segment::Index(i));
                        walk_value(x, offset, out);
                        return;
                    }
                }
            }
            toml_edit::Value::InlineTable(t) => walk_table(t, offset, out),
            _ => {}
        }
    }
    let mut segs = Vec::new();
    walk_table(doc.as_table(), offset, &mut segs);
    FieldPath(segs)
}
