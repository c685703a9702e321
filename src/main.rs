//! The `wafl` binary: a thin shell over [`wafl::cli`].

fn main() -> std::process::ExitCode {
    wafl::cli::main()
}
