//! `wafl repl`: play a customer against a script, move a virtual clock, and try rules.
//!
//! [`core::ReplCore`] does everything (input in, transcript out); two thin fronts feed it:
//! the rustyline editor on a terminal ([`front`]) and, when stdin is not a terminal, a
//! line reader that echoes each input and prints the transcript ([`run_script`]), so
//! sessions can be scripted and tested.

pub mod command;
pub mod core;
pub mod decl;
pub mod front;
pub mod input;
pub mod render;

pub use core::ReplCore;

use std::io::{BufRead, Write};

/// Feeds lines to the core the way the terminal front does: a declaration continues over
/// the following lines until it is finished (or an empty line ends it). Each input is
/// echoed after the prompt, so the output reads as a transcript.
pub fn run_script(core: &mut ReplCore, input: impl BufRead, out: &mut impl Write) {
    let mut pending = String::new();
    let mut prompt = core.prompt();
    for line in input.lines() {
        // A line that is not UTF-8 is shown as best it can be rather than stopping.
        let line = match line {
            Ok(l) => l,
            Err(_) => continue,
        };
        let line = line.strip_suffix('\r').unwrap_or(&line);
        // A command cannot continue a declaration: the declaration ends before it, so
        // a script with an unfinished declaration still runs its later commands.
        if !pending.is_empty() && line.trim_start().starts_with(':') {
            let text = std::mem::take(&mut pending);
            let _ = write!(out, "{}", core.eval_line(&text));
        }
        if pending.is_empty() {
            prompt = core.prompt();
            let _ = writeln!(out, "{prompt}{line}");
        } else {
            let _ = writeln!(out, "{:>width$}{line}", ".. ", width = prompt.len());
            pending.push('\n');
        }
        pending.push_str(line);
        if input::is_unfinished(&pending) {
            continue;
        }
        let text = std::mem::take(&mut pending);
        let _ = write!(out, "{}", core.eval_line(&text));
        if core.finished() {
            return;
        }
    }
    if !pending.is_empty() {
        let _ = write!(out, "{}", core.eval_line(&pending));
    }
}
