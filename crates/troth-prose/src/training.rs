//! Training support for the linear model (not a stable API): used by
//! `examples/train_model.rs` to build `model/practices.bin` and by the
//! cross-validation test to train one model per fold.
//!
//! One-vs-rest logistic regression per practice over the hashed features of
//! `model::features`, trained with AdaGrad and L2; per-label decision
//! thresholds are tuned on out-of-fold scores of the training documents only.

use crate::classify::{Practice, document_features};

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
    /// Folds (by document) used to get out-of-fold scores for threshold tuning.
    pub inner_folds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            epochs: 8,
            l2: 1e-5,
            lr: 0.3,
            inner_folds: 3,
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
        .into_iter()
        .map(|fs| fs.into_iter().map(|f| (f.bucket, f.value)).collect())
        .collect()
}

/// Training examples of the given documents.
#[must_use]
pub fn examples(docs: &[Doc<'_>]) -> Vec<Example> {
    let mut out = Vec::new();
    for (lines, gold) in docs {
        for (x, g) in line_features(lines).into_iter().zip(gold.iter()) {
            let mut y = [false; 12];
            for p in g {
                y[p.index()] = true;
            }
            out.push(Example { x, y });
        }
    }
    out
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
            let g = sigmoid(z) - if ex.y[label] { 1.0 } else { 0.0 };
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

/// Probabilities per label for one example.
#[must_use]
pub fn predict(weights: &Weights, x: &[(u32, f32)]) -> [f32; 12] {
    std::array::from_fn(|l| {
        sigmoid(
            weights.bias[l]
                + x.iter()
                    .map(|(b, v)| weights.w[l][*b as usize % DIM] * v)
                    .sum::<f32>(),
        )
    })
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

/// Fit a shippable model on `docs`: out-of-fold scores over `inner_folds`
/// document folds tune the thresholds, then one model is trained on all docs.
/// Returns the encoded model (see [`encode`]).
#[must_use]
pub fn fit(docs: &[Doc<'_>], p: Params) -> Vec<u8> {
    let per_doc: Vec<Vec<Example>> = docs.iter().map(|d| examples(&[*d])).collect();
    let k = p.inner_folds.max(2).min(docs.len().max(2));
    let mut scored = Vec::new();
    for fold in 0..k {
        let train_set: Vec<Example> = per_doc
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != fold)
            .flat_map(|(_, e)| e.iter().cloned())
            .collect();
        let w = train(&train_set, p);
        for (_, exs) in per_doc.iter().enumerate().filter(|(i, _)| i % k == fold) {
            for e in exs {
                scored.push((predict(&w, &e.x), e.y));
            }
        }
    }
    let threshold = tune_thresholds(&scored);
    let all: Vec<Example> = per_doc.into_iter().flatten().collect();
    let w = train(&all, p);
    encode(&w.bias, &threshold, &w.w)
}

/// Serialise trained weights into the shipped model format.
#[must_use]
pub fn encode(bias: &[f32; 12], threshold: &[f32; 12], weights: &[Vec<f32>]) -> Vec<u8> {
    crate::model::Model::to_bytes(bias, threshold, weights)
}
