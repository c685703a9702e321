//! `wafl publish`, `wafl rollback` and `wafl revisions`: versioned publishing of a
//! script into the daemon's database (SQLite file or PostgreSQL). Every daemon on the
//! database runs the active revision and follows when it changes.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::daemon::script::{self, PublishCheck};
use crate::daemon::store::{NewRevision, Revision, Store};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the revisions are kept: the database `wafl run` would use.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Configuration file (TOML) whose `database` to use.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The daemon's database: a SQLite file or a `postgres://` URL (default as `wafl
    /// run`: WAFL_DATABASE, the config's `database`, or `wafl.db`).
    #[arg(long, value_name = "FILE|URL")]
    pub database: Option<String>,
}

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The script to publish.
    pub script: PathBuf,
    /// Why this revision (shown by `wafl revisions`).
    #[arg(long, short, default_value = "")]
    pub message: String,
    /// Who publishes (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// Publish a script that has warnings (errors always refuse).
    #[arg(long)]
    pub allow_warnings: bool,
    /// Check and report what publishing would do, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The revision to make active again (default: the one before the active one).
    pub revision: Option<i64>,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Args, Debug)]
pub struct RevisionsArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

fn open(args: &DatabaseArgs) -> Result<Arc<dyn Store>, String> {
    crate::daemon::open_configured_store(args.config.as_deref(), args.database.as_deref())
}

type Failure = (u8, String);

fn usage(e: impl Into<String>) -> Failure {
    (EXIT_USAGE, e.into())
}

fn failed(e: impl ToString) -> Failure {
    (EXIT_FAILED, e.to_string())
}

fn finish(result: Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err((code, e)) => {
            eprintln!("error: {e}");
            code
        }
    }
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Refuses (with the report) unless every open card goes on under the new script.
fn require_takeover(check: &PublishCheck) -> Result<(), Failure> {
    if check.takes_over_everything() {
        return Ok(());
    }
    Err(failed(format!(
        "publishing is refused: not every open card can go on under the new script\n{}",
        check.render().trim_end()
    )))
}

pub fn publish(args: PublishArgs) -> u8 {
    finish(run_publish(&args))
}

fn run_publish(args: &PublishArgs) -> Result<(), Failure> {
    let checked = script::check_file(&args.script).map_err(|e| {
        (
            EXIT_FAILED,
            format!("the script does not check; nothing was published\n{e}"),
        )
    })?;
    if !checked.warnings.is_empty() {
        eprint!("{}", checked.warnings);
        if !args.allow_warnings {
            return Err(failed(format!(
                "the script has {}; fix them, or publish with --allow-warnings",
                checked.summary
            )));
        }
    }
    let store = open(&args.db).map_err(failed)?;
    let check = script::publish_check(store.as_ref(), &checked.loaded).map_err(failed)?;
    let open_cards: usize = check.open.values().sum();
    require_takeover(&check)?;
    if args.dry_run {
        println!(
            "{} checks {}; {open_cards} open card(s) would go on under it. Nothing was published (--dry-run).",
            args.script.display(),
            checked.summary
        );
        return Ok(());
    }
    let author = args
        .author
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let rev = store
        .publish_revision(
            NewRevision {
                hash: checked.loaded.hash.clone(),
                name: args.script.display().to_string(),
                source: checked.loaded.source.clone(),
                author,
                message: args.message.clone(),
                checked: checked.summary.clone(),
            },
            jiff::Timestamp::now().as_millisecond(),
        )
        .map_err(failed)?;
    println!(
        "published revision {} ({}) from {}: active; {open_cards} open card(s) go on under it. Running daemons follow within seconds.",
        rev.id,
        crate::daemon::short_hash(&rev.hash),
        args.script.display()
    );
    Ok(())
}

pub fn rollback(args: RollbackArgs) -> u8 {
    finish(run_rollback(&args))
}

fn run_rollback(args: &RollbackArgs) -> Result<(), Failure> {
    let store = open(&args.db).map_err(failed)?;
    let revisions = store.revisions().map_err(failed)?;
    if revisions.is_empty() {
        return Err(usage(
            "nothing was published yet; `wafl publish FILE` stores the first revision",
        ));
    }
    let target: &Revision = match args.revision {
        Some(id) => revisions.iter().find(|r| r.id == id).ok_or_else(|| {
            usage(format!(
                "there is no revision {id}; `wafl revisions` lists them"
            ))
        })?,
        None => script::previous(&revisions).ok_or_else(|| {
            usage("the active revision is the oldest one; name a revision to roll back to")
        })?,
    };
    if target.active {
        println!("revision {} is already active", target.id);
        return Ok(());
    }
    let loaded = script::load_source(std::path::Path::new(&target.name), target.source.clone())
        .map_err(|e| failed(format!("revision {} does not check here: {e}", target.id)))?;
    let check = script::publish_check(store.as_ref(), &loaded).map_err(failed)?;
    require_takeover(&check)?;
    let rev = store
        .activate_revision(target.id, jiff::Timestamp::now().as_millisecond())
        .map_err(failed)?;
    println!(
        "revision {} ({}) is active again. Running daemons follow within seconds.",
        rev.id,
        crate::daemon::short_hash(&rev.hash)
    );
    Ok(())
}

pub fn revisions(args: RevisionsArgs) -> u8 {
    finish(run_revisions(&args))
}

fn run_revisions(args: &RevisionsArgs) -> Result<(), Failure> {
    let store = open(&args.db).map_err(failed)?;
    let revisions = store.revisions().map_err(failed)?;
    if revisions.is_empty() {
        println!("nothing was published yet; `wafl publish FILE` stores the first revision");
        return Ok(());
    }
    let mut open: std::collections::BTreeMap<String, usize> = Default::default();
    for c in store.conversations(None).map_err(failed)? {
        if c.stage.is_some() {
            *open.entry(c.body.program).or_default() += 1;
        }
    }
    println!(
        "{:>4}  {:<1} {:<12}  {:<20}  {:<12}  {:<10}  {:>10}  message",
        "rev", "", "hash", "published", "author", "check", "open cards"
    );
    for r in &revisions {
        println!(
            "{:>4}  {:<1} {:<12}  {:<20}  {:<12}  {:<10}  {:>10}  {}",
            r.id,
            if r.active { "*" } else { "" },
            crate::daemon::short_hash(&r.hash),
            when(r.created_ms),
            r.author,
            r.checked,
            open.get(&r.hash).copied().unwrap_or(0),
            r.message
        );
    }
    let unpublished: usize = open
        .iter()
        .filter(|(h, _)| !revisions.iter().any(|r| &r.hash == *h))
        .map(|(_, n)| n)
        .sum();
    if unpublished > 0 {
        println!("{unpublished} open card(s) run on a script that was never published");
    }
    Ok(())
}
