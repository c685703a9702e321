//! `wafl agent add|list|remove`: the console's agent accounts, kept in the daemon's
//! database (SQLite file or PostgreSQL), so it works while the daemon runs. Passwords are
//! read from standard input or an environment variable, never from the command line,
//! and stored as Argon2id hashes.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::daemon::store::{AgentAccount, Store};
use clap::{Args, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
    /// Configuration file (TOML) whose `database` to use.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The daemon's database: a SQLite file or a `postgres://` URL (default as `wafl
    /// run`: WAFL_DATABASE, the config's `database`, or `wafl.db`).
    #[arg(long, global = true, value_name = "FILE|URL")]
    pub database: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Add an agent who signs in to the console with EMAIL and a password (read from
    /// standard input, or from the variable named by --password-env).
    Add {
        /// The agent's e-mail, as the script's `team ... { agents "..." }` lists it.
        email: String,
        /// The name the console shows.
        #[arg(long)]
        name: String,
        /// A team of the script the agent works in (repeat for several).
        #[arg(long = "team", required = true, value_name = "TEAM")]
        teams: Vec<String>,
        /// The script whose teams the agent belongs to.
        #[arg(long, value_name = "FILE")]
        script: PathBuf,
        /// Read the password from this environment variable instead of standard input.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// List the agents (e-mail, name, teams).
    List,
    /// Remove an agent; their sessions end at once.
    Remove { email: String },
}

/// Opens the database the daemon of this configuration uses.
fn open(args: &AgentArgs) -> Result<Arc<dyn Store>, String> {
    crate::daemon::open_configured_store(args.config.as_deref(), args.database.as_deref())
}

/// Checks an agent against the script: every team exists, and lists the agent when it
/// lists agents at all.
pub fn check_teams(
    program: &crate::compile::Program,
    email: &str,
    teams: &[String],
) -> Result<(), String> {
    for team in teams {
        let Some(t) = program.teams.get(team) else {
            let known: Vec<&str> = program.teams.keys().map(String::as_str).collect();
            return Err(format!(
                "the script declares no team `{team}`; its teams: {}",
                if known.is_empty() {
                    "(none)".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        if !t.agents.is_empty() && !t.agents.iter().any(|a| a.eq_ignore_ascii_case(email)) {
            return Err(format!(
                "`{email}` is not an agent of team `{team}` in the script (it lists {}); add it to the team's `agents` first",
                t.agents.join(", ")
            ));
        }
    }
    Ok(())
}

fn read_password(env: Option<&str>) -> Result<String, String> {
    let pw = match env {
        Some(var) => {
            std::env::var(var).map_err(|_| format!("the environment variable {var} is not set"))?
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprint!("password for the console (input is shown; pipe it in to hide it): ");
            }
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if pw.chars().count() < 10 {
        return Err("the password is shorter than 10 characters; choose a longer one".into());
    }
    Ok(pw)
}

pub fn run(args: AgentArgs) -> u8 {
    match execute(&args) {
        Ok(()) => EXIT_OK,
        Err((code, e)) => {
            eprintln!("error: {e}");
            code
        }
    }
}

fn execute(args: &AgentArgs) -> Result<(), (u8, String)> {
    let usage = |e: String| (EXIT_USAGE, e);
    let failed = |e: String| (EXIT_FAILED, e);
    match &args.command {
        AgentCommand::Add {
            email,
            name,
            teams,
            script,
            password_env,
        } => {
            let email = email.trim().to_lowercase();
            if !email.contains('@') || email.chars().any(char::is_whitespace) {
                return Err(usage(format!("`{email}` is not an e-mail address")));
            }
            if name.trim().is_empty() {
                return Err(usage("--name is empty".into()));
            }
            let loaded = crate::daemon::load_script(script).map_err(usage)?;
            check_teams(&loaded.program, &email, teams).map_err(usage)?;
            let password = read_password(password_env.as_deref()).map_err(usage)?;
            let hash = crate::daemon::console::auth::hash_password(&password).map_err(failed)?;
            let store = open(args).map_err(failed)?;
            let added = store
                .add_agent(AgentAccount {
                    email: email.clone(),
                    name: name.trim().to_string(),
                    teams: teams.clone(),
                    password_hash: hash,
                    created_ms: jiff::Timestamp::now().as_millisecond(),
                })
                .map_err(|e| failed(e.to_string()))?;
            if !added {
                return Err(usage(format!(
                    "an agent `{email}` exists already; `wafl agent remove {email}` first to change it"
                )));
            }
            println!("added {email} ({}) to {}", name.trim(), teams.join(", "));
            Ok(())
        }
        AgentCommand::List => {
            let store = open(args).map_err(failed)?;
            let agents = store.agents().map_err(|e| failed(e.to_string()))?;
            if agents.is_empty() {
                println!(
                    "no agents; add one with `wafl agent add EMAIL --name NAME --team TEAM --script FILE`"
                );
            }
            for a in agents {
                println!("{:<32} {:<24} {}", a.email, a.name, a.teams.join(", "));
            }
            Ok(())
        }
        AgentCommand::Remove { email } => {
            let email = email.trim().to_lowercase();
            let store = open(args).map_err(failed)?;
            if store
                .remove_agent(&email)
                .map_err(|e| failed(e.to_string()))?
            {
                println!("removed {email}; their sessions ended");
                Ok(())
            } else {
                Err(usage(format!(
                    "no agent `{email}`; `wafl agent list` shows them"
                )))
            }
        }
    }
}
