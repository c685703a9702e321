//! The daemon's configuration: `wafl.toml` plus environment variables for secrets.
//!
//! Secrets (access token, app secret, verify token, admin token, webhook secrets) come
//! only from the environment, never from the file, and are wrapped in [`Secret`] whose
//! `Debug`/`Display` print `***`, so they cannot reach a log by accident.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret value: usable, but never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `wafl.toml` as written. Every key is optional; unknown keys are an error (a typo
/// must not silently fall back to a default).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    /// A SQLite file, or a `postgres://` URL for several daemons over one database.
    pub database: Option<String>,
    #[serde(default)]
    pub postgres: PostgresFile,
    #[serde(default)]
    pub whatsapp: WhatsAppFile,
    #[serde(default)]
    pub log: LogFile,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub flows: FlowsFile,
    #[serde(default)]
    pub outbox: OutboxFile,
    #[serde(default)]
    pub sandbox: SandboxFile,
    #[serde(default)]
    pub console: ConsoleFile,
}

/// `[console]`: the operations console (`docs/console.md`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleFile {
    /// Mark the session cookie `Secure` (default true: browsers then send it over
    /// HTTPS only). Set to false only to try the console over plain HTTP on a machine
    /// of your own.
    pub secure_cookies: Option<bool>,
    /// The country calling code (digits, e.g. "55") for phone numbers written without
    /// one, such as "(11) 99999-0000"; without it they are refused.
    pub default_country_code: Option<String>,
}

/// The console's settings.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    pub secure_cookies: bool,
    pub default_country_code: Option<String>,
}

/// `[sandbox]`: the local channel used without WhatsApp credentials.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxFile {
    /// A JSON file mapping webhook names to the answer their `call`s get in the sandbox
    /// (the sandbox never calls a script's real webhook URLs).
    pub webhook_stubs: Option<PathBuf>,
}

/// `[postgres]`: the PostgreSQL store's pool, timeouts and leases (used when `database`
/// is a `postgres://` URL).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresFile {
    /// Connections this daemon keeps open at most (default 16).
    pub pool_size: Option<u32>,
    /// A statement running longer is cancelled, in milliseconds (default 5000).
    pub statement_timeout_ms: Option<u64>,
    /// How long to wait for a connection, in milliseconds (default 5000).
    pub connect_timeout_ms: Option<u64>,
    /// The schema holding wafl's tables (default `public`).
    pub schema: Option<String>,
    /// This instance's name, stable across its restarts (default: host name and listen
    /// address). Two instances must not share one.
    pub instance: Option<String>,
    /// How long a claimed outbox request stays with this instance before another one may
    /// send it again, in milliseconds (default 120000; longer than any request).
    pub outbox_lease_ms: Option<u64>,
    /// How long a stored message waits for the instance that stored it before another
    /// instance may process it, in milliseconds (default 30000).
    pub inbound_lease_ms: Option<u64>,
}

/// Where the daemon keeps its state.
#[derive(Clone, Debug)]
pub enum Database {
    /// One SQLite file: one daemon.
    Sqlite(PathBuf),
    /// A PostgreSQL database: any number of daemons.
    Postgres(Box<PostgresTarget>),
}

/// A PostgreSQL database and this instance's settings for it.
#[derive(Clone, Debug)]
pub struct PostgresTarget {
    pub url: crate::daemon::store::postgres::DatabaseUrl,
    pub opts: crate::daemon::store::postgres::PgOptions,
}

impl Database {
    /// A `postgres://` URL or a SQLite file path. The URL's password (or `PGPASSWORD`)
    /// is kept but never shown.
    pub fn parse(
        text: &str,
        pg: &PostgresFile,
        listen: &SocketAddr,
    ) -> Result<Database, ConfigError> {
        use crate::daemon::store::postgres::{DatabaseUrl, PgOptions, PoolOptions};
        if !DatabaseUrl::is_postgres(text) {
            return Ok(Database::Sqlite(PathBuf::from(text)));
        }
        let url = DatabaseUrl::parse(text).map_err(|e| ConfigError(e.to_string()))?;
        let defaults = PgOptions::default();
        let ms = |v: Option<u64>, d: std::time::Duration| {
            v.map(std::time::Duration::from_millis).unwrap_or(d)
        };
        let lease =
            |v: Option<u64>, d: i64| v.map_or(d, |v| i64::try_from(v).unwrap_or(i64::MAX / 4));
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "wafl".into());
        let opts = PgOptions {
            pool: PoolOptions {
                max_size: pg.pool_size.unwrap_or(defaults.pool.max_size).max(1),
                statement_timeout: ms(pg.statement_timeout_ms, defaults.pool.statement_timeout),
                connect_timeout: ms(pg.connect_timeout_ms, defaults.pool.connect_timeout),
                schema: pg.schema.clone(),
            },
            instance: pg
                .instance
                .clone()
                .unwrap_or_else(|| format!("{host}@{listen}")),
            outbox_lease_ms: lease(pg.outbox_lease_ms, defaults.outbox_lease_ms),
            inbound_lease_ms: lease(pg.inbound_lease_ms, defaults.inbound_lease_ms),
        };
        Ok(Database::Postgres(Box::new(PostgresTarget { url, opts })))
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{} (SQLite)", path.display()),
            Database::Postgres(pg) => {
                write!(f, "{} (PostgreSQL, instance {})", pg.url, pg.opts.instance)
            }
        }
    }
}

