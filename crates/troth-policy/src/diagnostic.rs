//! Problems found in a manifest, located in its source text.
//!
//! Every problem names the file, line and column, the field path (`purposes[2].basis`),
//! what was wrong, what was expected and what to do. Checks produce a [`FieldPath`];
//! [`locate`] turns it into a position by walking the TOML document's spans, so the
//! model itself carries no span bookkeeping.

use std::fmt::{self, Write as _};
use std::ops::Range;

use serde::Serialize;

/// One step in a path into the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Segment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path to a field, such as `purposes[2].categories[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The empty path (the whole document).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Key(k.to_owned()));
        Self(v)
    }

    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Index(i));
        Self(v)
    }

    /// Parses a dotted path such as `purposes[2].basis`.
    pub fn parse(s: &str) -> Self {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                let (name, idx) = rest.split_at(open);
                if !name.is_empty() {
                    segs.push(Segment::Key(name.to_owned()));
                }
                rest = idx;
                while let Some(stripped) = rest.strip_prefix('[') {
                    let Some(close) = stripped.find(']') else {
                        break;
                    };
                    if let Ok(i) = stripped[..close].parse() {
                        segs.push(Segment::Index(i));
                    }
                    rest = &stripped[close + 1..];
                }
            } else {
                segs.push(Segment::Key(rest.to_owned()));
            }
        }
        Self(segs)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// A problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, such as `unknown-category`; tests and tools match on it.
    pub code: &'static str,
    /// The file the manifest came from, as given.
    pub file: String,
    /// Where in the file, when it could be found.
    pub position: Option<Position>,
    /// The field the problem is about.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
    /// What was expected instead.
    pub expected: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    #[serde(skip)]
    span: Option<Range<usize>>,
    #[serde(skip)]
    snippet: Option<String>,
}

/// A problem found by a check, before it is located in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable code.
    pub code: &'static str,
    /// The field.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
    /// What was expected.
    pub expected: Option<String>,
    /// What to do.
    pub help: Option<String>,
}

impl Problem {
    /// A problem with a code, a path and a message.
    pub fn new(code: &'static str, path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            message: message.into(),
            expected: None,
            help: None,
        }
    }

    /// Adds what was expected.
    pub fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    /// Adds a help line.
    pub fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
}

/// Line starts of a text, for turning byte offsets into line and column.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Position { line, column }
    }

    fn line_text(&self, line: usize) -> &'a str {
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let end = self.starts.get(line).copied().unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }
}

