//! The daemon (`wafl run`): the only part that does I/O at scale — WhatsApp webhooks in,
//! Graph API sends and outbound webhooks out, durable state in SQLite, timers.
//!
//! Flow of a message: `http` verifies and decodes the webhook, the `store` keeps the batch
//! (the SQLite backend in a group commit), then WhatsApp gets its 200; the new messages go
//! to the `worker` shard of their contact, which runs the engine and stores the new state
//! with the effects in one unit of work; the `outbox` sender performs the sends and
//! webhook calls in order per contact through the `channel`; `scheduler` fires timers and
//! reloads the script safely.
//!
//! **Invariant:** only this module knows WhatsApp wire types (`wire`).
//! **Invariant:** nothing is acknowledged before it is durable.

pub mod channel;
pub mod config;
pub mod console;
pub mod flows;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod outbox;
pub mod scheduler;
pub mod script;
pub mod store;
pub mod supervisor;
pub mod wire;
pub mod worker;

use crate::compile::Program;
use crate::engine::DeliveryStatus;
pub use channel::Channel;
use config::Config;
use metrics::Metrics;
use outbox::RateLimit;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, RwLock};
use store::{Db, Store};
use tokio::sync::{Notify, mpsc, watch};
use worker::{Work, shard_of};

/// The script the daemon runs: compiled program, source hash and path.
#[derive(Debug)]
pub struct Loaded {
    pub program: Program,
    /// SHA-256 of the source, hex; stamped into every audit row and log line.
    pub hash: String,
    pub path: PathBuf,
    pub source: String,
}

impl Loaded {
    /// The first 12 hex digits of the content hash, as logs and traces show it.
    pub fn hash_short(&self) -> &str {
        short_hash(&self.hash)
    }
}

/// The first 12 hex digits of a content hash (`sha256:…`), as people see it.
pub fn short_hash(hash: &str) -> &str {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    hex.get(..12).unwrap_or(hex)
}

/// Everything the daemon's tasks share.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    pub db: Db,
    script: RwLock<Arc<Loaded>>,
    pub metrics: Metrics,
    pub shards: Vec<mpsc::UnboundedSender<Work>>,
    pub outbox_notify: Notify,
    pub timer_notify: Notify,
    pub shutdown: watch::Sender<bool>,
    pub rate: RateLimit,
    pub channel: Channel,
    pub http: reqwest::Client,
    pub ready: std::sync::atomic::AtomicBool,
    /// The private key of the Flows data endpoint, when configured.
    pub flows_key: Option<flows::FlowKey>,
    /// When the next message to each contact may leave (`contact_pace_ms`).
    pub last_sent: Mutex<HashMap<String, std::time::Instant>>,
    /// Sending is paused until this instant (ms) after the token was refused (190);
    /// 0 when not paused.
    pub send_paused_until: AtomicI64,
    /// Inbound messages (by seq) queued in or running on a shard: a message is handed
    /// over once, whoever finds it (intake, the start, the sweep).
    queued_inbound: Mutex<HashSet<i64>>,
    /// The console's in-memory state (sign-in rate limit).
    pub console: console::ConsoleState,
    /// The console's live events (`GET /api/events`).
    pub events: console::events::ConsoleBus,
}

