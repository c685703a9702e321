//! `wafl repl [FILE]`

use super::EXIT_OK;
use crate::repl::{self, ReplCore};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReplArgs {
    /// The `.flow` file to load; without it the REPL starts from an empty script.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(args: ReplArgs) -> u8 {
    let (mut core, report) = ReplCore::new(args.file);
    let stdin = std::io::stdin();
    if stdin.is_terminal() && std::io::stdout().is_terminal() {
        print!("{report}");
        let color = std::env::var_os("NO_COLOR").is_none();
        if let Err(e) = repl::front::run(core, color) {
            eprintln!("error: {e}");
            return super::EXIT_USAGE;
        }
    } else {
        print!("{report}");
        let mut out = std::io::stdout().lock();
        repl::run_script(&mut core, stdin.lock(), &mut out);
    }
    EXIT_OK
}
