//! Conformance tests named after promise rows (`/work/shared/promises/S00x-*.md`), run
//! against the real packs in `packs/<pack>/policy.toml` through the public API only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod s000;
mod s001;
mod s002;
mod s003;
mod s004;