impl Shared {
    pub fn script(&self) -> Arc<Loaded> {
        match self.script.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace_script(&self, loaded: Loaded) {
        if let Ok(mut s) = self.script.write() {
            *s = Arc::new(loaded);
        }
    }

    /// Whether an inbound message is queued in or running on a shard.
    pub fn is_queued(&self, seq: i64) -> bool {
        self.queued_inbound
            .lock()
            .map(|q| q.contains(&seq))
            .unwrap_or(false)
    }

    /// The inbound messages queued in or running on a shard right now.
    pub fn queued_snapshot(&self) -> HashSet<i64> {
        self.queued_inbound
            .lock()
            .map(|q| q.clone())
            .unwrap_or_default()
    }

    /// A shard is done with an inbound message (processed, or given up until the sweep
    /// finds it again).
    pub fn unqueue(&self, seq: i64) {
        if let Ok(mut q) = self.queued_inbound.lock() {
            q.remove(&seq);
        }
    }

    /// Sends work to the shard that owns its contact. An inbound message already queued
    /// is not queued again.
    pub fn dispatch(&self, work: Work) {
        if let Work::Inbound { seq, .. } = &work
            && let Ok(mut q) = self.queued_inbound.lock()
            && !q.insert(*seq)
        {
            return;
        }
        let shard = shard_of(match &work {
            Work::Inbound { contact, .. }
            | Work::Timer { contact, .. }
            | Work::Status { contact, .. }
            | Work::Agent { contact, .. }
            | Work::WebhookResult { contact, .. }
            | Work::AiResult { contact, .. } => contact,
        });
        if let Some(tx) = self.shards.get(shard)
            && tx.send(work).is_err()
        {
            tracing::warn!(
                "a conversation shard has stopped; the work stays stored and runs after a restart"
            );
        }
    }

    pub fn feed_status(&self, contact: &str, engine_id: &str, status: DeliveryStatus, key: &str) {
        if engine_id.is_empty() {
            return;
        }
        self.dispatch(Work::Status {
            contact: contact.to_string(),
            message_id: engine_id.to_string(),
            status,
            key: key.to_string(),
        });
    }
}

/// Loads and checks a script file; `Err` carries rendered diagnostics.
pub fn load_script(path: &std::path::Path) -> Result<Loaded, String> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    script::load_source(path, source)
}

/// Options of `wafl run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub script: PathBuf,
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    /// A SQLite file or a `postgres://` URL, before `WAFL_DATABASE` and the file.
    pub database: Option<String>,
    /// Accept unsigned webhooks in WhatsApp mode (no `WAFL_APP_SECRET`); warned about
    /// at every start.
    pub insecure_no_signature: bool,
}

/// Starts the daemon and runs until SIGINT/SIGTERM; returns an error text for startup
/// failures.
pub async fn run(opts: RunOptions) -> Result<(), String> {
    let loaded = load_script(&opts.script)?;
    let env_vars: Vec<String> = loaded
        .program
        .webhooks
        .values()
        .filter_map(|w| w.secret_env.clone())
        .chain(
            loaded
                .program
                .ais
                .values()
                .filter_map(|a| a.key_env.clone()),
        )
        .collect();
    let mut config =
        config::load(opts.config.as_deref(), opts.listen.as_deref(), &env_vars).map_err(|e| e.0)?;
    config.insecure_no_signature = opts.insecure_no_signature;
    if let Some(db) = &opts.database {
        config.database =
            config::Database::parse(db, &config.postgres_file, &config.listen).map_err(|e| e.0)?;
    }
    init_logging(config.log_json);
    for var in &env_vars {
        if !config.script_secrets.contains_key(var) {
            tracing::warn!(
                "environment variable {var} is not set: webhooks that use it are sent unsigned"
            );
        }
    }
    let (shared, listener) = start(config, loaded).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    print_summary(&shared, addr);
    http::serve(shared.clone(), listener).await;
    Ok(())
}

