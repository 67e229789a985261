//! Text loading and normalisation: plain text, Markdown and HTML in, a list of
//! normalised [`Block`]s out (one paragraph, heading or list item each).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Input format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Plain text, one paragraph per line (hard-wrapped English lines are re-joined).
    Text,
    /// Markdown (headings `#`, lists, emphasis, links).
    Markdown,
    /// HTML (tags stripped, scripts and styles dropped, entities decoded).
    Html,
}

impl Format {
    /// Guess the format from content: HTML if it starts with a tag or contains
    /// common block tags, Markdown if it has ATX headings, otherwise text.
    #[must_use]
    pub fn detect(text: &str) -> Format {
        let head: String = text.chars().take(4096).collect::<String>().to_lowercase();
        let t = head.trim_start();
        if t.starts_with("<!doctype html")
            || t.starts_with("<html")
            || head.contains("<body")
            || head.contains("<p>")
            || head.contains("<div")
        {
            Format::Html
        } else if text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("# ") || l.starts_with("## ") || l.starts_with("### ")
        }) {
            Format::Markdown
        } else {
            Format::Text
        }
    }

    /// Guess the format from a file extension (`md`, `html`, `txt`, ...).
    #[must_use]
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(Format::Text),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            _ => None,
        }
    }
}

/// One normalised unit of text: a paragraph, list item or heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// 1-based line number in the original input where the block starts.
    pub line: usize,
    /// Normalised text (NFKC, whitespace collapsed, markup removed); never contains `\n`.
    pub text: String,
    /// Markup-declared heading level (Markdown `#`, HTML `<hN>`), if any.
    pub heading_level: Option<u8>,
}

/// Normalise one piece of text: NFKC (which also folds full-width ASCII such as
/// `，：（）` to `,:()`), drop zero-width and control characters, unify quotes'
/// spacing, collapse whitespace runs to one space and trim.
#[must_use]
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkc() {
        match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}' => {}
            c if c.is_whitespace() => pending_space = true,
            c if c.is_control() => pending_space = true,
            c => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
            }
        }
    }
    out
}

/// True for CJK ideographs and CJK punctuation (used to decide joining and splitting rules).
#[must_use]
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

/// Load a document into normalised blocks.
#[must_use]
pub fn load(input: &str, format: Format) -> Vec<Block> {
    match format {
        Format::Text => from_plain(input),
        Format::Markdown => from_markdown(input),
        Format::Html => from_markdown_lines(&html_to_lines(input), true),
    }
}

fn from_plain(input: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut prev_open = false; // previous block looks hard-wrapped mid-sentence
    for (i, raw) in input.lines().enumerate() {
        let text = normalize(raw);
        if text.is_empty() {
            prev_open = false;
            continue;
        }
        let starts_lower = text.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if prev_open
            && starts_lower
            && let Some(last) = blocks.last_mut()
        {
            last.text.push(' ');
            last.text.push_str(&text);
            prev_open = ends_open(&last.text);
            continue;
        }
        prev_open = ends_open(&text);
        blocks.push(Block {
            line: i + 1,
            text,
            heading_level: None,
        });
    }
    blocks
}

/// A line that ends with a lowercase word or comma is probably hard-wrapped English.
fn ends_open(text: &str) -> bool {
    text.chars()
        .last()
        .is_some_and(|c| c.is_ascii_lowercase() || c == ',')
        && text.len() > 40
}

fn from_markdown(input: &str) -> Vec<Block> {
    let lines: Vec<(usize, String)> = input
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    from_markdown_lines(&lines, false)
}

/// Shared Markdown-ish pass (HTML is first converted to Markdown-ish lines).
fn from_markdown_lines(lines: &[(usize, String)], from_html: bool) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut joinable = false; // last block is a paragraph that may continue
    let mut in_code = false;
    for (line, raw) in lines {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            joinable = false;
            continue;
        }
        if in_code {
            continue;
        }
        if trimmed.is_empty() || is_rule_line(trimmed) {
            joinable = false;
            continue;
        }
        let (level, body) = atx_heading(trimmed);
        let (is_item, body) = if level.is_none() {
            strip_list_marker(body)
        } else {
            (false, body)
        };
        let text = normalize(&strip_inline_markdown(body));
        if text.is_empty() {
            continue;
        }
        if level.is_none()
            && !is_item
            && joinable
            && !from_html
            && let Some(last) = blocks.last_mut()
        {
            let cjk_edge = last.text.chars().last().is_some_and(is_cjk)
                || text.chars().next().is_some_and(is_cjk);
            if !cjk_edge {
                last.text.push(' ');
            }
            last.text.push_str(&text);
            continue;
        }
        joinable = level.is_none() && !is_item;
        blocks.push(Block {
            line: *line,
            text,
            heading_level: level,
        });
    }
    blocks
}

fn is_rule_line(t: &str) -> bool {
    t.len() >= 3 && t.chars().all(|c| matches!(c, '-' | '*' | '_' | '=' | ' '))
        || t.starts_with('|') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn atx_heading(t: &str) -> (Option<u8>, &str) {
    let hashes = t.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) {
        let rest = &t[hashes..];
        if rest.is_empty() || rest.starts_with(' ') {
            let body = rest.trim().trim_end_matches('#').trim();
            return (u8::try_from(hashes).ok(), body);
        }
    }
    (None, t)
}

fn strip_list_marker(t: &str) -> (bool, &str) {
    let t = t.trim_start_matches('>').trim_start();
    for m in ["- ", "* ", "+ ", "• ", "· "] {
        if let Some(rest) = t.strip_prefix(m) {
            return (true, rest);
        }
    }
    (false, t)
}

