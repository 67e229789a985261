//! The `troth` command: policy tools now, the server later.
//!
//! Exit codes: 0 success, 1 the input is invalid (a manifest with problems, a policy
//! audit that failed), 2 usage or I/O errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// troth makes a privacy policy true: written once as code, rendered for people,
/// enforced at run time.
#[derive(Debug, Parser)]
#[command(name = "troth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, render, hash and compare policy packs.
    #[command(subcommand)]
    Policy(cmd::policy::PolicyCommand),
    /// First run with no configuration: check the built-in demo pack and render it.
    Demo(cmd::demo::DemoArgs),
    /// Verify signed consent receipts.
    #[command(subcommand)]
    Receipt(cmd::receipt::ReceiptCommand),
    /// Run the HTTP API (`--demo` for a ready-to-try demo tenant).
    Serve(cmd::server::ServeArgs),
    /// Apply pending database migrations.
    Migrate(cmd::server::MigrateArgs),
    /// Create tenants.
    #[command(subcommand)]
    Tenant(cmd::server::TenantCommand),
    /// Rotate master and tenant keys by re-wrapping (data is never re-encrypted).
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Verify the tamper-evident audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Retention: delete or anonymize due records now, or list them (`--dry-run`).
    #[command(subcommand)]
    Retention(cmd::retention::RetentionCommand),
    /// Cessation of operations: stop a service, notify people, delete its data.
    #[command(subcommand)]
    Cessation(cmd::cessation::CessationCommand),
    /// Transfer of the controller (merger, acquisition): record it and tell everyone.
    #[command(subcommand)]
    Controller(cmd::controller::ControllerCommand),
}

/// How a command ended, mapped to the documented exit codes.
pub enum Outcome {
    /// Everything was fine.
    Ok,
    /// The input was read but is invalid; details were printed.
    Invalid,
}

/// jemalloc for everything in the process, SQLite's own `malloc` calls included
/// (the crate's unprefixed symbols replace glibc's): it keeps freed memory for
/// reuse, where glibc handed SQLite's megabyte-sized page buffers back to the
/// kernel and faulted them in again on the next page (a quarter of `troth audit
/// verify`'s time; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(c) => cmd::policy::run(c),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Receipt(c) => cmd::receipt::run(c),
        Command::Serve(a) => cmd::server::serve(a),
        Command::Migrate(a) => cmd::server::migrate(a),
        Command::Tenant(c) => cmd::server::tenant(c),
        Command::Keys(c) => cmd::keys::run(c),
        Command::Audit(c) => cmd::audit::run(c),
        Command::Retention(c) => cmd::retention::run(c),
        Command::Cessation(c) => cmd::cessation::run(c),
        Command::Controller(c) => cmd::controller::run(c),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