fn print_summary(shared: &Shared, addr: std::net::SocketAddr) {
    let s = shared.script();
    let channel = match &shared.channel {
        Channel::Graph {
            phone_number_id,
            base,
            ..
        } => format!("WhatsApp Cloud API ({base}, number {phone_number_id})"),
        Channel::Sandbox(_) => format!(
            "sandbox (no WhatsApp credentials) — open http://{addr}/sandbox; webhooks are recorded, not called"
        ),
    };
    eprintln!(
        "wafl run: `{}` ({} stages, script {})\n  listening  http://{addr}\n  console    http://{addr}/\n  webhook    http://{addr}/webhook\n  channel    {channel}\n  database   {}\n  admin API  {}",
        s.program.name,
        s.program.stages.len(),
        s.hash_short(),
        shared.config.database,
        if shared.config.admin_token.is_some() {
            "enabled (bearer token)"
        } else {
            "disabled (set WAFL_ADMIN_TOKEN)"
        },
    );
}

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WAFL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Reads the Flows private key from `WAFL_FLOWS_PRIVATE_KEY` or the configured path.
fn load_flows_key(config: &Config) -> Result<Option<flows::FlowKey>, String> {
    let pem = match (&config.flows_private_key, &config.flows_private_key_path) {
        (Some(text), _) => text.expose().as_bytes().to_vec(),
        (None, Some(path)) => std::fs::read(path).map_err(|e| {
            format!(
                "cannot read the Flows private key `{}`: {e}",
                path.display()
            )
        })?,
        (None, None) => return Ok(None),
    };
    let passphrase = config
        .flows_key_passphrase
        .as_ref()
        .map(|p| p.expose().as_bytes());
    flows::FlowKey::from_pem(&pem, passphrase).map(Some)
}

/// Opens the store of the configuration (SQLite or PostgreSQL) and starts the daemon on
/// it.
pub async fn start(
    config: Config,
    loaded: Loaded,
) -> Result<(Arc<Shared>, tokio::net::TcpListener), String> {
    let database = config.database.clone();
    // Connecting and migrating block: off the async threads.
    let store = tokio::task::spawn_blocking(move || open_store(&database))
        .await
        .map_err(|e| e.to_string())??;
    start_with_store(config, loaded, store).await
}

/// Opens the store `wafl run` would use with this configuration file and `--database`
/// (which wins over `WAFL_DATABASE` and the file). Blocks; the commands that work on the
/// daemon's database (`wafl agent`, `wafl publish`, …) call it.
pub fn open_configured_store(
    config_file: Option<&std::path::Path>,
    database: Option<&str>,
) -> Result<Arc<dyn store::Store>, String> {
    let mut config = config::load(config_file, None, &[]).map_err(|e| e.0)?;
    if let Some(db) = database {
        config.database =
            config::Database::parse(db, &config.postgres_file, &config.listen).map_err(|e| e.0)?;
    }
    open_store(&config.database)
}

/// Opens (and migrates) the store of a configuration: the SQLite file or the PostgreSQL
/// database. Blocks.
pub fn open_store(database: &config::Database) -> Result<Arc<dyn store::Store>, String> {
    Ok(match database {
        config::Database::Sqlite(path) => {
            Arc::new(store::sqlite::SqliteStore::open(path).map_err(|e| e.to_string())?)
        }
        config::Database::Postgres(pg) => Arc::new(
            store::postgres::PgStore::open(&pg.url, pg.opts.clone()).map_err(|e| e.to_string())?,
        ),
    })
}

/// Refuses unsafe configurations: WhatsApp mode without an app secret (unless the
/// operator asked for it, and then it is warned about at every start).
pub fn check_safety(config: &Config) -> Result<(), String> {
    if config.has_whatsapp() && config.app_secret.is_none() {
        if !config.insecure_no_signature {
            return Err("WhatsApp credentials are set but WAFL_APP_SECRET is not: the daemon would accept unsigned webhooks from anyone. Set WAFL_APP_SECRET to the app secret of your Meta app, or pass --insecure-no-signature to run without signature checks".into());
        }
        tracing::warn!(
            "INSECURE: running without WAFL_APP_SECRET (--insecure-no-signature): webhooks are not signature-checked; anyone who can reach /webhook can inject messages"
        );
    }
    Ok(())
}

