//! Train the shipped linear model from the CAPP-130 dev corpus.
//!
//! The shipped model is trained on all 40 dev files (more data generalises
//! better to unseen policies); its per-label thresholds come from out-of-fold
//! scores (inner folds by file). The honest accuracy figure for this recipe is
//! the 5-fold cross-validation in `tests/classify_cv.rs`, which runs the same
//! `training::fit` on 32 files per fold.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/targets/prose2 cargo run --release -p troth-prose --example train_model
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use troth_prose::training;

fn main() {
    let docs = common::load_capp();
    let all: Vec<training::Doc<'_>> = docs
        .iter()
        .map(|d| (d.lines.as_slice(), d.gold.as_slice()))
        .collect();
    let params = common::params_from_env();
    eprintln!("training on {} files with {params:?}", all.len());
    let bytes = training::fit(&all, params);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("model/practices.bin");
    std::fs::write(&path, &bytes).unwrap();
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
}
