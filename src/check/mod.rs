//! Stage 2 of the pipeline: names, types and the flow-level analyses that make a script
//! safe to run (reachability, totality, shadowing, definite assignment, the 24-hour
//! window, WhatsApp limits).
//!
//! **Invariant:** checking never fails: it returns the symbol table plus diagnostics,
//! whatever the tree looks like, and never panics.

pub mod flows;
pub mod knowledge;
pub mod refs;
pub mod symbols;

mod assign;
mod events;
mod graph;
mod intents;
mod limits;
mod names;
mod shadow;
mod shape;
mod sla;
#[cfg(test)]
mod testkit;
mod totality;
mod types;
mod values;
pub mod walk;
mod window;

use crate::diag::{self, Diagnostic};
use crate::syntax::ast;
pub use symbols::{DeclKind, FieldInfo, Symbols};

/// What the checker knows about a script.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub symbols: Symbols,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Shared state of one checker run.
pub(crate) struct Cx<'a> {
    pub file: &'a ast::File,
    /// The files the script refers to, as the front read them.
    pub res: &'a knowledge::Resources,
    pub syms: &'a Symbols,
    pub diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

/// Checks a parsed file. The passes are independent; each reports what it finds.
pub fn check(file: &ast::File) -> Checked {
    check_with(file, &knowledge::Resources::default())
}

/// Checks a parsed file with the contents of the files it refers to (knowledge bases).
pub fn check_with(file: &ast::File, res: &knowledge::Resources) -> Checked {
    let mut diagnostics = Vec::new();
    let symbols = symbols::collect(file, &mut diagnostics);
    let mut cx = Cx {
        file,
        res,
        syms: &symbols,
        diags: diagnostics,
    };
    names::run(&mut cx);
    types::run(&mut cx);
    values::run(&mut cx);
    limits::run(&mut cx);
    flows::run(&mut cx);
    shape::run(&mut cx);
    totality::run(&mut cx);
    shadow::run(&mut cx);
    assign::run(&mut cx);
    window::run(&mut cx);
    intents::run(&mut cx);
    events::run(&mut cx);
    sla::run(&mut cx);
    let mut diagnostics = cx.diags;
    diag::sort(&mut diagnostics);
    diagnostics.dedup();
    Checked {
        symbols,
        diagnostics,
    }
}