/// Remove emphasis, code ticks and images; keep link text and the target
/// (contact URLs and mail addresses matter to the audit).
fn strip_inline_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' | '`' => {}
            '_' if i + 1 < chars.len() && chars[i + 1] == '_' => i += 1,
            '|' => out.push(' '),
            '!' if chars.get(i + 1) == Some(&'[') => {}
            '[' => {
                // [text](url) -> text (url); otherwise keep the bracket.
                if let Some(close) = chars[i + 1..].iter().position(|&x| x == ']') {
                    let close = i + 1 + close;
                    if chars.get(close + 1) == Some(&'(')
                        && let Some(end) = chars[close + 2..].iter().position(|&x| x == ')')
                    {
                        let end = close + 2 + end;
                        let text: String = chars[i + 1..close].iter().collect();
                        let url: String = chars[close + 2..end].iter().collect();
                        out.push_str(&text);
                        if !url.is_empty() && !url.starts_with('#') && url != text {
                            out.push_str(" (");
                            out.push_str(url.trim_start_matches("mailto:"));
                            out.push(')');
                        }
                        i = end + 1;
                        continue;
                    }
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "hr",
    "dt",
    "dd",
    "dl",
    "main",
    "nav",
    "aside",
    "form",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "title",
    "caption",
    "figure",
    "figcaption",
    "address",
];
const SKIP_TAGS: &[&str] = &["script", "style", "noscript", "template", "svg", "head"];

/// Convert HTML to Markdown-ish lines tagged with their source line number:
/// block tags become line breaks, `<hN>` becomes `#`×N, `<li>` becomes `- `.
fn html_to_lines(html: &str) -> Vec<(usize, String)> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut cur = String::new();
    let mut cur_line = 1usize;
    let mut line = 1usize;
    let mut skip: Option<String> = None;
    let bytes = html.as_bytes();
    let mut i = 0usize;
    let flush = |cur: &mut String, cur_line: usize, lines: &mut Vec<(usize, String)>| {
        if !cur.trim().is_empty() {
            lines.push((cur_line, decode_entities(cur)));
        }
        cur.clear();
    };
    while i < bytes.len() {
        if html[i..].starts_with("<!--") {
            let end = html[i..].find("-->").map_or(html.len(), |e| i + e + 3);
            line += html[i..end].matches('\n').count();
            i = end;
            continue;
        }
        if bytes[i] == b'<' {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
            let tag = &html[i..end];
            line += tag.matches('\n').count();
            i = end;
            let inner = tag.trim_start_matches('<').trim_end_matches('>').trim();
            let closing = inner.starts_with('/');
            let name: String = inner
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if let Some(s) = &skip {
                if closing && *s == name {
                    skip = None;
                }
                continue;
            }
            if !closing && SKIP_TAGS.contains(&name.as_str()) && !inner.ends_with('/') {
                skip = Some(name);
                continue;
            }
            if BLOCK_TAGS.contains(&name.as_str()) {
                flush(&mut cur, cur_line, &mut lines);
                cur_line = line;
                if !closing {
                    if let Some(level) =
                        name.strip_prefix('h').and_then(|d| d.parse::<usize>().ok())
                    {
                        cur.push_str(&"#".repeat(level));
                        cur.push(' ');
                    } else if name == "li" {
                        cur.push_str("- ");
                    }
                }
            } else if name == "td" || name == "th" {
                cur.push(' ');
            }
            continue;
        }
        let next = html[i..].find('<').map_or(html.len(), |e| i + e);
        let chunk = &html[i..next];
        if skip.is_none() {
            if cur.trim().is_empty() {
                cur_line = line
                    + chunk[..chunk.len() - chunk.trim_start().len()]
                        .matches('\n')
                        .count();
            }
            cur.push_str(chunk);
        }
        line += chunk.matches('\n').count();
        i = next;
    }
    flush(&mut cur, cur_line, &mut lines);
    // Inline text inside one block may span source lines: keep it on one line.
    lines
        .into_iter()
        .map(|(l, s)| (l, s.replace(['\n', '\r'], " ")))
        .collect()
}

/// Decode HTML character references (numeric and the common named ones).
#[must_use]
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let semi = rest[1..].find(';').map(|p| p + 1).filter(|&p| p <= 12);
        let decoded = semi.and_then(|p| entity(&rest[1..p]).map(|c| (c, p)));
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = &rest[p + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "laquo" => '«',
        "raquo" => '»',
        "sect" => '§',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkc_folds_fullwidth() {
        assert_eq!(normalize("（一）　收集，ＡＢＣ１２"), "(一) 收集,ABC12");
    }

    #[test]
    fn html_strips_scripts_and_decodes() {
        let b = load(
            "<html><head><title>x</title><script>var a='<p>';</script></head><body><h2>Sharing &amp; you</h2><p>We share&nbsp;data.</p><ul><li>one</li></ul></body></html>",
            Format::Html,
        );
        let texts: Vec<_> = b.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Sharing & you", "We share data.", "one"]);
        assert_eq!(b[0].heading_level, Some(2));
    }

    #[test]
    fn markdown_joins_paragraph_lines() {
        let b = load(
            "# Title\n\nWe collect\nyour email.\n\n- item [mail](mailto:a@b.c)\n",
            Format::Markdown,
        );
        assert_eq!(b[0].heading_level, Some(1));
        assert_eq!(b[1].text, "We collect your email.");
        assert_eq!(b[2].text, "item mail (a@b.c)");
    }
}