/// Finds the byte span of the deepest node along `path` in a parsed TOML document.
pub fn locate(doc: &toml_edit::Document<&str>, path: &FieldPath) -> Option<Range<usize>> {
    enum Node<'d> {
        Item(&'d toml_edit::Item),
        Value(&'d toml_edit::Value),
        Table(&'d toml_edit::Table),
    }
    let mut node = Node::Item(doc.as_item());
    let mut best: Option<Range<usize>> = None;
    for seg in &path.0 {
        let next = match (&node, seg) {
            (Node::Item(item), Segment::Key(k)) => match item {
                toml_edit::Item::Table(t) => {
                    let key_span = t.key(k).and_then(|k| k.span());
                    t.get(k).map(|i| (Node::Item(i), key_span))
                }
                toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                    let key_span = t.key(k).and_then(|k| k.span());
                    t.get(k).map(|v| (Node::Value(v), key_span))
                }
                _ => None,
            },
            (Node::Table(t), Segment::Key(k)) => {
                let key_span = t.key(k).and_then(|k| k.span());
                t.get(k).map(|i| (Node::Item(i), key_span))
            }
            (Node::Value(toml_edit::Value::InlineTable(t)), Segment::Key(k)) => {
                let key_span = t.key(k).and_then(|k| k.span());
                t.get(k).map(|v| (Node::Value(v), key_span))
            }
            (Node::Item(toml_edit::Item::ArrayOfTables(a)), Segment::Index(i)) => {
                a.get(*i).map(|t| (Node::Table(t), None))
            }
            (Node::Item(toml_edit::Item::Value(toml_edit::Value::Array(a))), Segment::Index(i))
            | (Node::Value(toml_edit::Value::Array(a)), Segment::Index(i)) => {
                a.get(*i).map(|v| (Node::Value(v), None))
            }
            _ => None,
        };
        let Some((n, key_span)) = next else { break };
        let span = match &n {
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
        };
        // A value span points at the value; a table span may be missing for implicit
        // tables, in which case the key is the next best place to point at.
        if let Some(s) = span.or(key_span) {
            best = Some(s);
        }
        node = n;
    }
    best
}

impl Diagnostic {
    /// Places a problem in a source text. `doc` is the parsed text, if it parsed.
    pub fn locate(
        problem: Problem,
        file: &str,
        text: &str,
        doc: Option<&toml_edit::Document<&str>>,
    ) -> Self {
        let span = doc.and_then(|d| locate(d, &problem.path));
        Self::at(problem, file, text, span)
    }

    /// Places a problem at a known byte span.
    pub fn at(problem: Problem, file: &str, text: &str, span: Option<Range<usize>>) -> Self {
        let index = LineIndex::new(text);
        let position = span.as_ref().map(|s| index.position(s.start));
        let snippet = position.map(|p| index.line_text(p.line).to_owned());
        Self {
            code: problem.code,
            file: file.to_owned(),
            position,
            path: problem.path,
            message: problem.message,
            expected: problem.expected,
            help: problem.help,
            span,
            snippet,
        }
    }

    /// The byte range in the source, when located.
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// Renders the diagnostic as a compiler-style report with the source line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "error[{}]: {}", self.code, self.message);
        match self.position {
            Some(p) => {
                let _ = writeln!(
                    out,
                    "  --> {}:{}:{} (at `{}`)",
                    self.file, p.line, p.column, self.path
                );
                if let Some(line) = &self.snippet {
                    let gutter = p.line.to_string();
                    let pad = " ".repeat(gutter.len());
                    let width = self
                        .span
                        .as_ref()
                        .map(|s| line.chars().skip(p.column - 1).take(s.len().max(1)).count())
                        .unwrap_or(1)
                        .max(1);
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{gutter} | {line}");
                    let _ = writeln!(
                        out,
                        "{pad} | {}{}",
                        " ".repeat(p.column - 1),
                        "^".repeat(width)
                    );
                }
            }
            None => {
                let _ = writeln!(out, "  --> {} (at `{}`)", self.file, self.path);
            }
        }
        if let Some(e) = &self.expected {
            let _ = writeln!(out, "  = expected: {e}");
        }
        if let Some(h) = &self.help {
            let _ = writeln!(out, "  = help: {h}");
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "{}:{}:{}: {} (at `{}`)",
                self.file, p.line, p.column, self.message, self.path
            ),
            None => write!(f, "{}: {} (at `{}`)", self.file, self.message, self.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_and_parse() {
        let p = FieldPath::root().key("purposes").index(2).key("basis");
        assert_eq!(p.to_string(), "purposes[2].basis");
        assert_eq!(FieldPath::parse("purposes[2].basis"), p);
    }

    #[test]
    fn locates_nested_values() {
        let text = "a = 1\n[[p]]\nid = \"x\"\n[[p]]\nid = \"y\"\ncats = [\"u\", \"v\"]\n";
        let doc = toml_edit::Document::parse(text).unwrap();
        let span = locate(&doc, &FieldPath::parse("p[1].cats[1]")).unwrap();
        assert_eq!(&text[span.clone()], "\"v\"");
        let index = LineIndex::new(text);
        assert_eq!(
            index.position(span.start),
            Position {
                line: 6,
                column: 14
            }
        );
    }
}
