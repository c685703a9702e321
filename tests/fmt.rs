//! `wafl fmt`: one canonical layout, idempotent, keeping the tree and every comment, and
//! refusing files with syntax errors rather than losing text.

use std::path::{Path, PathBuf};
use std::process::Command;
use wafl::fmt::{FmtError, comments, format, same_tree};
use wafl::syntax::{parse, span::FileId};

fn flow_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            flow_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "flow") {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    flow_files(Path::new("examples"), &mut files);
    flow_files(Path::new("tests/cases"), &mut files);
    files.sort();
    files
}

fn comment_texts(src: &str) -> Vec<String> {
    let tree = parse(FileId(0), src).file;
    comments(src, &tree).into_iter().map(|c| c.text).collect()
}

/// Formats, then checks idempotence, the tree with spans ignored, and the comments.
fn assert_formats_faithfully(name: &str, src: &str) -> String {
    let out = match format(src) {
        Ok(out) => out,
        Err(e) => panic!("{name}: {e}"),
    };
    let again = format(&out).unwrap_or_else(|e| panic!("{name}: formatting the result: {e}"));
    assert_eq!(again, out, "{name}: formatting is not idempotent");
    let before = parse(FileId(0), src).file;
    let after = parse(FileId(0), &out).file;
    assert!(same_tree(&before, &after), "{name}: the tree changed");
    assert_eq!(
        comment_texts(src),
        comment_texts(&out),
        "{name}: comments changed"
    );
    out
}

#[test]
fn every_example_and_case_formats_faithfully_or_is_refused() {
    let files = corpus();
    assert!(!files.is_empty(), "no .flow files found");
    let mut formatted = 0;
    for path in files {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let has_syntax_errors = parse(FileId(0), &src)
            .diagnostics
            .iter()
            .any(|d| d.is_error());
        if has_syntax_errors {
            assert!(
                matches!(format(&src), Err(FmtError::Syntax(_))),
                "{name}: a file with syntax errors must be refused"
            );
        } else {
            assert_formats_faithfully(&name, &src);
            formatted += 1;
        }
    }
    assert!(formatted > 0);
}

