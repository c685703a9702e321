//! `wafl build FILE [-o DIR]`: the compiled bundle of a script and the WhatsApp Flow
//! JSON of each of its forms, written as files.

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, color_choice};
use crate::compile::bundle;
use crate::diag::render;
use crate::session::Session;
use clap::Args;
use codespan_reporting::term::termcolor::StandardStream;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The `.flow` file to build.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The directory to write into; `forms/` inside it gets one Flow JSON file per form.
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = "build")]
    pub out: PathBuf,
}

pub fn run(args: BuildArgs) -> u8 {
    let Some(text) = super::read_script(&args.file) else {
        return EXIT_USAGE;
    };
    let mut session = Session::with_files();
    let id = session.add(args.file.display().to_string(), text.clone());
    let Some(analysis) = session.analysis(id) else {
        return EXIT_USAGE;
    };
    if analysis.has_errors() {
        let stderr = std::io::stderr();
        let mut out = StandardStream::stderr(color_choice(stderr.is_terminal()));
        let _ = render::emit(&mut out, &session.sources, &analysis.diagnostics);
        let errors = analysis.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!("not built: `{}` has {errors} error(s)", args.file.display());
        return EXIT_FAILED;
    }
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script".to_string());
    let name = args
        .file
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| stem.clone());
    let built = bundle::build(
        &name,
        &text,
        &analysis.parsed.file,
        &analysis.checked.symbols,
    );
    let bundle_path = args.out.join(format!("{stem}.bundle.json"));
    if !write_json(&bundle_path, &built.json) {
        return EXIT_USAGE;
    }
    println!("wrote {} ({})", bundle_path.display(), built.hash);
    let forms_dir = args.out.join("forms");
    for (form, flow) in &built.forms {
        let path = forms_dir.join(format!("{form}.json"));
        if !write_json(&path, flow) {
            return EXIT_USAGE;
        }
        println!("wrote {} (Flow JSON of form `{form}`)", path.display());
    }
    EXIT_OK
}

/// Writes pretty JSON with a final newline, creating the directory; says why it failed.
fn write_json(path: &Path, value: &serde_json::Value) -> bool {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    if let Some(dir) = path.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create `{}`: {e}", dir.display());
        return false;
    }
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            false
        }
    }
}
