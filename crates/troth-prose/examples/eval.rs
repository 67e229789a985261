//! Print classifier figures on the CAPP-130 dev corpus (dev/held-out split) and,
//! with `--errors LABEL_ID`, sample false positives/negatives for that label.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use troth_prose::{Classifier, Practice};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let docs = common::load_capp();
    let dev: Vec<_> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| !common::is_held_out(*i))
        .map(|(_, d)| d)
        .collect();
    let held: Vec<_> = docs
        .iter()
        .enumerate()
        .filter(|(i, _)| common::is_held_out(*i))
        .map(|(_, d)| d)
        .collect();
    let all: Vec<_> = docs.iter().collect();
    let rules_only = args.iter().any(|a| a == "--rules-only");
    let c = if rules_only {
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
    for (name, set) in [
        ("dev (30 files)", &dev),
        ("held-out (10 files)", &held),
        ("all 40", &all),
    ] {
        let counts = common::evaluate(&c, set);
        println!("## {name}\n\n{}", common::table(&counts));
    }
    if let Some(pos) = args.iter().position(|a| a == "--errors") {
        let p = Practice::parse(&args[pos + 1]).unwrap();
        let mut fps = Vec::new();
        let mut fns = Vec::new();
        for d in &dev {
            let out = c.classify_lines(&d.lines);
            for (r, g) in out.iter().zip(&d.gold) {
                match (r.has(p), g.contains(&p)) {
                    (true, false) => fps.push(format!(
                        "{:?} || {}",
                        r.labels.iter().find(|l| l.practice == p).map(|l| l
                            .evidence
                            .iter()
                            .map(|e| e.rule.clone())
                            .collect::<Vec<_>>()),
                        r.text
                    )),
                    (false, true) => fns.push(r.text.clone()),
                    _ => {}
                }
            }
        }
        let step_fp = (fps.len() / 25).max(1);
        let step_fn = (fns.len() / 25).max(1);
        println!("FP {}:", fps.len());
        for x in fps.iter().step_by(step_fp) {
            println!("  {}", x.chars().take(160).collect::<String>());
        }
        println!("FN {}:", fns.len());
        for x in fns.iter().step_by(step_fn) {
            println!("  {}", x.chars().take(160).collect::<String>());
        }
    }
}