#[test]
fn examples_are_already_formatted() {
    let mut files = Vec::new();
    flow_files(Path::new("examples"), &mut files);
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let out = format(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            out == src,
            "{} is not formatted: run `wafl fmt {}`",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn a_messy_script_gets_the_canonical_layout() {
    let src = r#"// The header.
flow "Acme" { timezone "UTC"
start   entry }
team billing   { agents "ana@acme.com","joao@acme.com" ; hours office }
hours office { mon-fri 09:00-18:00; sat 9:00-12:00
closed 2026-12-25 }
field order: text matching /^[A-Z]{2}\/[0-9]+$/   // the pattern
field name:text length between 2 and 80
  invalid "Send your name, please."



stage entry {
    on enter { reply "Olá, {contact.name}! 🙂" }   // greeting
  on keyword "fatura" ,"boleto" {
route billing
      goto entry }
    when (contact has tag "vip" or contact.new) and not order is set { ask order "Número?" tries 3 else handoff billing }


  otherwise {
      if contact.returning { reply "Welcome back!" } else { reply "Hello!" }
      if order is set {
        reply "ok"
      } else if contact.new { reply "new" } else {
        close
        // nothing more to say
      }
  }
}
"#;
    let expected = r#"// The header.
flow "Acme" {
  timezone "UTC"
  start entry
}

team billing { agents "ana@acme.com", "joao@acme.com"; hours office }

hours office {
  mon-fri 09:00-18:00
  sat 9:00-12:00
  closed 2026-12-25
}

field order: text matching /^[A-Z]{2}\/[0-9]+$/ // the pattern
field name: text length between 2 and 80
  invalid "Send your name, please."

stage entry {
  on enter { reply "Olá, {contact.name}! 🙂" } // greeting
  on keyword "fatura", "boleto" {
    route billing
    goto entry
  }
  when (contact has tag "vip" or contact.new) and not order is set {
    ask order "Número?" tries 3 else handoff billing
  }

  otherwise {
    if contact.returning { reply "Welcome back!" } else { reply "Hello!" }
    if order is set {
      reply "ok"
    } else if contact.new {
      reply "new"
    } else {
      close
      // nothing more to say
    }
  }
}
"#;
    let out = assert_formats_faithfully("messy", src);
    assert_eq!(out, expected);
}

#[test]
fn comments_keep_their_place_in_every_position() {
    let src = "// top\n\n// before stage\nstage a { // after brace\n  // first\n  on enter {\n    goto a // trailing\n    // last in block\n  }\n  // last in stage\n}\n// end of file\n";
    let out = assert_formats_faithfully("comments", src);
    assert_eq!(out, src);
}

#[test]
fn files_with_syntax_errors_are_refused() {
    let src = "stage a {\n  on enter { reply \"unterminated }\n}\n";
    match format(src) {
        Err(FmtError::Syntax(diags)) => assert!(!diags.is_empty()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_empty_file_stays_empty() {
    assert_eq!(format("").ok().as_deref(), Some(""));
    assert_eq!(format("\n\n  \n").ok().as_deref(), Some(""));
    assert_eq!(
        format("// only a comment\n").ok().as_deref(),
        Some("// only a comment\n")
    );
}

fn wafl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wafl"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the wafl binary runs")
}

#[test]
fn fmt_check_lists_files_that_would_change_and_fmt_rewrites_them() {
    let dir = std::env::temp_dir().join(format!("wafl-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let messy = dir.join("messy.flow");
    let tidy = dir.join("tidy.flow");
    let broken = dir.join("broken.flow");
    std::fs::write(&messy, "stage a {\notherwise {   ignore }\n}\n").expect("write");
    std::fs::write(&tidy, "stage a {\n  otherwise { ignore }\n}\n").expect("write");
    std::fs::write(&broken, "stage a {\n  otherwise { reply \"x }\n}\n").expect("write");
    let (m, t, b) = (
        messy.to_str().unwrap_or_default(),
        tidy.to_str().unwrap_or_default(),
        broken.to_str().unwrap_or_default(),
    );

    let out = wafl(&["fmt", "--check", m, t]);
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("messy.flow") && !listed.contains("tidy.flow"),
        "{listed}"
    );

    assert_eq!(wafl(&["fmt", m]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap_or_default(),
        "stage a {\n  otherwise { ignore }\n}\n"
    );
    assert_eq!(wafl(&["fmt", "--check", m, t]).status.code(), Some(0));

    // A file with syntax errors is reported and left untouched.
    let out = wafl(&["fmt", b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax"));
    assert!(
        std::fs::read_to_string(&broken)
            .unwrap_or_default()
            .contains("reply \"x }")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_block_written_on_one_line_is_broken_when_it_passes_100_columns() {
    let short = "stage a {\n  on keyword \"hi\" { reply \"Hello!\"; close }\n}\n";
    assert_eq!(wafl::fmt::format(short).expect("formats"), short);
    let long = "team reception { agents \"recepcao@clinicavida.example\", \"marina@clinicavida.example\"; hours office_hours }\n\
                stage a {\n  on keyword \"hi\" { reply \"Hello, and welcome to the clinic: how can we help you today, dear patient?\"; close }\n  \
                otherwise { if contact.new { reply \"Welcome to the clinic, we are so very glad to see you here again today\" } else { close } }\n}\n";
    let out = wafl::fmt::format(long).expect("formats");
    assert_eq!(
        out,
        "team reception {\n  agents \"recepcao@clinicavida.example\", \"marina@clinicavida.example\"\n  hours office_hours\n}\n\
         \n\
         stage a {\n  on keyword \"hi\" {\n    reply \"Hello, and welcome to the clinic: how can we help you today, dear patient?\"\n    close\n  }\n  \
         otherwise {\n    if contact.new {\n      reply \"Welcome to the clinic, we are so very glad to see you here again today\"\n    } else {\n      close\n    }\n  }\n}\n"
    );
    // What cannot be broken (one long string) may stay longer.
    assert!(
        out.lines()
            .all(|l| l.chars().count() <= 100 || !l.contains('{')),
        "{out}"
    );
    // Broken once, it stays broken.
    assert_eq!(wafl::fmt::format(&out).expect("formats"), out);
}

#[test]
fn crlf_line_endings_are_kept() {
    let src = "stage a {\r\notherwise {   ignore }\r\n}\r\n";
    assert_eq!(
        wafl::fmt::format(src).expect("formats"),
        "stage a {\r\n  otherwise { ignore }\r\n}\r\n"
    );
    let lf = "stage a {\notherwise {   ignore }\n}\n";
    assert_eq!(
        wafl::fmt::format(lf).expect("formats"),
        "stage a {\n  otherwise { ignore }\n}\n"
    );
    // Errors point into the text as given.
    let broken = "stage a {\r\n  otherwise { reply \"x }\r\n}\r\n";
    let Err(wafl::fmt::FmtError::Syntax(diags)) = wafl::fmt::format(broken) else {
        panic!("a syntax error is refused");
    };
    let quote = broken.find("\"x").expect("quote") as u32;
    assert!(
        diags.iter().any(|d| d.primary.span.start == quote),
        "{diags:?}"
    );
}

#[test]
fn fmt_dash_formats_standard_input_to_standard_output() {
    use std::io::Write;
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wafl"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the wafl binary runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wafl ends")
    };
    let out = run(
        &["fmt", "-"],
        "stage a {\r\notherwise {   ignore }\r\n}\r\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stage a {\r\n  otherwise { ignore }\r\n}\r\n"
    );
    // Formatted input is echoed unchanged; `--check` says whether it would change.
    let tidy = "stage a {\n  otherwise { ignore }\n}\n";
    let out = run(&["fmt", "-"], tidy);
    assert_eq!(String::from_utf8_lossy(&out.stdout), tidy);
    assert_eq!(run(&["fmt", "--check", "-"], tidy).status.code(), Some(0));
    let out = run(
        &["fmt", "--check", "-"],
        "stage a { otherwise {   ignore } }\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "<stdin>");
    // Syntax errors: reported on stderr against `<stdin>`, nothing on stdout, exit 2.
    let out = run(&["fmt", "-"], "stage a {\n  otherwise { reply \"x }\n}\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>"));
}
