//! The way to a PostgreSQL database: its URL (the password never printed), the connection
//! pool with its limits, and the schema migrations, applied at start under an advisory
//! lock so that several daemons starting together migrate once.

use std::fmt;
use std::time::Duration;

use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;

/// The pool every PostgreSQL store draws its connections from.
pub type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
/// One connection taken from the pool; it goes back when dropped.
pub type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// The schema migrations, in order; `wafl_schema` records which ran. A file once released
/// is never edited: a change is a new file.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_revisions",
        sql: include_str!("migrations/0002_revisions.sql"),
    },
    Migration {
        version: 3,
        name: "0003_console",
        sql: include_str!("migrations/0003_console.sql"),
    },
];

/// One schema migration: a `.sql` file run in one transaction.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Why the database cannot be reached or prepared.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("`{0}` is not a PostgreSQL URL (expected postgres://user@host:port/database)")]
    NotPostgres(String),
    #[error("invalid database URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("invalid schema name `{0}`: use letters, digits and `_`")]
    BadSchema(String),
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: r2d2::Error,
    },
    #[error(
        "database {url} has schema version {found}, newer than this wafl knows ({known}); upgrade wafl on this machine"
    )]
    TooNew { url: String, found: i32, known: i32 },
    #[error("schema migration {name} failed on {url}: {source}")]
    Migration {
        url: String,
        name: &'static str,
        #[source]
        source: postgres::Error,
    },
    #[error("database error on {url}: {source}")]
    Query {
        url: String,
        #[source]
        source: postgres::Error,
    },
}

/// A PostgreSQL connection URL. Its password (from the URL or `PGPASSWORD`) is kept but
/// never shown: `Display` and `Debug` print `postgres://user@host:port/database`.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: postgres::Config,
    shown: String,
}

impl DatabaseUrl {
    /// Whether `s` names a PostgreSQL database rather than a SQLite file.
    pub fn is_postgres(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }

    /// Parses a `postgres://` URL. Without a password in it, `PGPASSWORD` is used if set.
    pub fn parse(s: &str) -> Result<Self, ConnError> {
        if !Self::is_postgres(s) {
            return Err(ConnError::NotPostgres(redact(s)));
        }
        let mut config: postgres::Config =
            s.parse().map_err(|e: postgres::Error| ConnError::BadUrl {
                url: redact(s),
                reason: e.to_string(),
            })?;
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        if config.get_user().is_none() {
            if let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
                config.user(&user);
            }
        }
        let shown = shown(&config);
        Ok(DatabaseUrl { config, shown })
    }

    /// The client configuration, password included.
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.shown)
    }
}

/// `postgres://user@host:port/database`, built from the parsed parts so nothing secret
/// can slip through.
fn shown(config: &postgres::Config) -> String {
    let user = config.get_user().unwrap_or("");
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("");
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("postgres://{at}{host}:{port}/{db}")
}

/// A URL that did not parse, with anything between `:` and `@` after the scheme hidden.
fn redact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return "<hidden>".to_owned();
    };
    let Some((userinfo, tail)) = rest.rsplit_once('@') else {
        return s.split('?').next().unwrap_or("").to_owned();
    };
    let user = userinfo.split(':').next().unwrap_or("");
    let tail = tail.split('?').next().unwrap_or("");
    format!("{scheme}://{user}@{tail}")
}

/// The limits of the pool and of each statement.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Connections kept open at most (`pool_size` in `wafl.toml`).
    pub max_size: u32,
    /// A statement running longer is cancelled by the server (`statement_timeout`).
    pub statement_timeout: Duration,
    /// How long to wait for a connection, from the pool or the server.
    pub connect_timeout: Duration,
    /// The schema holding wafl's tables; `None` for the server's default (`public`).
    pub schema: Option<String>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            schema: None,
        }
    }
}

/// Opens a pool on `url` with `opts`, creates the schema if named and missing, and
/// applies the migrations this wafl knows that the database has not yet run.
pub fn open(url: &DatabaseUrl, opts: &PoolOptions) -> Result<Pool, ConnError> {
    if let Some(schema) = &opts.schema {
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConnError::BadSchema(schema.clone()));
        }
    }
    let mut config = url.config().clone();
    let mut options = format!(
        "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
        opts.statement_timeout.as_millis(),
        // A connection stuck in a transaction (a stalled daemon) lets go of its row
        // locks after this; the fencing checks make its late commit harmless anyway.
        opts.statement_timeout
            .as_millis()
            .saturating_mul(4)
            .max(10_000),
    );
    if let Some(schema) = &opts.schema {
        options.push_str(&format!(" -c search_path={schema}"));
    }
    config.options(&options);
    config.application_name("wafl");
    config.connect_timeout(opts.connect_timeout);
    let manager = PostgresConnectionManager::new(config, NoTls);
    let pool = r2d2::Pool::builder()
        .max_size(opts.max_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(opts.connect_timeout)
        .test_on_check_out(false)
        .build(manager)
        .map_err(|source| ConnError::Connect {
            url: url.to_string(),
            source,
        })?;
    let mut conn = pool.get().map_err(|source| ConnError::Connect {
        url: url.to_string(),
        source,
    })?;
    if let Some(schema) = &opts.schema {
        conn.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .map_err(|source| ConnError::Query {
                url: url.to_string(),
                source,
            })?;
    }
    migrate(&mut conn, url)?;
    Ok(pool)
}

/// Applies the missing migrations, each in its own transaction, holding a session-level
/// advisory lock keyed by the schema so that daemons starting together take turns.
pub fn migrate(conn: &mut postgres::Client, url: &DatabaseUrl) -> Result<i32, ConnError> {
    let query = |source| ConnError::Query {
        url: url.to_string(),
        source,
    };
    conn.batch_execute("SELECT pg_advisory_lock(hashtext('wafl migrate ' || current_schema()))")
        .map_err(query)?;
    let applied = apply_missing(conn, url);
    let unlocked = conn
        .batch_execute("SELECT pg_advisory_unlock(hashtext('wafl migrate ' || current_schema()))")
        .map_err(query);
    let version = applied?;
    unlocked?;
    Ok(version)
}

fn apply_missing(conn: &mut postgres::Client, url: &DatabaseUrl) -> Result<i32, ConnError> {
    let query = |source| ConnError::Query {
        url: url.to_string(),
        source,
    };
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS wafl_schema (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(query)?;
    let row = conn
        .query_one("SELECT COALESCE(MAX(version), 0) FROM wafl_schema", &[])
        .map_err(query)?;
    let found: i32 = row.get(0);
    let mut current = found;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if found > known {
        return Err(ConnError::TooNew {
            url: url.to_string(),
            found,
            known,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        let failed = |source| ConnError::Migration {
            url: url.to_string(),
            name: m.name,
            source,
        };
        let mut tx = conn.transaction().map_err(failed)?;
        tx.batch_execute(m.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO wafl_schema (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        current = m.version;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url =
            DatabaseUrl::parse("postgres://shop:s3cret@db.internal:6543/wafl").expect("parses");
        assert_eq!(url.to_string(), "postgres://shop@db.internal:6543/wafl");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.config().get_password(), Some(&b"s3cret"[..]));
    }

    #[test]
    fn a_bad_url_is_reported_without_its_password() {
        let err =
            DatabaseUrl::parse("postgres://shop:s3cret@db:notaport/wafl").expect_err("bad port");
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("postgres://shop@db:notaport/wafl"), "{text}");
        let err = DatabaseUrl::parse("mysql://shop:s3cret@db/wafl").expect_err("not postgres");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(usize::try_from(m.version).ok(), Some(i + 1), "{}", m.name);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }
}
