//! Shared helpers for the corpus measurements (tests and examples).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::path::PathBuf;

use troth_prose::{Classifier, Practice, training};

/// `/work/shared/corpus` resolved from the crate directory; panics with a clear
/// message when missing (measurements must not silently skip).
pub fn corpus_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("TROTH_CORPUS").map(PathBuf::from),
        Some(manifest.join("../../../shared/corpus")),
        Some(manifest.join("../../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.join("capp130-dev").is_dir() {
            return c;
        }
    }
    panic!(
        "corpus not found: expected shared/corpus/capp130-dev next to the repository \
         (tried ../../../shared/corpus from {}); set TROTH_CORPUS to its path",
        manifest.display()
    );
}

/// One labelled policy: lines and gold label sets.
pub struct LabelledDoc {
    pub name: String,
    pub lines: Vec<String>,
    pub gold: Vec<Vec<Practice>>,
}

/// Load all CAPP-130 dev files, sorted by name.
pub fn load_capp() -> Vec<LabelledDoc> {
    let dir = corpus_dir().join("capp130-dev");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected 40 CAPP-130 files in {}",
        dir.display()
    );
    // Experiments only (e.g. cross-validation within one annotation style):
    // CAPP_ONLY=rw_1,rw_10 keeps just those files.
    if let Ok(only) = std::env::var("CAPP_ONLY") {
        let keep: Vec<String> = only.split(',').map(|f| format!("{f}.jsonl")).collect();
        files.retain(|p| {
            p.file_name()
                .is_some_and(|n| keep.iter().any(|k| k == &*n.to_string_lossy()))
        });
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let mut lines = Vec::new();
            let mut gold = Vec::new();
            for l in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                lines.push(v["text"].as_str().unwrap_or("").to_string());
                let labels = v["label"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str())
                            .filter_map(|x| Practice::parse(x).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                gold.push(labels);
            }
            LabelledDoc {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                lines,
                gold,
            }
        })
        .collect()
}

/// Number of cross-validation folds: 40 files, 8 per fold.
pub const FOLDS: usize = 5;

/// Cross-validation by file: files sorted by name, file `i` is in fold `i % FOLDS`.
/// For each fold a model is trained (thresholds included) on the other folds'
/// files only and evaluated on the fold's files; counts are summed over folds,
/// so every sentence is scored exactly once by a model that never saw its file.
pub fn cross_validate(docs: &[LabelledDoc], params: training::Params) -> [Counts; 12] {
    let mut total = [Counts::default(); 12];
    for fold in 0..FOLDS {
        let train: Vec<training::Doc<'_>> = docs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, d)| (d.lines.as_slice(), d.gold.as_slice()))
            .collect();
        // Experiments only: CAPP_SCORE_ONLY=rw_1,rw_10 counts just those
        // held-out files (models still train on all other folds).
        let score_only: Option<Vec<String>> = std::env::var("CAPP_SCORE_ONLY")
            .ok()
            .map(|v| v.split(',').map(|f| format!("{f}.jsonl")).collect());
        let test: Vec<&LabelledDoc> = docs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS == fold)
            .map(|(_, d)| d)
            .filter(|d| score_only.as_ref().is_none_or(|k| k.contains(&d.name)))
            .collect();
        let bytes = training::fit(&train, params);
        let c = Classifier::with_model_bytes(&bytes).expect("fold model decodes");
        let counts = evaluate(&c, &test);
        for (t, c) in total.iter_mut().zip(counts) {
            t.tp += c.tp;
            t.fp += c.fp;
            t.fn_ += c.fn_;
        }
    }
    total
}

/// Training parameters, overridable by EPOCHS, L2, LR, INNER_FOLDS, STACK (0/1),
/// STACK_EPOCHS, STACK_L2, STACK_DIAG, STACK_SELECT, POSW and POSW_MAX for experiments.
pub fn params_from_env() -> training::Params {
    let d = training::Params::default();
    let get = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f32>().ok());
    training::Params {
        epochs: get("EPOCHS").map_or(d.epochs, |v| v as usize),
        l2: get("L2").unwrap_or(d.l2),
        lr: get("LR").unwrap_or(d.lr),
        inner_folds: get("INNER_FOLDS").map_or(d.inner_folds, |v| v as usize),
        stack: get("STACK").map_or(d.stack, |v| v != 0.0),
        stack_epochs: get("STACK_EPOCHS").map_or(d.stack_epochs, |v| v as usize),
        stack_l2: get("STACK_L2").unwrap_or(d.stack_l2),
        stack_diag: get("STACK_DIAG").map_or(d.stack_diag, |v| v != 0.0),
        stack_select: get("STACK_SELECT").map_or(d.stack_select, |v| v != 0.0),
        pos_weight_pow: get("POSW").unwrap_or(d.pos_weight_pow),
        pos_weight_max: get("POSW_MAX").unwrap_or(d.pos_weight_max),
    }
}

/// Per-label counts.
#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Evaluate a classifier on documents; returns per-label counts.
pub fn evaluate(c: &Classifier, docs: &[&LabelledDoc]) -> [Counts; 12] {
    let mut counts = [Counts::default(); 12];
    for d in docs {
        let out = c.classify_lines(&d.lines);
        assert_eq!(out.len(), d.lines.len(), "one result per line");
        for (res, gold) in out.iter().zip(&d.gold) {
            for p in Practice::ALL {
                let (pred, g) = (res.has(p), gold.contains(&p));
                let k = &mut counts[p.index()];
                match (pred, g) {
                    (true, true) => k.tp += 1,
                    (true, false) => k.fp += 1,
                    (false, true) => k.fn_ += 1,
                    _ => {}
                }
            }
        }
    }
    counts
}

pub fn macro_f1(c: &[Counts; 12]) -> f64 {
    c.iter().map(Counts::f1).sum::<f64>() / 12.0
}

/// Markdown table of per-label figures.
pub fn table(c: &[Counts; 12]) -> String {
    let mut s =
        String::from("| label | id | support | P | R | F1 |\n|---|---|---:|---:|---:|---:|\n");
    for p in Practice::ALL {
        let k = c[p.index()];
        s.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
            p.label_zh(),
            p.id(),
            k.tp + k.fn_,
            k.precision(),
            k.recall(),
            k.f1()
        ));
    }
    s.push_str(&format!(
        "| **macro F1** | | | | | **{:.3}** |\n",
        macro_f1(c)
    ));
    s
}