/// `[outbox]`: how long and how often failed sends and webhook calls are retried.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxFile {
    /// How long a request keeps being retried before it becomes a dead letter, in
    /// seconds (default 21600: six hours).
    pub retry_horizon_secs: Option<u64>,
    /// The longest pause between two attempts, in milliseconds (default and maximum
    /// 60000).
    pub max_backoff_ms: Option<u64>,
}

/// `[flows]`: the WhatsApp Flows data endpoint (`docs/forms.md`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowsFile {
    /// Path of the PEM private key whose public half is registered with WhatsApp;
    /// `WAFL_FLOWS_PRIVATE_KEY` (the PEM text) takes precedence.
    pub private_key: Option<PathBuf>,
    /// How long a flow token stays valid after it was issued, in hours.
    pub token_ttl_hours: Option<u64>,
    /// How long the endpoint waits for a form's data webhook, in milliseconds.
    pub data_timeout_ms: Option<u64>,
    /// Form name -> script webhook that supplies its screens' data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppFile {
    /// Graph API base, version included, e.g. `https://graph.facebook.com/v25.0`.
    pub graph_url: Option<String>,
    pub phone_number_id: Option<String>,
    /// Messages per second per business number (WhatsApp's default is 80).
    pub send_rate: Option<u32>,
    /// Minimum pause between two messages to the same contact, in milliseconds.
    pub contact_pace_ms: Option<u64>,
    /// Mark every inbound message as read (blue ticks). Receipts count against the
    /// number's send rate, so this is off by default.
    pub mark_read: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// `text` (default) or `json`.
    pub format: Option<String>,
    /// Log message bodies (off by default: they are customers' words).
    pub bodies: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest webhook body accepted, in bytes (WhatsApp sends up to 3 MB).
    pub max_body_bytes: Option<usize>,
    /// Timeout of each outbound HTTP call, in milliseconds.
    pub http_timeout_ms: Option<u64>,
    /// Most stored messages waiting to be processed before new webhooks get 503
    /// (0: no bound).
    pub max_backlog: Option<u64>,
}

/// How many stored messages may wait for processing before webhooks are refused: a few
/// seconds of work at the daemon's measured rate.
pub const DEFAULT_MAX_BACKLOG: u64 = 20_000;

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: Database,
    /// The `[postgres]` section, kept to read a `--database` URL given on the command line.
    pub postgres_file: PostgresFile,
    pub graph_url: String,
    pub phone_number_id: Option<String>,
    pub access_token: Option<Secret>,
    pub app_secret: Option<Secret>,
    pub verify_token: Option<Secret>,
    pub admin_token: Option<Secret>,
    pub send_rate: u32,
    pub contact_pace_ms: u64,
    pub mark_read: bool,
    pub log_json: bool,
    pub log_bodies: bool,
    pub max_body_bytes: usize,
    pub http_timeout_ms: u64,
    /// Most stored messages waiting to be processed before new webhooks are refused
    /// with 503 (WhatsApp redelivers them); 0 means no bound.
    pub max_backlog: u64,
    /// Environment variables the script names with `env("...")`, resolved.
    pub script_secrets: BTreeMap<String, Secret>,
    /// The Flows private key as PEM text (from `WAFL_FLOWS_PRIVATE_KEY`).
    pub flows_private_key: Option<Secret>,
    /// Or a path to read it from.
    pub flows_private_key_path: Option<PathBuf>,
    /// Passphrase of an encrypted PEM key (`WAFL_FLOWS_KEY_PASSPHRASE`).
    pub flows_key_passphrase: Option<Secret>,
    pub flows_token_ttl_ms: i64,
    pub flows_data_timeout_ms: u64,
    /// Form name -> data webhook name.
    pub flows_data: BTreeMap<String, String>,
    /// How long a failed request is retried before it is a dead letter.
    pub retry_horizon_ms: i64,
    /// The longest pause between two attempts of one request.
    pub max_backoff_ms: i64,
    /// The sandbox's answers to `call`s, by webhook name.
    pub sandbox_stubs: Option<PathBuf>,
    /// Accept unsigned webhooks in WhatsApp mode (`--insecure-no-signature`).
    pub insecure_no_signature: bool,
    pub console: ConsoleConfig,
}

