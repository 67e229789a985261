//! One module per top-level subcommand.

pub mod demo;
pub mod policy;
pub mod prose;
pub mod receipt;
pub mod server;
