//! Train the shipped linear model from the CAPP-130 dev corpus.
//!
//! Trains on the 30 development files only (the 10 held-out files, see
//! `tests/common`, are never seen), tunes one decision threshold per label on a
//! validation slice of the development files, retrains on all 30 and writes
//! `model/practices.bin`:
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/targets/prose cargo run --release -p troth-prose --example train_model
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use troth_prose::Practice;
use troth_prose::training::{DIM, encode, line_features};

type Example = (Vec<(u32, f32)>, [bool; 12]);

fn examples(docs: &[&common::LabelledDoc]) -> Vec<Example> {
    let mut out = Vec::new();
    for d in docs {
        for (f, g) in line_features(&d.lines).into_iter().zip(&d.gold) {
            let mut y = [false; 12];
            for p in g {
                y[p.index()] = true;
            }
            out.push((f, y));
        }
    }
    out
}

/// One-vs-rest logistic regression, AdaGrad, L2, fixed-seed shuffling.
fn train(data: &[Example], epochs: usize, l2: f32) -> ([f32; 12], Vec<Vec<f32>>) {
    let mut bias = [0f32; 12];
    let mut w = vec![vec![0f32; DIM]; 12];
    let mut g2 = vec![vec![1e-3f32; DIM]; 12];
    let mut gb = [1e-3f32; 12];
    let lr = 0.3f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..epochs {
        for i in (1..order.len()).rev() {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            order.swap(i, (seed >> 33) as usize % (i + 1));
        }
        for &k in &order {
            let (x, y) = &data[k];
            for l in 0..12 {
                let z = bias[l] + x.iter().map(|(b, v)| w[l][*b as usize] * v).sum::<f32>();
                let p = 1.0 / (1.0 + (-z).exp());
                let g = p - if y[l] { 1.0 } else { 0.0 };
                gb[l] += g * g;
                bias[l] -= lr * g / gb[l].sqrt();
                for (b, v) in x {
                    let b = *b as usize;
                    let grad = g * v + l2 * w[l][b];
                    g2[l][b] += grad * grad;
                    w[l][b] -= lr * grad / g2[l][b].sqrt();
                }
            }
        }
    }
    (bias, w)
}

fn predict(bias: &[f32; 12], w: &[Vec<f32>], x: &[(u32, f32)], l: usize) -> f32 {
    let z = bias[l] + x.iter().map(|(b, v)| w[l][*b as usize] * v).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

fn main() {
    let env = |k: &str, d: f32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let epochs = env("EPOCHS", 8.0) as usize;
    let l2 = env("L2", 1e-5);
    let mut macro_f1 = 0.0;
    let docs = common::load_capp();
    let dev: Vec<_> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| !common::is_held_out(*i))
        .map(|(_, d)| d)
        .collect();
    // Threshold tuning: train on 4/5 of dev, pick per-label thresholds on the rest.
    let (fit, val): (Vec<_>, Vec<_>) = dev.iter().enumerate().partition(|(i, _)| i % 5 != 2);
    let fit: Vec<_> = fit.into_iter().map(|(_, d)| *d).collect();
    let val: Vec<_> = val.into_iter().map(|(_, d)| *d).collect();
    let (b0, w0) = train(&examples(&fit), epochs, l2);
    let val_ex = examples(&val);
    let mut threshold = [0.5f32; 12];
    for p in Practice::ALL {
        let l = p.index();
        let scores: Vec<(f32, bool)> = val_ex
            .iter()
            .map(|(x, y)| (predict(&b0, &w0, x, l), y[l]))
            .collect();
        let mut best = (0.0f64, 0.5f32);
        for step in 1..40 {
            let t = step as f32 * 0.025;
            let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
            for (s, y) in &scores {
                match (*s >= t, *y) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fn_ += 1,
                    _ => {}
                }
            }
            let f1 = if tp == 0 {
                0.0
            } else {
                2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
            };
            if f1 > best.0 {
                best = (f1, t);
            }
        }
        // Very rare labels give noisy thresholds; keep them in a sane band.
        threshold[l] = best.1.clamp(0.2, 0.6);
        macro_f1 += best.0 / 12.0;
        eprintln!(
            "{:<18} validation F1 {:.3} at threshold {:.3}",
            p.id(),
            best.0,
            threshold[l]
        );
    }
    eprintln!("validation macro F1 {macro_f1:.3}");
    if std::env::var_os("NO_WRITE").is_some() {
        return;
    }
    let (bias, w) = train(&examples(&dev), epochs, l2);
    let bytes = encode(&bias, &threshold, &w);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/practices.bin");
    std::fs::write(&path, &bytes).unwrap();
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
}
