//! A small linear model (one logistic regression per practice) over hashed
//! character n-grams of the sentence, its headings, its list lead-in and its
//! neighbours, its position and shape in the document, and the cue rules that fired.
//!
//! Trained offline by `examples/train_model.rs` from CAPP-130 sentences and
//! shipped as `model/practices.bin` (about 0.8 MB) together with the second,
//! context stage (`crate::stack`); it runs with no I/O.

use std::sync::{Arc, LazyLock};

use crate::classify::{Cues, Evidence, EvidenceSource, Practice};
use crate::stack::{NF, Stage2};

/// Number of hash buckets per label.
pub const DIM: usize = 1 << 15;
const MAGIC: &[u8; 4] = b"TPM2";

static SHIPPED: LazyLock<Option<Arc<Model>>> =
    LazyLock::new(|| Model::from_bytes(include_bytes!("../model/practices.bin")).map(Arc::new));

/// Per-label weights.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    bias: [f32; 12],
    threshold: [f32; 12],
    /// Bucket-major, so one feature reads one cache line for all labels.
    weights: Vec<[f32; 12]>,
    /// Second stage over document context (see `stack`).
    stage2: Option<Stage2>,
}

/// One sparse feature: bucket, value, and a printable name for evidence.
#[derive(Debug, Clone)]
pub(crate) struct Feature {
    pub bucket: u32,
    pub value: f32,
    /// For sentence n-grams (shown as evidence): char start and length.
    pub span: Option<(usize, usize)>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn bucket(h: u64) -> u32 {
    u32::try_from(h % DIM as u64).unwrap_or(0)
}

fn push(out: &mut Vec<Feature>, ns: &str, name: &str, value: f32) {
    let h = fnv_bytes(fnv_bytes(FNV_OFFSET, ns.as_bytes()), &[0xff]);
    out.push(Feature {
        bucket: bucket(fnv_bytes(h, name.as_bytes())),
        value,
        span: None,
    });
}

/// Character 1–3-grams of `text` (lower-cased; digits folded to `0`), hashed
/// without allocating.
fn ngrams(
    out: &mut Vec<Feature>,
    ns: &str,
    text: &str,
    value: f32,
    explain: bool,
    max_chars: usize,
) {
    let chars: Vec<char> = text
        .chars()
        .take(max_chars)
        .map(|c| {
            if c.is_ascii_digit() {
                '0'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let base = fnv_bytes(fnv_bytes(FNV_OFFSET, ns.as_bytes()), &[0xff]);
    let mut buf = [0u8; 4];
    for i in 0..chars.len() {
        let mut h = base;
        for n in 1..=3 {
            let Some(&c) = chars.get(i + n - 1) else {
                break;
            };
            h = fnv_bytes(h, c.encode_utf8(&mut buf).as_bytes());
            if chars[i..i + n].iter().all(|c| c.is_whitespace()) {
                continue;
            }
            out.push(Feature {
                bucket: bucket(h),
                value,
                span: explain.then_some((i, n)),
            });
        }
    }
}

/// Rule ids are keyed without their language part (`sharing.zh.verb` ->
/// `sharing.verb`), so weights learned on Chinese carry over to English cues.
fn rule_key(id: &str) -> String {
    id.replace(".zh.", ".").replace(".en.", ".")
}

/// Document context beyond headings and lead-in: neighbours and position.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extra<'a> {
    pub prev: Option<&'a str>,
    pub next: Option<&'a str>,
    /// Relative position in the document (0..1); `None` for a lone sentence.
    pub position: Option<f32>,
    pub is_item: bool,
    pub is_heading: bool,
    pub first_under_heading: bool,
}

/// Build the feature vector for a sentence in context.
#[allow(clippy::too_many_arguments)] // context pieces are independent inputs
pub(crate) fn features(
    text: &str,
    headings: &[&str],
    lead_in: Option<&str>,
    prev: Option<[f32; 12]>,
    own: &Cues,
    head: &Cues,
    lead: Option<&Cues>,
    extra: &Extra<'_>,
) -> Vec<Feature> {
    let mut out = Vec::with_capacity(text.len() * 3);
    // Neighbouring sentences: CAPP-130 labels run in stretches, and a list item
    // is often only intelligible with the sentence before it.
    if let Some(p) = extra.prev {
        ngrams(&mut out, "prv", p, 0.3, false, 80);
    }
    if let Some(n) = extra.next {
        ngrams(&mut out, "nxt", n, 0.3, false, 80);
    }
    if let Some(pos) = extra.position {
        // Policies follow a common order: collection early, contact late.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let decile = (pos * 10.0).floor().clamp(0.0, 9.0) as u8;
        push(&mut out, "pos", &decile.to_string(), 1.0);
    }
    for (on, name) in [
        (extra.is_item, "item"),
        (extra.is_heading, "heading"),
        (extra.first_under_heading, "first"),
    ] {
        if on {
            push(&mut out, "shape", name, 1.0);
        }
    }
    push(&mut out, "bias", "", 1.0);
    ngrams(&mut out, "s", text, 1.0, true, 200);
    for (depth, h) in headings.iter().rev().take(2).enumerate() {
        ngrams(
            &mut out,
            "h",
            h,
            if depth == 0 { 0.5 } else { 0.25 },
            false,
            40,
        );
    }
    if let Some(p) = prev {
        // The previous sentence's cues: CAPP labels run in stretches.
        for (i, score) in p.iter().enumerate() {
            if *score > 0.0 {
                push(&mut out, "pp", Practice::ALL[i].id(), score.min(2.0) * 0.5);
            }
        }
    }
    if let Some(l) = lead_in {
        ngrams(&mut out, "l", l, 0.3, false, 80);
    }
    for (i, p) in Practice::ALL.iter().enumerate() {
        for ev in &own[i].1 {
            push(&mut out, "r", &rule_key(&ev.rule), 1.0);
        }
        if head[i].0 > 0.0 {
            push(&mut out, "hp", p.id(), head[i].0.min(2.0));
        }
        if let Some(l) = lead
            && l[i].0 > 0.0
        {
            push(&mut out, "lp", p.id(), l[i].0.min(2.0));
        }
    }
    let len = text.chars().count();
    let bucket = match len {
        0..=10 => "len<=10",
        11..=25 => "len<=25",
        26..=60 => "len<=60",
        _ => "len>60",
    };
    push(&mut out, "len", bucket, 1.0);
    if text.ends_with(':') {
        push(&mut out, "end", ":", 1.0);
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// The model shipped in the crate, if it decodes.
    pub(crate) fn shipped() -> Option<Arc<Model>> {
        SHIPPED.clone()
    }

    /// Decode: magic, dim (u32), then per label: bias f32, threshold f32,
    /// scale f32, DIM × i16 weights; then the second stage: feature count
    /// (u32, 0 for none) and per label bias f32, threshold f32, NF × f32
    /// weights (all little-endian).
    pub(crate) fn from_bytes(b: &[u8]) -> Option<Model> {
        if b.get(..4)? != MAGIC {
            return None;
        }
        let mut pos = 4;
        let mut take = |n: usize| -> Option<&[u8]> {
            let s = b.get(pos..pos + n)?;
            pos += n;
            Some(s)
        };
        let f32_at = |s: &[u8]| -> Option<f32> { Some(f32::from_le_bytes(s.try_into().ok()?)) };
        let dim = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        if dim != DIM {
            return None;
        }
        let mut bias = [0.0; 12];
        let mut threshold = [0.5; 12];
        let mut weights = vec![[0.0f32; 12]; DIM];
        for i in 0..12 {
            bias[i] = f32_at(take(4)?)?;
            threshold[i] = f32_at(take(4)?)?;
            let scale = f32_at(take(4)?)?;
            let raw = take(DIM * 2)?;
            for (slot, c) in weights.iter_mut().zip(raw.chunks_exact(2)) {
                slot[i] = f32::from(i16::from_le_bytes([c[0], c[1]])) * scale;
            }
        }
        let nf = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let stage2 = if nf == 0 {
            None
        } else if nf != NF {
            return None;
        } else {
            let mut s2 = Stage2 {
                bias: [0.0; 12],
                threshold: [0.5; 12],
                w: Vec::with_capacity(12),
            };
            for i in 0..12 {
                s2.bias[i] = f32_at(take(4)?)?;
                s2.threshold[i] = f32_at(take(4)?)?;
                let raw = take(NF * 4)?;
                s2.w.push(raw.chunks_exact(4).filter_map(f32_at).collect());
            }
            Some(s2)
        };
        Some(Model {
            bias,
            threshold,
            weights,
            stage2,
        })
    }

    /// Encode (see [`Model::from_bytes`]); first-stage weights are quantised to i16.
    pub(crate) fn to_bytes(
        bias: &[f32; 12],
        threshold: &[f32; 12],
        weights: &[Vec<f32>],
        stage2: Option<&Stage2>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 12 * (12 + DIM * 2) + 12 * (8 + NF * 4));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&u32::try_from(DIM).unwrap_or(0).to_le_bytes());
        for i in 0..12 {
            let w = &weights[i];
            let max = w.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-6);
            let scale = max / f32::from(i16::MAX);
            out.extend_from_slice(&bias[i].to_le_bytes());
            out.extend_from_slice(&threshold[i].to_le_bytes());
            out.extend_from_slice(&scale.to_le_bytes());
            for x in w {
                // Rounded and clamped to i16 range by construction of `scale`.
                #[allow(clippy::cast_possible_truncation)]
                let q = (x / scale).round().clamp(-32767.0, 32767.0) as i16;
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
        match stage2 {
            None => out.extend_from_slice(&0u32.to_le_bytes()),
            Some(s2) => {
                out.extend_from_slice(&u32::try_from(NF).unwrap_or(0).to_le_bytes());
                for i in 0..12 {
                    out.extend_from_slice(&s2.bias[i].to_le_bytes());
                    out.extend_from_slice(&s2.threshold[i].to_le_bytes());
                    for x in &s2.w[i] {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                }
            }
        }
        out
    }

    /// First-stage logits per practice for one feature vector.
    pub(crate) fn logits(&self, feats: &[Feature]) -> [f32; 12] {
        let mut z = self.bias;
        for f in feats {
            let w = &self.weights[f.bucket as usize];
            for (zi, wi) in z.iter_mut().zip(w) {
                *zi += wi * f.value;
            }
        }
        z
    }

    /// The trained second stage, if the model has one.
    pub(crate) fn stage2(&self) -> Option<&Stage2> {
        self.stage2.as_ref()
    }

    /// Decision score from the first-stage logit alone (0.5 at the tuned threshold).
    pub(crate) fn stage1_score(&self, z: f32, label: usize) -> f32 {
        map_threshold(sigmoid(z), self.threshold[label])
    }

    /// The strongest sentence n-grams behind label `label` (at most three).
    pub(crate) fn ngram_evidence(
        &self,
        text: &str,
        feats: &[Feature],
        label: usize,
    ) -> Vec<Evidence> {
        // Rank contributions first, build strings only for the few shown.
        let mut contrib: Vec<(f32, usize, usize)> = feats
            .iter()
            .filter_map(|f| {
                let (start, n) = f.span.filter(|(_, n)| *n >= 2)?;
                let c = self.weights[f.bucket as usize][label] * f.value;
                (c > 0.0).then_some((c, start, n))
            })
            .collect();
        contrib.sort_by(|a, b| b.0.total_cmp(&a.0));
        let chars: Vec<char> = text.chars().collect();
        let mut seen: Vec<String> = Vec::new();
        for (_, start, n) in contrib.iter().take(24) {
            if seen.len() >= 3 {
                break;
            }
            let Some(name) = chars.get(*start..start + n) else {
                continue;
            };
            let name: String = name.iter().collect();
            if !seen
                .iter()
                .any(|s| s.contains(name.as_str()) || name.contains(s.as_str()))
            {
                seen.push(name);
            }
        }
        seen.into_iter()
            .map(|n| Evidence {
                rule: "model.ngram".to_string(),
                matched: n,
                source: EvidenceSource::Model,
            })
            .collect()
    }
}

/// Map a probability so that `p == t` gives 0.5, keeping the order of `p`.
pub(crate) fn map_threshold(p: f32, t: f32) -> f32 {
    let t = t.clamp(0.01, 0.99);
    if p >= t {
        0.5 + 0.5 * (p - t) / (1.0 - t)
    } else {
        0.5 * p / t
    }
}