impl Config {
    /// True when WhatsApp credentials are configured; otherwise the daemon runs the
    /// local sandbox channel.
    pub fn has_whatsapp(&self) -> bool {
        self.access_token.is_some() && self.phone_number_id.is_some()
    }
}

/// A configuration problem, saying where and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `wafl.toml` text; errors name the file, line and column.
pub fn parse_file(name: &str, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before
                    .rsplit('\n')
                    .next()
                    .map(|l| l.chars().count() + 1)
                    .unwrap_or(1);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        ConfigError(format!("error in {name}{at}: {}", e.message()))
    })
}

/// Builds the effective configuration from the file (if any), the environment, and the
/// command-line `--listen`.
pub fn resolve(
    file: FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
    listen_flag: Option<&str>,
    script_env_vars: &[String],
) -> Result<Config, ConfigError> {
    let listen_text = listen_flag
        .map(str::to_string)
        .or_else(|| env("WAFL_LISTEN"))
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        ConfigError(format!(
            "`{listen_text}` is not a listen address; write it as IP:PORT, e.g. 127.0.0.1:8080"
        ))
    })?;
    let secret = |k: &str| env(k).filter(|v| !v.is_empty()).map(Secret);
    // Half a set of credentials is a mistake, not a request for the sandbox.
    let phone_number_id = env("WAFL_PHONE_NUMBER_ID").or(file.whatsapp.phone_number_id.clone());
    match (
        secret("WAFL_ACCESS_TOKEN").is_some(),
        phone_number_id.is_some(),
    ) {
        (true, false) => {
            return Err(ConfigError(
                "WAFL_ACCESS_TOKEN is set but the phone number id is missing: set WAFL_PHONE_NUMBER_ID or [whatsapp] phone_number_id (or unset the token to run the sandbox)".into(),
            ));
        }
        (false, true) => {
            return Err(ConfigError(
                "a phone number id is set but WAFL_ACCESS_TOKEN is missing: set WAFL_ACCESS_TOKEN (or remove the phone number id to run the sandbox)".into(),
            ));
        }
        _ => {}
    }
    let mut script_secrets = BTreeMap::new();
    for var in script_env_vars {
        if let Some(v) = secret(var) {
            script_secrets.insert(var.clone(), v);
        }
    }
    let log_format = file.log.format.unwrap_or_else(|| "text".into());
    let log_json = match log_format.as_str() {
        "text" => false,
        "json" => true,
        other => {
            return Err(ConfigError(format!(
                "unknown log format `{other}` in [log] format; use \"text\" or \"json\""
            )));
        }
    };
    let default_country_code = file
        .console
        .default_country_code
        .map(|c| c.trim().trim_start_matches('+').to_string());
    if let Some(cc) = &default_country_code
        && (cc.is_empty() || cc.len() > 3 || !cc.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ConfigError(format!(
            "[console] default_country_code `{cc}` is not a country calling code; write its digits, e.g. \"55\" for Brazil"
        )));
    }
    let send_rate = file.whatsapp.send_rate.unwrap_or(80);
    if send_rate == 0 {
        return Err(ConfigError(
            "[whatsapp] send_rate must be at least 1 message per second".into(),
        ));
    }
    Ok(Config {
        listen,
        database: Database::parse(
            &env("WAFL_DATABASE")
                .or(file.database)
                .unwrap_or_else(|| "wafl.db".to_string()),
            &file.postgres,
            &listen,
        )?,
        postgres_file: file.postgres,
        graph_url: env("WAFL_GRAPH_URL")
            .or(file.whatsapp.graph_url)
            .unwrap_or_else(|| "https://graph.facebook.com/v25.0".to_string())
            .trim_end_matches('/')
            .to_string(),
        phone_number_id,
        access_token: secret("WAFL_ACCESS_TOKEN"),
        app_secret: secret("WAFL_APP_SECRET"),
        verify_token: secret("WAFL_VERIFY_TOKEN"),
        admin_token: secret("WAFL_ADMIN_TOKEN"),
        send_rate,
        contact_pace_ms: file.whatsapp.contact_pace_ms.unwrap_or(0),
        mark_read: file.whatsapp.mark_read.unwrap_or(false),
        log_json: env("WAFL_LOG_FORMAT")
            .map(|f| f == "json")
            .unwrap_or(log_json),
        log_bodies: file.log.bodies.unwrap_or(false),
        max_body_bytes: file.limits.max_body_bytes.unwrap_or(4 * 1024 * 1024),
        http_timeout_ms: file.limits.http_timeout_ms.unwrap_or(10_000),
        max_backlog: match env("WAFL_MAX_BACKLOG") {
            Some(v) => v.trim().parse().map_err(|_| {
                ConfigError(format!(
                    "WAFL_MAX_BACKLOG is `{v}`; write a number of messages, e.g. 20000 (0 for no bound)"
                ))
            })?,
            None => file.limits.max_backlog.unwrap_or(DEFAULT_MAX_BACKLOG),
        },
        script_secrets,
        flows_private_key: secret("WAFL_FLOWS_PRIVATE_KEY"),
        flows_private_key_path: env("WAFL_FLOWS_PRIVATE_KEY_PATH")
            .map(PathBuf::from)
            .or(file.flows.private_key),
        flows_key_passphrase: secret("WAFL_FLOWS_KEY_PASSPHRASE"),
        flows_token_ttl_ms: i64::try_from(file.flows.token_ttl_hours.unwrap_or(7 * 24))
            .unwrap_or(i64::MAX / 3_600_000)
            .saturating_mul(3_600_000),
        // WhatsApp counts an endpoint answer after 10 s as a timeout.
        flows_data_timeout_ms: file.flows.data_timeout_ms.unwrap_or(3_000).min(9_000),
        flows_data: file.flows.data,
        retry_horizon_ms: i64::try_from(file.outbox.retry_horizon_secs.unwrap_or(6 * 3600))
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000),
        max_backoff_ms: i64::try_from(
            file.outbox
                .max_backoff_ms
                .unwrap_or(60_000)
                .clamp(1, 60_000),
        )
        .unwrap_or(60_000),
        sandbox_stubs: file.sandbox.webhook_stubs,
        insecure_no_signature: false,
        console: ConsoleConfig {
            secure_cookies: file.console.secure_cookies.unwrap_or(true),
            default_country_code,
        },
    })
}

