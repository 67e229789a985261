//! Server configuration: built-in defaults, then `troth.toml`, then `TROTH_*`
//! environment variables, then command-line flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `troth serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Folder for the SQLite database, the master key file and exports.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
    /// A separate PostgreSQL database for wrapped keys (default: `database_url`).
    /// Keeping keys apart means a data backup never holds the keys erasure destroys.
    pub keys_database_url: Option<String>,
    /// A read-only PostgreSQL standby of `database_url` for read-heavy paths (policy
    /// versions, consent state, decision index rebuilds); writes go to the primary.
    pub read_database_url: Option<String>,
    /// Serve TLS with this certificate chain and key (PEM); HSTS is sent when set.
    pub tls: Option<TlsConfig>,
    /// Origins allowed to call the API from a browser (the privacy center's origin).
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit_bytes: usize,
    /// Requests taking longer than this many seconds are cut off.
    pub request_timeout_secs: u64,
    /// Per-API-key rate limit.
    pub rate_limit: RateLimit,
    /// Log lines as JSON (for log shippers) instead of text.
    pub log_json: bool,
    /// Start with a demo tenant and the demo pack published.
    pub demo: bool,
    /// Outgoing mail (identity-verification codes, notices).
    pub smtp: Option<SmtpConfig>,
    /// Retention sweeps in the background (`troth serve`).
    pub retention: crate::retention::RetentionConfig,
    /// Delivery of notifications (webhooks, mail) and deadline alarms.
    pub outbox: OutboxConfig,
    /// Data maps of the company's own systems, by tenant id: `[connectors]
    /// acme = "/etc/troth/acme-map.toml"`. Access requests export their rows and
    /// completed deletions erase them there (see `troth_server::connectors`).
    pub connectors: std::collections::BTreeMap<String, PathBuf>,
    /// Decision-cache coherence between replicas on one PostgreSQL database.
    pub coherence: crate::coherence::CoherenceConfig,
}

/// How the outbox worker delivers and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Run the delivery and alarm workers in this process.
    pub enabled: bool,
    /// How often the worker looks for due messages, in milliseconds.
    pub poll_ms: u64,
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// The first retry's delay, in milliseconds; each further one doubles it.
    pub backoff_ms: u64,
    /// The longest delay between attempts, in seconds.
    pub max_backoff_secs: u64,
    /// How long a claimed message is reserved for one worker, in seconds; a message
    /// whose worker died is claimed again after that.
    pub lease_secs: u64,
    /// Seconds a webhook receiver has to answer.
    pub webhook_timeout_secs: u64,
    /// How often open rights requests are checked for 50%/80%/overdue alarms, in
    /// seconds.
    pub alarm_interval_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_ms: 1000,
            max_attempts: 8,
            backoff_ms: 2000,
            max_backoff_secs: 3600,
            lease_secs: 60,
            webhook_timeout_secs: 10,
            alarm_interval_secs: 300,
        }
    }
}

/// An SMTP relay.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://host:port?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465`.
    pub url: String,
    /// The sender address, e.g. `Privacy team <privacy@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

/// TLS certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// A token-bucket limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed in a burst.
    pub burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            data_dir: PathBuf::from("troth-data"),
            database_url: None,
            keys_database_url: None,
            read_database_url: None,
            tls: None,
            cors_origins: Vec::new(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            rate_limit: RateLimit {
                per_second: 2000,
                burst: 4000,
            },
            log_json: false,
            demo: false,
            smtp: None,
            retention: crate::retention::RetentionConfig::default(),
            outbox: OutboxConfig::default(),
            connectors: std::collections::BTreeMap::new(),
            coherence: crate::coherence::CoherenceConfig::default(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// The top-level configuration keys, as written in `troth.toml`.
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "keys_database_url",
    "read_database_url",
    "tls",
    "cors_origins",
    "body_limit_bytes",
    "request_timeout_secs",
    "rate_limit",
    "log_json",
    "demo",
    "smtp",
    "retention",
    "outbox",
    "connectors",
    "coherence",
];

impl Config {
    /// Reads the configuration. `file` is a `troth.toml` (skipped when absent and not
    /// named explicitly); `overrides` are command-line values, applied last.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None => fig = fig.merge(Toml::file("troth.toml")),
        }
        fig = fig
            // `TROTH_RATE_LIMIT__PER_SECOND=10` sets `rate_limit.per_second`. Only the
            // configuration's own keys are read: other tools share the `TROTH_` prefix
            // (test and benchmark settings) and must not make the server refuse to start.
            .merge(Env::prefixed("TROTH_").split("__").filter(|k| {
                let top = k.as_str().split('.').next().unwrap_or("");
                KEYS.iter().any(|key| key.eq_ignore_ascii_case(top))
            }))
            .merge(Serialized::defaults(overrides));
        fig.extract().map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own large error
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct NoFlags {}

    #[test]
    fn keys_match_the_struct() {
        let v = serde_json::to_value(Config::default()).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut keys = KEYS.to_vec();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    #[test]
    fn defaults_listen_on_loopback_8700() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8700");
        assert!(c.database_url.is_none());
    }

    #[test]
    fn file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "troth.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/troth\"\n[rate_limit]\nper_second = 5\nburst = 10\n",
            )?;
            jail.set_env("TROTH_DATA_DIR", "/var/lib/troth");
            // Other tools' variables under the same prefix are not configuration.
            jail.set_env("TROTH_BENCH_EVENTS", "2000");
            jail.set_env("TROTH_RATE_LIMIT__BURST", "20");
            #[derive(Serialize)]
            struct Flags {
                listen: &'static str,
            }
            let c = Config::load(
                None,
                Flags {
                    listen: "127.0.0.1:9100",
                },
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
            assert_eq!(c.data_dir, PathBuf::from("/var/lib/troth"));
            assert_eq!(
                c.rate_limit,
                RateLimit {
                    per_second: 5,
                    burst: 20
                }
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("troth.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let err = Config::load(None, NoFlags {}).unwrap_err().to_string();
            assert!(err.contains("lisen"), "{err}");
            Ok(())
        });
    }
}