/// Recovers interrupted work, binds the listener, starts every background task, and
/// re-dispatches work a previous run left unfinished. Used by `run`, by tests, and by
/// other storage backends.
pub async fn start_with_store(
    config: Config,
    loaded: Loaded,
    store: Arc<dyn Store>,
) -> Result<(Arc<Shared>, tokio::net::TcpListener), String> {
    check_safety(&config)?;
    let db = Db::new(store);
    // Once a script was published, the database's active revision runs, whatever file
    // this daemon was started with: every instance runs the same version.
    let loaded = match db.run(|s| s.active_revision()).await {
        Ok(Some(rev)) if rev.hash != loaded.hash => {
            tracing::warn!(
                "`{}` is not the published script: running revision {} ({}) from the database; publish the file with `wafl publish` to run it",
                loaded.path.display(),
                rev.id,
                rev.hash
            );
            script::load_source(std::path::Path::new(&rev.name), rev.source)
                .map_err(|e| format!("the active revision {} does not check: {e}", rev.id))?
        }
        Ok(_) => loaded,
        Err(e) => return Err(format!("cannot read the active revision: {e}")),
    };
    let recovered = db
        .run(|s| s.recover_inflight())
        .await
        .map_err(|e| e.to_string())?;
    if recovered > 0 {
        tracing::warn!(
            "{recovered} outbound request(s) were in flight when the last run stopped; they are sent again with their idempotency keys"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let channel = match (&config.access_token, &config.phone_number_id) {
        (Some(token), Some(id)) => Channel::Graph {
            base: config.graph_url.clone(),
            phone_number_id: id.clone(),
            token: token.clone(),
        },
        _ => Channel::Sandbox(channel::Sandbox::with_stubs(
            config.sandbox_stubs.as_deref(),
        )?),
    };
    let http = reqwest::Client::builder()
        .user_agent(concat!("wafl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let flows_key = load_flows_key(&config)?;
    let (senders, receivers) = worker::spawn_shards();
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        rate: RateLimit::new(config.send_rate),
        config,
        db,
        script: RwLock::new(Arc::new(loaded)),
        metrics: Metrics::default(),
        shards: senders,
        outbox_notify: Notify::new(),
        timer_notify: Notify::new(),
        shutdown,
        channel,
        http,
        ready: std::sync::atomic::AtomicBool::new(false),
        flows_key,
        last_sent: Mutex::new(HashMap::new()),
        send_paused_until: AtomicI64::new(0),
        queued_inbound: Mutex::new(HashSet::new()),
        console: console::ConsoleState::default(),
        events: console::events::ConsoleBus::default(),
    });
    shared.metrics.backlog_limit.store(
        shared.config.max_backlog,
        std::sync::atomic::Ordering::Relaxed,
    );
    // The same rule as reloads: a start must not strand cards waiting in handlers the
    // script changed.
    let stranded = scheduler::stranded_cards(&shared, &shared.script().program).await?;
    if !stranded.is_empty() {
        return Err(format!(
            "the script changes or removes handlers that cards are waiting in; start with the script they started on, or keep these handlers as they are:\n{}",
            stranded.join("\n")
        ));
    }
    for rx in receivers {
        supervisor::spawn_critical(&shared, "shard", worker::run_shard(shared.clone(), rx));
    }
    // Inbound messages stored but not processed before a stop or a crash run first,
    // in their original order.
    let pending = shared
        .db
        .run(|s| s.pending_inbound())
        .await
        .map_err(|e| e.to_string())?;
    shared.metrics.backlog.store(
        i64::try_from(pending.len()).unwrap_or(i64::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
    for row in pending {
        match serde_json::from_str::<wire::inbound::InMessage>(&row.payload) {
            Ok(msg) => shared.dispatch(Work::Inbound {
                seq: row.seq,
                contact: row.contact,
                msg,
            }),
            Err(e) => tracing::error!("stored inbound message {} is unreadable: {e}", row.seq),
        }
    }
    supervisor::spawn(&shared, "outbox", outbox::run);
    supervisor::spawn(&shared, "sweep", intake::sweep);
    supervisor::spawn(&shared, "timers", scheduler::run);
    supervisor::spawn(&shared, "watcher", scheduler::watch_script);
    shared
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    Ok((shared, listener))
}