/// Reads and resolves the configuration from a path (missing default file is fine).
pub fn load(
    path: Option<&Path>,
    listen_flag: Option<&str>,
    script_env_vars: &[String],
) -> Result<Config, ConfigError> {
    let file = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| ConfigError(format!("cannot read config `{}`: {e}", p.display())))?;
            parse_file(&p.display().to_string(), &text)?
        }
        None => FileConfig::default(),
    };
    resolve(
        file,
        &|k| std::env::var(k).ok(),
        listen_flag,
        script_env_vars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_say_where_and_unknown_keys_are_rejected() {
        let e = parse_file("wafl.toml", "listen = \"x\"\n[whatsapp]\nsend_rat = 3\n")
            .expect_err("typo");
        assert!(e.0.starts_with("error in wafl.toml:3:"), "{e}");
        assert!(e.0.contains("send_rat"), "{e}");
        assert!(parse_file("w", "listen = [").is_err());
    }

    #[test]
    fn environment_supplies_secrets_and_overrides_the_file() {
        let file = parse_file(
            "w",
            "listen = \"127.0.0.1:9000\"\n[whatsapp]\nphone_number_id = \"1\"\n",
        )
        .expect("ok");
        let env = |k: &str| match k {
            "WAFL_ACCESS_TOKEN" => Some("Zq9-access".to_string()),
            "CRM_SECRET" => Some("s3".to_string()),
            _ => None,
        };
        let c =
            resolve(file, &env, None, &["CRM_SECRET".into(), "MISSING".into()]).expect("config");
        assert_eq!(c.listen.port(), 9000);
        assert!(c.has_whatsapp());
        assert_eq!(format!("{:?}", c.access_token), "Some(***)");
        assert_eq!(c.script_secrets.len(), 1);
        assert!(
            !format!("{c:?}").contains("Zq9-access"),
            "secrets never appear in Debug output"
        );
        let bad = resolve(FileConfig::default(), &|_| None, Some("nope"), &[]);
        assert!(bad.is_err());
    }
}
