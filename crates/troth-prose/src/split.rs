//! Heading detection and sentence splitting for Chinese and English policies.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::re;
use crate::text::{Block, is_cjk};

/// A sentence (or heading) with its position in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// 0-based index in the document's sentence list.
    pub index: usize,
    /// Normalised sentence text.
    pub text: String,
    /// 1-based line number in the original input.
    pub line: usize,
    /// Byte offset of the sentence start in [`crate::Document::text`].
    pub start: usize,
    /// Byte offset one past the sentence end in [`crate::Document::text`].
    pub end: usize,
    /// Titles of the enclosing headings, outermost first (excluding this sentence).
    pub section: Vec<String>,
    /// True when this "sentence" is a heading line.
    pub is_heading: bool,
}

static ZH_NUM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:第[一二三四五六七八九十百零〇0-9]+[章节条部分篇]|[一二三四五六七八九十]+[、.．]|[IVX]+\.\s)",
    )
});
static ZH_PAREN_NUM: LazyLock<Regex> = LazyLock::new(|| re(r"^\([一二三四五六七八九十]+\)"));
static DIGIT_NUM: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\d{1,2}(?:\.\d{1,2}){0,3})(?:[.、,)]|\s)\s*"));
static EN_NUM: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:chapter|section|part|article|appendix|annex|schedule)\s+[0-9ivxlc]+\b")
});

/// If `text` looks like a heading, return its nesting level (1 = outermost).
/// `markup` is the level declared by Markdown/HTML.
#[must_use]
pub fn heading_level(text: &str, markup: Option<u8>) -> Option<u8> {
    if let Some(l) = markup {
        return Some(l);
    }
    let chars = text.chars().count();
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    let words = text.split_whitespace().count();
    let last = text.chars().last().unwrap_or(' ');
    let ends_like_sentence = matches!(last, '。' | '.' | ';' | '!' | '?' | ',' | '、' | '…');
    let short = if cjk * 2 > chars {
        chars <= 40
    } else {
        chars <= 90 && words <= 14
    };
    if !short || ends_like_sentence || last == ':' {
        return None;
    }
    if text.starts_with('【') && text.ends_with('】') {
        return Some(2);
    }
    if EN_NUM.is_match(text) || ZH_NUM.is_match(text) {
        return Some(1);
    }
    if ZH_PAREN_NUM.is_match(text) {
        return Some(2);
    }
    if let Some(c) = DIGIT_NUM.captures(text) {
        let depth = c.get(1).map_or(1, |m| m.as_str().matches('.').count() + 1);
        return u8::try_from(depth + 1).ok();
    }
    // Unnumbered short line without final punctuation: a leaf heading.
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let en_title = cjk == 0 && words <= 10 && text.chars().next().is_some_and(char::is_uppercase);
    if letters >= 2 && (cjk > 0 && chars <= 25 || en_title) && !text.contains(['(', ':', '@']) {
        return Some(9);
    }
    None
}

const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "mr", "mrs", "ms", "dr", "no", "nos", "vs", "st", "art", "arts", "sec",
    "para", "cf", "approx", "fig", "u.s", "u.k", "e.u", "p.r.c", "jr", "sr", "prof", "ref", "incl",
    "viz", "al", "op", "ca",
];

/// Split one block of text into sentence byte ranges (relative to the block).
#[must_use]
pub fn sentence_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let has_cjk = chars.iter().any(|(_, c)| is_cjk(*c));
    let mut i = 0usize;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let split = match c {
            '。' | '!' | '?' | '…' => true,
            ';' => has_cjk,
            '.' => is_english_boundary(text, &chars, i, start),
            _ => false,
        };
        if split {
            // Swallow repeated terminators and closing quotes/brackets.
            let mut j = i + 1;
            while j < chars.len()
                && matches!(
                    chars[j].1,
                    '。' | '!'
                        | '?'
                        | '…'
                        | '.'
                        | ';'
                        | '”'
                        | '’'
                        | '"'
                        | '\''
                        | ')'
                        | '」'
                        | '』'
                        | '】'
                        | ']'
                )
            {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
            // ')' only belongs to the sentence if it closes something opened in it.
            push_trimmed(text, start, end, &mut out);
            start = end;
            i = j;
            continue;
        }
        let _ = pos;
        i += 1;
    }
    push_trimmed(text, start, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead + trail < slice.len() {
        out.push((start + lead, end - trail));
    }
}

