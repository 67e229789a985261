//! troth's HTTP server: the JSON API under `/v1`, its OpenAPI description, health and
//! metrics endpoints, and the plumbing every request goes through (request ids,
//! structured logs without PI, body limits, problem+json errors).
//!
//! # Architecture invariant
//! This is the only crate that knows the HTTP wire format. Handlers translate between
//! JSON and the domain types of `troth-core` / `troth-store`; no SQL and no policy logic
//! live here.

pub mod api;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod cessation;
pub mod coherence;
pub mod config;
pub mod connectors;
pub mod docs;
pub mod error;
pub mod export;
pub mod extract;
pub mod health;
pub mod mail;
pub mod notices;
pub mod observe;
pub mod outbox;
pub mod retention;
pub mod serve;
pub mod storage;
pub mod transfer;
pub mod web;

pub use config::{Config, ConfigError};
pub use error::{ApiError, ProblemKind};
