//! Training support for the linear model (not a stable API): used by
//! `examples/train_model.rs` to build `model/practices.bin` and by the
//! cross-validation test to train one model per fold.
//!
//! One-vs-rest logistic regression per practice over the hashed features of
//! `model::features`, trained with AdaGrad and L2; per-label decision
//! thresholds are tuned on out-of-fold scores of the training documents only.

use crate::classify::{Practice, document_features, mostly_cjk};
use crate::stack::{NF, Place, Stage2};

pub use crate::model::DIM;

/// A labelled document given one sentence per line.
pub type Doc<'a> = (&'a [String], &'a [Vec<Practice>]);

/// One training sentence: sparse features and the twelve gold flags.
#[derive(Debug, Clone)]
pub struct Example {
    /// (bucket, value) pairs.
    pub x: Vec<(u32, f32)>,
    /// Gold label per practice, in [`Practice::ALL`] order.
    pub y: [bool; 12],
}

/// Hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Passes over the data.
    pub epochs: usize,
    /// L2 penalty per update.
    pub l2: f32,
    /// AdaGrad base learning rate.
    pub lr: f32,
    /// Folds (by document) used to get out-of-fold scores for threshold tuning
    /// and for training the second stage.
    pub inner_folds: usize,
    /// Train the second (context) stage; without it the first stage decides alone.
    pub stack: bool,
    /// Passes over the data for the second stage.
    pub stack_epochs: usize,
    /// L2 penalty of the second stage.
    pub stack_l2: f32,
    /// Second stage sees context blocks only for the label being decided.
    pub stack_diag: bool,
    /// Per label, fall back to the first stage where the second does not help
    /// out of fold.
    pub stack_select: bool,
    /// First-stage positives weigh (negatives / positives) ^ this (0: unweighted).
    pub pos_weight_pow: f32,
    /// Cap on the positive weight.
    pub pos_weight_max: f32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            epochs: 8,
            l2: 1e-5,
            lr: 0.3,
            inner_folds: 3,
            stack: true,
            stack_epochs: 30,
            stack_l2: 1e-4,
            stack_diag: true,
            stack_select: false,
            pos_weight_pow: 0.0,
            pos_weight_max: 4.0,
        }
    }
}

/// Trained weights, label-major.
#[derive(Debug, Clone)]
pub struct Weights {
    /// Bias per label.
    pub bias: [f32; 12],
    /// `DIM` weights per label.
    pub w: Vec<Vec<f32>>,
}

/// Sparse features for every line of a document given one sentence per line.
#[must_use]
pub fn line_features<S: AsRef<str>>(lines: &[S]) -> Vec<Vec<(u32, f32)>> {
    document_features(&crate::Document::from_lines(lines))
        .0
        .into_iter()
        .map(|fs| fs.into_iter().map(|f| (f.bucket, f.value)).collect())
        .collect()
}

/// One document's examples plus what the second stage needs: each line's
/// place in the document and whether the first-stage model scores it.
struct DocExamples {
    examples: Vec<Example>,
    places: Vec<Place>,
    scored: Vec<bool>,
}

fn doc_examples((lines, gold): Doc<'_>) -> DocExamples {
    let doc = crate::Document::from_lines(lines);
    let scored = doc
        .sentences()
        .iter()
        .map(|s| mostly_cjk(&s.text))
        .collect();
    let (feats, places) = document_features(&doc);
    let examples = feats
        .into_iter()
        .zip(gold.iter())
        .map(|(fs, g)| {
            let mut y = [false; 12];
            for p in g {
                y[p.index()] = true;
            }
            Example {
                x: fs.into_iter().map(|f| (f.bucket, f.value)).collect(),
                y,
            }
        })
        .collect();
    DocExamples {
        examples,
        places,
        scored,
    }
}

