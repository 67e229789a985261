//! Print classifier figures on the CAPP-130 dev corpus and, with
//! `--errors LABEL_ID`, sample false positives/negatives for that label.
//! `--cv` prints the 5-fold cross-validation table (the honest figure; with
//! `--errors` the samples then come from fold 0's held-out files scored by the
//! fold-0 model). Without `--cv` the shipped model is scored in-sample on all 40.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use troth_prose::{Classifier, Practice};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let docs = common::load_capp();
    let all: Vec<_> = docs.iter().collect();
    let rules_only = args.iter().any(|a| a == "--rules-only");
    let cv = args.iter().any(|a| a == "--cv");
    let mut c = if rules_only {
        Classifier::rules_only()
    } else {
        Classifier::new()
    };
    let t = std::time::Instant::now();
    let _ = common::evaluate(&c, &all);
    eprintln!(
        "classified all 40 files in {:?} (model: {})",
        t.elapsed(),
        c.uses_model()
    );
    let mut sample: Vec<_> = all.clone();
    if cv {
        let params = common::params_from_env();
        let counts = common::cross_validate(&docs, params);
        println!("## 5-fold cross-validation\n\n{}", common::table(&counts));
        let train: Vec<troth_prose::training::Doc<'_>> = docs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % common::FOLDS != 0)
            .map(|(_, d)| (d.lines.as_slice(), d.gold.as_slice()))
            .collect();
        c = Classifier::with_model_bytes(&troth_prose::training::fit(&train, params)).unwrap();
        sample = docs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % common::FOLDS == 0)
            .map(|(_, d)| d)
            .collect();
    } else {
        let counts = common::evaluate(&c, &all);
        println!("## all 40 (in-sample)\n\n{}", common::table(&counts));
    }
    if let Some(pos) = args.iter().position(|a| a == "--errors") {
        let p = Practice::parse(&args[pos + 1]).unwrap();
        let mut fps = Vec::new();
        let mut fns = Vec::new();
        for d in &sample {
            let out = c.classify_lines(&d.lines);
            for (i, (r, g)) in out.iter().zip(&d.gold).enumerate() {
                let prev = if i > 0 {
                    d.lines[i - 1].chars().take(30).collect::<String>()
                } else {
                    String::new()
                };
                match (r.has(p), g.contains(&p)) {
                    (true, false) => fps.push(format!(
                        "{:?} || {} <<prev: {prev}>>",
                        r.labels.iter().find(|l| l.practice == p).map(|l| l
                            .evidence
                            .iter()
                            .map(|e| e.rule.clone())
                            .collect::<Vec<_>>()),
                        r.text
                    )),
                    (false, true) => fns.push(format!(
                        "{} <<prev: {prev}>> gold {:?}",
                        r.text,
                        g.iter().map(|x| x.id()).collect::<Vec<_>>()
                    )),
                    _ => {}
                }
            }
        }
        let step_fp = (fps.len() / 30).max(1);
        let step_fn = (fns.len() / 30).max(1);
        println!("FP {}:", fps.len());
        for x in fps.iter().step_by(step_fp) {
            println!("  {}", x.chars().take(200).collect::<String>());
        }
        println!("FN {}:", fns.len());
        for x in fns.iter().step_by(step_fn) {
            println!("  {}", x.chars().take(200).collect::<String>());
        }
    }
}
