//! `wafl run FILE`: the daemon.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The `.flow` script to run.
    #[arg(value_name = "FILE")]
    pub script: PathBuf,
    /// Configuration file (TOML). Secrets come from the environment:
    /// WAFL_ACCESS_TOKEN, WAFL_APP_SECRET, WAFL_VERIFY_TOKEN, WAFL_ADMIN_TOKEN, and the
    /// variables the script names with env("...").
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080, or `listen` in the config).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Where to keep state: a SQLite file, or `postgres://user@host:port/db` for several
    /// daemons over one database (default `wafl.db`, or WAFL_DATABASE, or `database` in
    /// the config). A password may come from PGPASSWORD; it is never printed.
    #[arg(long, value_name = "FILE|URL")]
    pub database: Option<String>,
    /// Run with WhatsApp credentials but without WAFL_APP_SECRET, accepting unsigned
    /// webhooks from anyone. Only for local experiments; warned about at every start.
    #[arg(long)]
    pub insecure_no_signature: bool,
}

pub fn run(args: RunArgs) -> u8 {
    if !super::one_flow_file(&args.script, "run") {
        return EXIT_USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let opts = crate::daemon::RunOptions {
        script: args.script,
        config: args.config,
        listen: args.listen,
        database: args.database,
        insecure_no_signature: args.insecure_no_signature,
    };
    match runtime.block_on(crate::daemon::run(opts)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