/// Training examples of the given documents.
#[must_use]
pub fn examples(docs: &[Doc<'_>]) -> Vec<Example> {
    docs.iter()
        .flat_map(|d| doc_examples(*d).examples)
        .collect()
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Train one label: returns (bias, weights). Deterministic (fixed-seed shuffle).
fn train_label(data: &[Example], label: usize, p: Params) -> (f32, Vec<f32>) {
    let mut bias = 0f32;
    let mut w = vec![0f32; DIM];
    let mut g2 = vec![1e-3f32; DIM];
    let mut gb = 1e-3f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    // Rare labels (cessation: 28 sentences) get their positives up-weighted.
    let pos = data.iter().filter(|e| e.y[label]).count().max(1);
    #[allow(clippy::cast_precision_loss)] // sentence counts
    let ratio = (data.len() - pos.min(data.len())) as f32 / pos as f32;
    let pos_weight = ratio.max(1.0).powf(p.pos_weight_pow).min(p.pos_weight_max);
    for _ in 0..p.epochs {
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // The high bits of an LCG are the well-mixed ones.
            let j = usize::try_from(seed >> 33).unwrap_or(0) % (i + 1);
            order.swap(i, j);
        }
        for &k in &order {
            let ex = &data[k];
            let z = bias
                + ex.x
                    .iter()
                    .map(|(b, v)| w[*b as usize % DIM] * v)
                    .sum::<f32>();
            let g = if ex.y[label] {
                (sigmoid(z) - 1.0) * pos_weight
            } else {
                sigmoid(z)
            };
            gb += g * g;
            bias -= p.lr * g / gb.sqrt();
            for (b, v) in &ex.x {
                let b = *b as usize % DIM;
                let grad = g * v + p.l2 * w[b];
                g2[b] += grad * grad;
                w[b] -= p.lr * grad / g2[b].sqrt();
            }
        }
    }
    (bias, w)
}

/// Train all twelve labels (on up to two threads: labels are independent).
#[must_use]
pub fn train(data: &[Example], p: Params) -> Weights {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 2);
    let mut per_label: Vec<(f32, Vec<f32>)> = vec![(0.0, Vec::new()); 12];
    std::thread::scope(|s| {
        let chunks: Vec<_> = per_label
            .chunks_mut(12usize.div_ceil(threads))
            .enumerate()
            .map(|(c, chunk)| {
                s.spawn(move || {
                    let first = c * chunk.len();
                    for (i, slot) in chunk.iter_mut().enumerate() {
                        *slot = train_label(data, first + i, p);
                    }
                })
            })
            .collect();
        for h in chunks {
            // A panic in a worker is a bug; surface it on this thread.
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
    let mut bias = [0f32; 12];
    let mut w = Vec::with_capacity(12);
    for (i, (b, wl)) in per_label.into_iter().enumerate() {
        bias[i] = b;
        w.push(wl);
    }
    Weights { bias, w }
}

/// Logits per label for one example.
#[must_use]
pub fn logits(weights: &Weights, x: &[(u32, f32)]) -> [f32; 12] {
    std::array::from_fn(|l| {
        weights.bias[l]
            + x.iter()
                .map(|(b, v)| weights.w[l][*b as usize % DIM] * v)
                .sum::<f32>()
    })
}

/// Probabilities per label for one example.
#[must_use]
pub fn predict(weights: &Weights, x: &[(u32, f32)]) -> [f32; 12] {
    logits(weights, x).map(sigmoid)
}

/// Train the dense second stage (one logistic regression per label, AdaGrad,
/// fixed-seed shuffle).
fn train_dense(x: &[Vec<f32>], y: &[[bool; 12]], p: Params) -> ([f32; 12], Vec<Vec<f32>>) {
    let mut bias = [0f32; 12];
    let mut w = vec![vec![0f32; NF]; 12];
    for l in 0..12 {
        let mut g2 = vec![1e-3f32; NF];
        let mut gb = 1e-3f32;
        let mut order: Vec<usize> = (0..x.len()).collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..p.stack_epochs {
            for i in (1..order.len()).rev() {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let j = usize::try_from(seed >> 33).unwrap_or(0) % (i + 1);
                order.swap(i, j);
            }
            for &k in &order {
                let z = bias[l] + w[l].iter().zip(&x[k]).map(|(a, b)| a * b).sum::<f32>();
                let g = sigmoid(z) - if y[k][l] { 1.0 } else { 0.0 };
                gb += g * g;
                bias[l] -= 0.1 * g / gb.sqrt();
                for (j, v) in x[k].iter().enumerate() {
                    if p.stack_diag && !crate::stack::used(l, j) {
                        continue;
                    }
                    let grad = g * v + p.stack_l2 * w[l][j];
                    g2[j] += grad * grad;
                    w[l][j] -= 0.1 * grad / g2[j].sqrt();
                }
            }
        }
    }
    (bias, w)
}

/// Per label, the threshold maximising F1 over scored examples (kept in a sane
/// band: rare labels give noisy optima).
#[must_use]
pub fn tune_thresholds(scored: &[([f32; 12], [bool; 12])]) -> [f32; 12] {
    std::array::from_fn(|l| {
        let mut best = (0.0f64, 0.5f32);
        for step in 2..=38 {
            #[allow(clippy::cast_precision_loss)] // step ≤ 38
            let t = step as f32 * 0.025;
            let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
            for (s, y) in scored {
                match (s[l] >= t, y[l]) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fn_ += 1,
                    _ => {}
                }
            }
            #[allow(clippy::cast_precision_loss)] // counts are sentence counts
            let f1 = 2.0 * tp as f64 / ((2 * tp + fp + fn_).max(1)) as f64;
            if f1 > best.0 + 1e-9 {
                best = (f1, t);
            }
        }
        best.1.clamp(0.15, 0.7)
    })
}

/// Fit a shippable model on `docs`: first-stage models trained on
/// `inner_folds` document folds give out-of-fold scores, which tune the
/// first-stage thresholds and train the second (context) stage, whose own
/// thresholds come from out-of-fold second-stage scores over the same folds;
/// then the first stage is trained on all docs. Returns the encoded model.
#[must_use]
pub fn fit(docs: &[Doc<'_>], p: Params) -> Vec<u8> {
    let per_doc: Vec<DocExamples> = docs.iter().map(|d| doc_examples(*d)).collect();
    let k = p.inner_folds.max(2).min(docs.len().max(2));
    let mut oof: Vec<Vec<[f32; 12]>> = vec![Vec::new(); per_doc.len()];
    for fold in 0..k {
        let train_set: Vec<Example> = per_doc
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != fold)
            .flat_map(|(_, d)| d.examples.iter().cloned())
            .collect();
        let w = train(&train_set, p);
        for (i, d) in per_doc.iter().enumerate().filter(|(i, _)| i % k == fold) {
            oof[i] = d.examples.iter().map(|e| logits(&w, &e.x)).collect();
        }
    }
    let scored: Vec<([f32; 12], [bool; 12])> = per_doc
        .iter()
        .zip(&oof)
        .flat_map(|(d, z)| {
            z.iter()
                .zip(&d.examples)
                .map(|(z, e)| (z.map(sigmoid), e.y))
        })
        .collect();
    let threshold = tune_thresholds(&scored);
    let stage2 = p
        .stack
        .then(|| fit_stage2(&per_doc, &oof, k, p, &scored, &threshold));
    let all: Vec<Example> = per_doc.into_iter().flat_map(|d| d.examples).collect();
    let w = train(&all, p);
    crate::model::Model::to_bytes(&w.bias, &threshold, &w.w, stage2.as_ref())
}

/// Second stage from out-of-fold first-stage logits: thresholds from its own
/// out-of-fold scores (same document folds), weights from all documents.
fn fit_stage2(
    per_doc: &[DocExamples],
    oof: &[Vec<[f32; 12]>],
    k: usize,
    p: Params,
    stage1_scored: &[([f32; 12], [bool; 12])],
    stage1_threshold: &[f32; 12],
) -> Stage2 {
    let dense: Vec<Vec<Vec<f32>>> = per_doc
        .iter()
        .zip(oof)
        .map(|(d, z)| {
            let masked: Vec<Option<[f32; 12]>> = z
                .iter()
                .zip(&d.scored)
                .map(|(z, on)| on.then_some(*z))
                .collect();
            crate::stack::dense(&masked, &d.places)
        })
        .collect();
    let gather = |keep: &dyn Fn(usize) -> bool| {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (i, (d, xs)) in per_doc.iter().zip(&dense).enumerate() {
            if keep(i) {
                for (e, xv) in d
                    .examples
                    .iter()
                    .zip(xs)
                    .zip(&d.scored)
                    .filter_map(|((e, xv), on)| on.then_some((e, xv)))
                {
                    x.push(xv.clone());
                    y.push(e.y);
                }
            }
        }
        (x, y)
    };
    let mut scored = Vec::new();
    for fold in 0..k {
        let (x, y) = gather(&|i| i % k != fold);
        let (bias, w) = train_dense(&x, &y, p);
        let s2 = Stage2 {
            bias,
            threshold: [0.5; 12],
            w,
        };
        let (xt, yt) = gather(&|i| i % k == fold);
        for (xv, yv) in xt.iter().zip(yt) {
            scored.push((s2.probs(xv), yv));
        }
    }
    let mut threshold = tune_thresholds(&scored);
    let (x, y) = gather(&|_| true);
    let (bias, mut w) = train_dense(&x, &y, p);
    let mut bias = bias;
    if p.stack_select {
        // Per label, keep the second stage only where its out-of-fold F1 beats
        // the first stage's; otherwise pass the first-stage logit through.
        let s1: Vec<_> = stage1_scored
            .iter()
            .zip(per_doc.iter().flat_map(|d| d.scored.iter()))
            .filter_map(|(s, on)| on.then_some(*s))
            .collect();
        for l in 0..12 {
            let f2 = f1_at(&scored, l, threshold[l]);
            let f1 = f1_at(&s1, l, stage1_threshold[l]);
            if f1 > f2 {
                bias[l] = 0.0;
                w[l] = vec![0.0; NF];
                // The logit block holds z / 4 (clamped to ±8).
                w[l][12 + l] = 4.0;
                threshold[l] = stage1_threshold[l];
            }
        }
    }
    Stage2 { bias, threshold, w }
}

/// F1 of label `l` at threshold `t` over scored examples.
fn f1_at(scored: &[([f32; 12], [bool; 12])], l: usize, t: f32) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (s, y) in scored {
        match (s[l] >= t, y[l]) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    #[allow(clippy::cast_precision_loss)] // counts are sentence counts
    let f = 2.0 * tp as f64 / ((2 * tp + fp + fn_).max(1)) as f64;
    f
}

/// Serialise trained weights into the shipped model format.
#[must_use]
pub fn encode(bias: &[f32; 12], threshold: &[f32; 12], weights: &[Vec<f32>]) -> Vec<u8> {
    crate::model::Model::to_bytes(bias, threshold, weights, None)
}
