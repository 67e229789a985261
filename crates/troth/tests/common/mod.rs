//! Running the `troth` binary from the repository root, as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `troth ARGS` in the repository root.
pub fn troth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}
