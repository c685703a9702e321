//! `wafl graph FILE [--format dot|mermaid] [--svg]`: the stages of a script as a picture.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::diag::render;
use crate::graph;
use crate::session::Session;
use clap::{Args, ValueEnum};
use codespan_reporting::term::termcolor::StandardStream;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The `.flow` file to draw.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format (text).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Draw an SVG picture with Graphviz (`dot -Tsvg`), which must be installed.
    #[arg(long, conflicts_with = "format")]
    pub svg: bool,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart, for Markdown.
    Mermaid,
}

pub fn run(args: GraphArgs) -> u8 {
    let Some(text) = super::read_script(&args.file) else {
        return EXIT_USAGE;
    };
    let mut session = Session::with_files();
    let id = session.add(args.file.display().to_string(), text.clone());
    let Some(analysis) = session.analysis(id) else {
        return EXIT_USAGE;
    };
    // A script that does not parse gives an incomplete picture; checker errors (an
    // unreachable stage, a stage that never closes) are what the picture helps to see.
    if analysis.parsed.diagnostics.iter().any(|d| d.is_error()) {
        let stderr = std::io::stderr();
        let mut out = StandardStream::stderr(color_choice(stderr.is_terminal()));
        let _ = render::emit(&mut out, &session.sources, &analysis.parsed.diagnostics);
        eprintln!("no graph: `{}` does not parse", args.file.display());
        return EXIT_FAILED;
    }
    let g = graph::build(&analysis.parsed.file, &analysis.checked.symbols, &text);
    let output = if args.svg {
        match svg(&graph::dot::render(&g)) {
            Ok(svg) => svg,
            Err(message) => {
                eprintln!("error: {message}");
                return EXIT_USAGE;
            }
        }
    } else {
        match args.format {
            GraphFormat::Dot => graph::dot::render(&g).into_bytes(),
            GraphFormat::Mermaid => graph::mermaid::render(&g).into_bytes(),
        }
    };
    let written = match &args.out {
        Some(path) => std::fs::write(path, &output)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display())),
        None => std::io::stdout()
            .write_all(&output)
            .map_err(|e| format!("cannot write the graph: {e}")),
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
    }
}

/// Runs Graphviz's `dot -Tsvg` over DOT text.
fn svg(dot: &str) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "`--svg` needs Graphviz, and its `dot` program is \
                                             not on PATH: install Graphviz (the `graphviz` \
                                             package), or use `--format dot` and draw it elsewhere"
                .to_string(),
            _ => format!("cannot run Graphviz's `dot`: {e}"),
        })?;
    // Graphviz reads all its input before it writes, so writing first cannot deadlock.
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|e| format!("cannot feed Graphviz: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("Graphviz failed: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "Graphviz failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
