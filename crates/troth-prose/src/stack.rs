//! Second-stage (stacked) model over the first stage's per-sentence scores.
//!
//! CAPP-130 labels follow the document's structure: a sentence under "how we use
//! your information" is usually `use` even when its own wording says little. The
//! first-stage model sees one sentence (plus a little context); this stage sees
//! the first-stage probabilities of the sentence, its neighbours, its section and
//! chapter (sentences under the same heading), its heading, its list lead-in and
//! the whole document, and re-decides each label with one logistic regression per
//! label over those few hundred dense features. It is trained on out-of-fold
//! first-stage scores (see `training::fit`), so it learns how much to trust
//! context on documents the first stage has not seen.

/// Number of twelve-label probability blocks in the dense feature vector.
const BLOCKS: usize = 12;
/// Scalar shape flags appended after the blocks.
const FLAGS: usize = 4;
/// Length of the dense feature vector.
pub(crate) const NF: usize = BLOCKS * 12 + FLAGS;

/// Names of the feature blocks, for evidence ("which context decided").
pub(crate) const BLOCK_NAMES: [&str; BLOCKS] = [
    "sentence",
    "sentence logit",
    "previous sentence",
    "next sentence",
    "second previous sentence",
    "second next sentence",
    "section mean",
    "section max",
    "chapter mean",
    "heading",
    "list lead-in",
    "document mean",
];

/// Where a sentence sits in its document (computed while walking it in order).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Place {
    /// Group id: contiguous sentences with the same section path.
    pub section: usize,
    /// Group id: contiguous sentences under the same top-level heading.
    pub chapter: usize,
    /// Index of the nearest enclosing heading sentence.
    pub heading: Option<usize>,
    /// Index of the list lead-in sentence ("...as follows:").
    pub lead_in: Option<usize>,
    pub is_heading: bool,
    pub is_item: bool,
}

/// Per-group sums and the two largest values per label (for "max of the others").
#[derive(Clone, Default)]
struct Group {
    sum: [f32; 12],
    n: usize,
    top: [(f32, f32); 12],
}

impl Group {
    fn add(&mut self, p: &[f32; 12]) {
        self.n += 1;
        for ((sum, top), &v) in self.sum.iter_mut().zip(&mut self.top).zip(p) {
            *sum += v;
            let (a, b) = *top;
            if v >= a {
                *top = (v, a);
            } else if v > b {
                *top = (a, v);
            }
        }
    }

    /// Mean over the group's other sentences (0 when alone).
    fn mean_without(&self, p: &[f32; 12], l: usize) -> f32 {
        if self.n <= 1 {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)] // sentence counts are small
            let others = (self.n - 1) as f32;
            (self.sum[l] - p[l]) / others
        }
    }

    /// Maximum over the group's other sentences (0 when alone).
    fn max_without(&self, p: &[f32; 12], l: usize) -> f32 {
        if self.n <= 1 {
            0.0
        } else {
            let (a, b) = self.top[l];
            if (p[l] - a).abs() < f32::EPSILON {
                b
            } else {
                a
            }
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Dense second-stage features for every sentence of a document, from the
/// first-stage logits (`None` for sentences the model does not score, e.g.
/// English ones, which count as all-zero probabilities).
pub(crate) fn dense(logits: &[Option<[f32; 12]>], places: &[Place]) -> Vec<Vec<f32>> {
    let probs: Vec<[f32; 12]> = logits
        .iter()
        .map(|z| z.map_or([0.0; 12], |z| z.map(sigmoid)))
        .collect();
    let groups = |key: fn(&Place) -> usize| {
        let n = places.iter().map(|p| key(p) + 1).max().unwrap_or(0);
        let mut g = vec![Group::default(); n];
        for (p, pl) in probs.iter().zip(places) {
            g[key(pl)].add(p);
        }
        g
    };
    let sections = groups(|p| p.section);
    let chapters = groups(|p| p.chapter);
    let mut doc = [0.0f32; 12];
    for p in &probs {
        for l in 0..12 {
            doc[l] += p[l];
        }
    }
    #[allow(clippy::cast_precision_loss)] // sentence counts are small
    let total = probs.len().max(1) as f32;
    let zero = [0.0f32; 12];
    let at = |i: Option<usize>| i.and_then(|i| probs.get(i)).unwrap_or(&zero);
    let mut out = Vec::with_capacity(probs.len());
    for (i, (p, pl)) in probs.iter().zip(places).enumerate() {
        let mut x = Vec::with_capacity(NF);
        x.extend_from_slice(p);
        let z = logits[i].unwrap_or([0.0; 12]);
        x.extend(z.iter().map(|v| v.clamp(-8.0, 8.0) / 4.0));
        x.extend_from_slice(at(i.checked_sub(1)));
        x.extend_from_slice(at(Some(i + 1)));
        x.extend_from_slice(at(i.checked_sub(2)));
        x.extend_from_slice(at(Some(i + 2)));
        let s = &sections[pl.section];
        x.extend((0..12).map(|l| s.mean_without(p, l)));
        x.extend((0..12).map(|l| s.max_without(p, l)));
        let c = &chapters[pl.chapter];
        x.extend((0..12).map(|l| c.mean_without(p, l)));
        x.extend_from_slice(at(pl.heading));
        x.extend_from_slice(at(pl.lead_in));
        x.extend(doc.iter().map(|d| d / total));
        for flag in [
            pl.is_heading,
            pl.is_item,
            pl.lead_in.is_some(),
            pl.heading.is_none(),
        ] {
            x.push(if flag { 1.0 } else { 0.0 });
        }
        debug_assert_eq!(x.len(), NF);
        out.push(x);
    }
    out
}

/// Whether feature `j` enters label `l`'s decision: the sentence's own scores
/// for all labels do (labels co-occur: `use` with `collection`), but each
/// context block only for the same label, which keeps the second stage small
/// enough for 32 training files.
pub(crate) fn used(l: usize, j: usize) -> bool {
    !(24..BLOCKS * 12).contains(&j) || j % 12 == l
}

/// Trained second stage: per label a bias, a decision threshold and `NF` weights.
#[derive(Debug, Clone)]
pub(crate) struct Stage2 {
    pub bias: [f32; 12],
    pub threshold: [f32; 12],
    /// Label-major: `w[l]` has `NF` weights.
    pub w: Vec<Vec<f32>>,
}

impl Stage2 {
    /// Probability per label for one dense feature vector.
    pub(crate) fn probs(&self, x: &[f32]) -> [f32; 12] {
        std::array::from_fn(|l| {
            sigmoid(self.bias[l] + self.w[l].iter().zip(x).map(|(w, v)| w * v).sum::<f32>())
        })
    }

    /// The context block (neighbour, section, heading, ...) contributing most
    /// to label `l`'s decision, when any contributes positively.
    pub(crate) fn strongest_context(&self, x: &[f32], l: usize) -> Option<(&'static str, f32)> {
        let mut best: Option<(&'static str, f32)> = None;
        // Blocks 0 and 1 are the sentence's own scores, not context.
        for (b, name) in BLOCK_NAMES.iter().enumerate().skip(2) {
            let c: f32 = (b * 12..b * 12 + 12).map(|k| self.w[l][k] * x[k]).sum();
            if c > best.map_or(0.0, |(_, v)| v) {
                best = Some((name, c));
            }
        }
        best
    }
}
