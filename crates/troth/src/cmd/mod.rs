//! One module per top-level subcommand.

pub mod audit;
pub mod cessation;
pub mod controller;
pub mod demo;
pub mod keys;
pub mod policy;
pub mod prose;
pub mod receipt;
pub mod retention;
pub mod server;
