//! The promise-row registry and the conformance report.
//!
//! Every row of the promise tables in `shared/promises/` (beside the repository) is
//! mapped here either to the test that shows its behaviour through the public HTTP
//! API, or to the reason it cannot be shown yet. The tests in `tests/` check that
//! this registry covers every row exactly once and that `docs/CONFORMANCE.md` is the
//! report generated from it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One promise row, as written in its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `R01`, `R02`, …
    pub id: String,
    /// The promise, with the seed's section.
    pub promise: String,
    /// What must be observable.
    pub behaviour: String,
}

/// One promise table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// `S000` … `S004`.
    pub id: String,
    /// The table's heading after the id (the policy's name).
    pub title: String,
    /// Its rows, in table order.
    pub rows: Vec<Row>,
}

/// How a row is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A test named after the row, run on SQLite and PostgreSQL.
    Test {
        /// The test function (`s002_r04_…`).
        name: &'static str,
        /// What the test shows through another route than the row names, if anything.
        note: Option<&'static str>,
    },
    /// The behaviour does not exist yet.
    Missing {
        /// What is missing, naming the issue that brings it.
        reason: &'static str,
    },
}

/// A registry entry: a row id (`S002 R04`) and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Seed and row id, separated by one space.
    pub row: &'static str,
    /// How it is covered.
    pub status: Status,
}

/// The backends every test runs on, as named in the report.
pub const BACKENDS: [&str; 2] = ["SQLite", "PostgreSQL"];

/// Where the promise tables live: `../shared/promises` beside the repository.
pub fn promises_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promises")
}

/// Where the generated report lives.
pub fn report_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFORMANCE.md")
}

/// Reads every `S*.md` table in `dir`, sorted by seed id.
pub fn load_seeds(dir: &Path) -> Result<Vec<Seed>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read the promise tables in `{}`: {e} (the `shared/` folder must sit beside the repository)",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('S') && n.ends_with(".md"))
        })
        .collect();
    files.sort();
    let mut seeds = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| format!("cannot read `{}`: {e}", f.display()))?;
        seeds.push(parse_table(&text).map_err(|e| format!("`{}`: {e}", f.display()))?);
    }
    if seeds.is_empty() {
        return Err(format!("no promise tables in `{}`", dir.display()));
    }
    Ok(seeds)
}

/// Parses one table: a `# SNNN — title` heading and `| RNN | promise | behaviour |` rows.
pub fn parse_table(text: &str) -> Result<Seed, String> {
    let heading = text
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .ok_or("no `# SNNN — title` heading")?;
    let (id, title) = heading
        .split_once(" — ")
        .ok_or("the heading is not `SNNN — title`")?;
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some(inner) = line.trim().strip_prefix('|') else {
            continue;
        };
        let cells: Vec<&str> = inner
            .trim_end_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [rid, promise, behaviour] = cells.as_slice() else {
            continue;
        };
        // Header and separator rows are not promises.
        if !(rid.starts_with('R') && rid[1..].chars().all(|c| c.is_ascii_digit()) && rid.len() > 1)
        {
            continue;
        }
        rows.push(Row {
            id: (*rid).to_owned(),
            promise: (*promise).to_owned(),
            behaviour: (*behaviour).to_owned(),
        });
    }
    if rows.is_empty() {
        return Err("no rows".into());
    }
    Ok(Seed {
        id: id.trim().to_owned(),
        title: title.trim().to_owned(),
        rows,
    })
}

/// Problems with `registry` against `seeds`: rows without an entry, entries for no
/// row, duplicates, and tests not named after their row. Empty when consistent.
pub fn check_registry(seeds: &[Seed], registry: &[Entry]) -> Vec<String> {
    let mut problems = Vec::new();
    let wanted: Vec<String> = seeds
        .iter()
        .flat_map(|s| s.rows.iter().map(move |r| format!("{} {}", s.id, r.id)))
        .collect();
    for w in &wanted {
        match registry.iter().filter(|e| e.row == w).count() {
            0 => problems.push(format!("row {w} has no registry entry")),
            1 => {}
            n => problems.push(format!("row {w} has {n} registry entries")),
        }
    }
    for e in registry {
        if !wanted.iter().any(|w| w == e.row) {
            problems.push(format!("registry entry {} names no row", e.row));
        }
        if let Status::Test { name, .. } = e.status {
            let prefix = e.row.to_ascii_lowercase().replace(' ', "_") + "_";
            if !name.starts_with(&prefix) {
                problems.push(format!(
                    "test `{name}` for {} must start with `{prefix}`",
                    e.row
                ));
            }
        }
    }
    problems
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The registry entry of a row, if any.
pub fn entry<'a>(registry: &'a [Entry], seed: &str, row: &str) -> Option<&'a Entry> {
    registry
        .iter()
        .find(|e| e.row.split_once(' ') == Some((seed, row)))
}

/// Rows of `seed` that pass: those with a test (the test run itself fails when the
/// behaviour breaks, so a green run means they pass on both backends).
pub fn passed(seed: &Seed, registry: &[Entry]) -> usize {
    seed.rows
        .iter()
        .filter(|r| {
            matches!(
                entry(registry, &seed.id, &r.id),
                Some(Entry {
                    status: Status::Test { .. },
                    ..
                })
            )
        })
        .count()
}

/// `docs/CONFORMANCE.md`, generated from the tables and the registry.
pub fn report(seeds: &[Seed], registry: &[Entry]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# Conformance\n\n\
         Generated from `shared/promises/*.md` and the row registry in \
         `crates/troth-conformance/src/lib.rs`; do not edit. Regenerate with\n\
         `TROTH_UPDATE_CONFORMANCE=1 cargo nextest run -p troth-conformance`.\n\n\
         Each row's test drives an in-process `troth serve` through its public HTTP API \
         (`tests/conformance/`), publishing the seed's pack for a fresh tenant, once on \
         SQLite (`sqlite::<test>`) and once on PostgreSQL (`postgres::<test>`). A row \
         passes when its test exists and the suite is green; the suite fails when this \
         file is stale. Rows whose behaviour does not exist yet are listed as missing, \
         with what they need.\n\n## Summary\n"
    );
    for s in seeds {
        let _ = writeln!(out, "- {}: {}/{}", s.id, passed(s, registry), s.rows.len());
    }
    let total: usize = seeds.iter().map(|s| s.rows.len()).sum();
    let passing: usize = seeds.iter().map(|s| passed(s, registry)).sum();
    let _ = writeln!(out, "- all seeds: {passing}/{total}");
    for s in seeds {
        let n = passed(s, registry);
        let _ = writeln!(out, "\n## {} — {}\n", s.id, s.title);
        let _ = writeln!(out, "{}: {n}/{}\n", s.id, s.rows.len());
        let _ = writeln!(
            out,
            "| row | promise | test | {} | {} | notes |\n|---|---|---|---|---|---|",
            BACKENDS[0], BACKENDS[1]
        );
        for r in &s.rows {
            let (test, status, note) = match entry(registry, &s.id, &r.id).map(|e| e.status) {
                Some(Status::Test { name, note }) => {
                    (format!("`{name}`"), "pass", note.unwrap_or(""))
                }
                Some(Status::Missing { reason }) => ("—".to_owned(), "missing", reason),
                None => ("—".to_owned(), "missing", "not in the registry"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {test} | {status} | {status} | {} |",
                r.id,
                cell(&r.promise),
                cell(note)
            );
        }
    }
    out
}

mod registry;
pub use registry::REGISTRY;