/// Decide whether the '.' at `chars[i]` ends an English sentence.
fn is_english_boundary(text: &str, chars: &[(usize, char)], i: usize, start: usize) -> bool {
    // Next non-space character decides: must be whitespace then an upper-case
    // letter, digit, quote, bracket or CJK; or the end of the block.
    let Some(&(_, next)) = chars.get(i + 1) else {
        return true;
    };
    if !next.is_whitespace() {
        return false;
    }
    let after = chars[i + 1..]
        .iter()
        .map(|(_, c)| *c)
        .find(|c| !c.is_whitespace());
    let Some(after) = after else { return true };
    if !(after.is_uppercase()
        || after.is_ascii_digit()
        || is_cjk(after)
        || matches!(after, '"' | '“' | '(' | '[' | '‘'))
    {
        return false;
    }
    // The word before the period.
    let pos = chars[i].0;
    let word_start = text[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace() || *c == '(')
        .map_or(0, |(p, c)| p + c.len_utf8());
    let word = text[word_start..pos].to_lowercase();
    if ABBREVIATIONS.contains(&word.as_str()) {
        return false;
    }
    // Single initials ("J. Smith") and numbering at the start ("1.", "II.", "1.2.").
    if word.chars().count() == 1 && word.chars().all(char::is_alphabetic) {
        return false;
    }
    let at_start = text
        .get(start..word_start)
        .is_none_or(|s| s.trim().is_empty());
    if at_start
        && (word.chars().all(|c| c.is_ascii_digit() || c == '.')
            || word.chars().all(|c| matches!(c, 'i' | 'v' | 'x')))
    {
        return false;
    }
    true
}

/// Split normalised blocks into positioned sentences. `offsets[k]` is the byte
/// offset of block `k` in the document text.
pub(crate) fn split_blocks(blocks: &[Block], offsets: &[usize]) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut stack: Vec<(u8, String)> = Vec::new();
    for (block, &base) in blocks.iter().zip(offsets) {
        let section: Vec<String> = stack.iter().map(|(_, t)| t.clone()).collect();
        if let Some(level) = heading_level(&block.text, block.heading_level) {
            out.push(Sentence {
                index: out.len(),
                text: block.text.clone(),
                line: block.line,
                start: base,
                end: base + block.text.len(),
                section,
                is_heading: true,
            });
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, block.text.clone()));
            continue;
        }
        for (s, e) in sentence_ranges(&block.text) {
            out.push(Sentence {
                index: out.len(),
                text: block.text[s..e].to_string(),
                line: block.line,
                start: base + s,
                end: base + e,
                section: section.clone(),
                is_heading: false,
            });
        }
    }
    out
}

/// One sentence per block (the "one sentence per line" mode); headings are still
/// detected so later lines carry section context.
pub(crate) fn lines_as_sentences(blocks: &[Block], offsets: &[usize]) -> Vec<Sentence> {
    let mut out = Vec::with_capacity(blocks.len());
    let mut stack: Vec<(u8, String)> = Vec::new();
    for (block, &base) in blocks.iter().zip(offsets) {
        let section: Vec<String> = stack.iter().map(|(_, t)| t.clone()).collect();
        let level = heading_level(&block.text, block.heading_level);
        out.push(Sentence {
            index: out.len(),
            text: block.text.clone(),
            line: block.line,
            start: base,
            end: base + block.text.len(),
            section,
            is_heading: level.is_some(),
        });
        if let Some(level) = level {
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            stack.push((level, block.text.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(t: &str) -> Vec<&str> {
        sentence_ranges(t)
            .into_iter()
            .map(|(s, e)| &t[s..e])
            .collect()
    }

    #[test]
    fn chinese_sentences() {
        assert_eq!(
            split("我们收集信息。我们会共享;您可以删除!对吗?"),
            ["我们收集信息。", "我们会共享;", "您可以删除!", "对吗?"]
        );
        assert_eq!(
            split("他说:“好的。”然后离开。"),
            ["他说:“好的。”", "然后离开。"]
        );
    }

    #[test]
    fn english_abbreviations() {
        assert_eq!(
            split(
                "We use data, e.g. Your email. Acme Co., Ltd. is the controller. It costs 3.5 USD. Done"
            ),
            [
                "We use data, e.g. Your email.",
                "Acme Co., Ltd. is the controller.",
                "It costs 3.5 USD.",
                "Done"
            ]
        );
        assert_eq!(
            split("1. We collect data. We share it."),
            ["1. We collect data.", "We share it."]
        );
    }

    #[test]
    fn headings() {
        assert_eq!(heading_level("一、我们如何收集您的个人信息", None), Some(1));
        assert_eq!(heading_level("(一) 共享", None), Some(2));
        assert_eq!(heading_level("1.1 Sharing", None), Some(3));
        assert_eq!(heading_level("Section 3 Your rights", None), Some(1));
        assert_eq!(heading_level("How We Share Information", None), Some(9));
        assert_eq!(
            heading_level("We collect your email address when you register.", None),
            None
        );
        assert_eq!(heading_level("我们会收集您的手机号。", None), None);
    }
}
