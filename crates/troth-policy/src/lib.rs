//! Policy-as-code for troth.
//!
//! A company writes its privacy policy once, as a `policy.toml` manifest. This crate
//! reads it ([`load_pack`], [`parse_policy`]), checks it against the law profile and
//! itself ([`validate`]), renders the text people read ([`render`]), and compares
//! versions ([`diff()`], [`content_hash`]).
//!
//! # Architecture invariant
//! No I/O beyond reading the manifest file in [`load_pack`]; no knowledge of consent,
//! subjects, storage or HTTP. Everything downstream depends on this crate, never the
//! other way round.
//!
//! ```
//! let text = std::fs::read_to_string(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/fixtures/valid.toml"
//! ))
//! .unwrap();
//! let policy = troth_policy::parse_policy("policy.toml", &text).unwrap();
//! let report = troth_policy::diff(&policy, &policy);
//! assert!(report.changes.is_empty());
//! ```

pub mod diagnostic;
pub mod diff;
pub mod ids;
mod labels;
pub mod law;
pub mod load;
pub mod model;
pub mod render;
pub mod retention;
pub mod validate;

pub use diagnostic::{Diagnostic, FieldPath, Problem};
pub use diff::{Change, ChangeKind, Criterion, DiffReport, content_hash, diff};
pub use law::{LawProfile, LawProfileId};
pub use load::{LoadError, Pack, load_pack, parse_policy};
pub use model::*;
pub use render::{Format, render};
pub use retention::Retention;
pub use validate::validate;
