//! `wafl lsp`: the language server on stdin and stdout.

use super::{EXIT_FAILED, EXIT_OK};
use clap::Args;

#[derive(Args, Debug)]
pub struct LspArgs {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: LspArgs) -> u8 {
    match crate::lsp::run_stdio() {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: language server: {e}");
            EXIT_FAILED
        }
    }
}
