//! `wafl fmt [--check] FILE...`: rewrites files in the canonical layout, or with
//! `--check` lists the files that would change and exits 1. `-` is standard input,
//! formatted to standard output.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::diag::render;
use crate::fmt::{FmtError, format};
use crate::syntax::source::SourceMap;
use clap::Args;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// The `.flow` files to format; `-` reads a script from standard input and writes
    /// the formatted text to standard output.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: FmtArgs) -> u8 {
    let mut failed = false;
    let mut unformatted = false;
    for path in &args.files {
        let stdin = path.as_os_str() == "-";
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let read = if stdin {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
        } else {
            std::fs::read(path)
        };
        let text = match read.map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                eprintln!("error: `{name}` is not UTF-8 text");
                failed = true;
                continue;
            }
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                failed = true;
                continue;
            }
        };
        match format(&text) {
            // Standard input is always answered on standard output (unless `--check`).
            Ok(out) if stdin && !args.check => {
                if let Err(e) = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes()) {
                    eprintln!("error: cannot write the formatted text: {e}");
                    failed = true;
                }
            }
            Ok(out) if out == text => {}
            Ok(out) => {
                if args.check {
                    println!("{name}");
                    unformatted = true;
                } else if let Err(e) = std::fs::write(path, out) {
                    eprintln!("error: cannot write `{name}`: {e}");
                    failed = true;
                }
            }
            Err(FmtError::Syntax(diags)) => {
                // The same report as `wafl check`, so the user sees what to fix.
                let mut map = SourceMap::new();
                map.add(name.clone(), text);
                let stderr = std::io::stderr();
                let mut out = StandardStream::stderr(color_choice(stderr.is_terminal()));
                let _ = render::emit(&mut out, &map, &diags);
                eprintln!("error: `{name}` has syntax errors and was not formatted");
                failed = true;
            }
            Err(e @ FmtError::Unstable(_)) => {
                eprintln!("error: `{name}` was not formatted: {e}");
                failed = true;
            }
        }
    }
    if failed {
        EXIT_USAGE
    } else if unformatted {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
