//! Hygiene written as code: the pure core does no I/O, pest stays inside `src/syntax`,
//! and every module says what it is for.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Lines of code without `//` comments, so prose may name what code may not use.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("")))
}

#[test]
fn pure_core_does_no_io() {
    const PURE: &[&str] = &[
        "src/syntax",
        "src/check",
        "src/classify",
        "src/compile",
        "src/engine",
        "src/diag",
        "src/graph",
        "src/fmt",
        "src/publish",
        "src/measure",
    ];
    const FORBIDDEN: &[&str] = &[
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::thread",
        "tokio",
        "reqwest",
        "axum",
        "rusqlite",
        "rustyline",
        "lsp_types",
        "SystemTime",
        "Instant::now",
        "Timestamp::now",
        "Zoned::now",
        "rand::",
        "println!",
        "eprintln!",
    ];
    let mut problems = Vec::new();
    for dir in PURE {
        for file in rust_files(Path::new(dir)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in code_lines(&text) {
                for f in FORBIDDEN {
                    if line.contains(f) {
                        problems.push(format!("{}:{n}: uses `{f}`", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "I/O in the pure core:\n{}",
        problems.join("\n")
    );
}

#[test]
fn pest_stays_in_syntax() {
    let mut problems = Vec::new();
    for file in rust_files(Path::new("src")) {
        if file.starts_with("src/syntax") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in code_lines(&text) {
            if line.contains("pest::") || line.contains("pest_derive") {
                problems.push(format!("{}:{n}", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "pest used outside src/syntax:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_module_says_its_job() {
    let missing: Vec<_> = rust_files(Path::new("src"))
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` line: {missing:?}"
    );
}

#[test]
fn no_debug_leftovers() {
    let mut problems = Vec::new();
    for file in rust_files(Path::new("src")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in code_lines(&text) {
            for f in ["dbg!(", "todo!(", "unimplemented!("] {
                if line.contains(f) {
                    problems.push(format!("{}:{n}: {f}", file.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether a `-sys` crate with these features builds its own C (or links nothing), so that
/// a Rust toolchain is all the build needs. `.ci/run` holds the same rule.
fn builds_its_own(name: &str, features: &str) -> bool {
    match name {
        // AWS-LC, built from the crate's own source with cc (no cmake needed).
        "aws-lc-sys" => true,
        // Linux syscall numbers and types; links nothing.
        "linux-raw-sys" => true,
        // Only with the bundled SQLite, built with cc.
        "libsqlite3-sys" => features.contains("bundled"),
        _ => false,
    }
}

#[test]
fn no_system_library_in_the_build() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "-e",
            "normal,build,dev",
            "--prefix",
            "none",
            "--format",
            "{p} [{f}]",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("utf8");
    let mut names = 0;
    let mut bad = Vec::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(_version), Some(features)) =
            (words.next(), words.next(), words.next())
        else {
            continue;
        };
        names += 1;
        let is_sys = name.ends_with("-sys");
        if name.starts_with("openssl") || (is_sys && !builds_its_own(name, features)) {
            bad.push(format!("{name} {features}"));
        }
    }
    assert!(names > 50, "cargo tree listed too little:\n{tree}");
    assert!(
        tree.lines().any(|l| l.starts_with("aws-lc-sys ")),
        "the Flows endpoint's RSA is expected from aws-lc-sys"
    );
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "these crates link a system library; use a crate that builds its own (or a bundled \
         feature), or add it to builds_its_own with the reason: {bad:?}"
    );
}

#[test]
fn the_sys_crate_rule_names_what_links_a_system_library() {
    assert!(!builds_its_own("openssl-sys", "[]"));
    assert!(!builds_its_own("libsqlite3-sys", "[pkg-config,vcpkg]"));
    assert!(builds_its_own("libsqlite3-sys", "[bundled,pkg-config]"));
    assert!(builds_its_own("aws-lc-sys", "[]"));
}
