//! `wafl outbox list|retry`: the dead letters of a running daemon, through its admin API
//! (`WAFL_ADMIN_TOKEN`), so it works the same whatever storage the daemon uses.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Args, Debug)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: OutboxCommand,
    /// Base URL of the running daemon.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// List the dead letters: sends and webhook calls given up on, with the reason.
    List,
    /// Send dead letters again (in their place in each contact's queue).
    Retry {
        /// Ids of the dead letters (as `list` shows them).
        ids: Vec<i64>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub fn run(args: OutboxArgs) -> u8 {
    let Some(token) = std::env::var("WAFL_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    else {
        eprintln!("error: set WAFL_ADMIN_TOKEN to the daemon's admin token");
        return EXIT_USAGE;
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let base = args.url.trim_end_matches('/').to_string();
    runtime.block_on(async move {
        let client = reqwest::Client::new();
        match args.command {
            OutboxCommand::List => {
                match request(client.get(format!("{base}/admin/outbox/dead")), &token).await {
                    Ok(v) => {
                        let dead = v
                            .get("dead_letters")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default();
                        if dead.is_empty() {
                            println!("no dead letters");
                        }
                        for d in dead {
                            println!(
                                "{:>8}  {:<9} {:<16} attempts {:<3} {}",
                                d.get("id").and_then(Value::as_i64).unwrap_or(0),
                                d.get("kind").and_then(Value::as_str).unwrap_or("?"),
                                d.get("contact").and_then(Value::as_str).unwrap_or("?"),
                                d.get("attempts").and_then(Value::as_i64).unwrap_or(0),
                                d.get("error").and_then(Value::as_str).unwrap_or(""),
                            );
                        }
                        EXIT_OK
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        EXIT_FAILED
                    }
                }
            }
            OutboxCommand::Retry { ids, all } => {
                if !all && ids.is_empty() {
                    eprintln!("error: name the dead letters to resend, or pass --all");
                    return EXIT_USAGE;
                }
                let urls: Vec<String> = if all {
                    vec![format!("{base}/admin/outbox/retry")]
                } else {
                    ids.iter()
                        .map(|id| format!("{base}/admin/outbox/{id}/retry"))
                        .collect()
                };
                let mut resent = 0;
                for url in urls {
                    match request(client.post(url), &token).await {
                        Ok(v) => {
                            resent += v
                                .get("retried")
                                .and_then(Value::as_array)
                                .map_or(0, Vec::len)
                        }
                        Err(e) => {
                            eprintln!("error: {e}");
                            return EXIT_FAILED;
                        }
                    }
                }
                println!("{resent} dead letter(s) queued again");
                EXIT_OK
            }
        }
    })
}

async fn request(req: reqwest::RequestBuilder, token: &str) -> Result<Value, String> {
    let resp = req
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach the daemon: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("the daemon answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("unexpected answer from the daemon: {e}"))
}
