//! Stage 1 of the pipeline: text to syntax tree. The pest grammar lives in
//! `grammar/wafl.pest`; no pest type leaves this module. The logos lexer in [`lexer`]
//! serves token-level tools (highlighting, semantic tokens).
//!
//! **Invariant:** parsing never fails: it returns the tree it could build plus
//! diagnostics, recovering at block granularity.

pub mod ast;
pub mod lexer;
mod parser;
pub mod source;
pub mod span;
pub mod vocab;

use crate::diag::Diagnostic;
use span::FileId;

/// The result of parsing one file.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub file: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole `.flow` file. Never panics, never fails.
pub fn parse(file: FileId, src: &str) -> Parsed {
    parser::parse_file(file, src)
}
