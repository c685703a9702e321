//! The script the daemon runs. In development that is the file given to `wafl run`,
//! reloaded when it changes. Once a script is published (`wafl publish`), the database's
//! active revision is what runs: every daemon on the database starts on it and follows
//! when it changes, whatever file it was started with, so several instances always run
//! the same version.
//!
//! Publishing is checked here before anything is stored: the script must check clean,
//! and every open card must be taken over by the new revision as it is
//! (`crate::publish::migrate`), with the same rule a reload applies.

use super::Loaded;
use super::store::{Revision, Store, StoredConversation};
use crate::compile::{self, Program};
use crate::diag::Severity;
use crate::publish::migrate::{self, CardSummary, Outcome, Plan};
use std::collections::BTreeMap;
use std::path::Path;

/// Checks and compiles a script's text; `name` locates the files it refers to (relative
/// to its folder) and names it in diagnostics. `Err` carries rendered diagnostics.
pub fn load_source(name: &Path, source: String) -> Result<Loaded, String> {
    let mut session = crate::session::Session::with_files();
    let id = session.add(name.display().to_string(), source.clone());
    let analysis = session.analysis(id).ok_or("internal: analysis missing")?;
    if analysis.has_errors() {
        return Err(session.render(id));
    }
    let program = compile::compile_with(
        &analysis.parsed.file,
        &analysis.checked.symbols,
        &analysis.resources,
    );
    Ok(Loaded {
        program,
        // The same hash `wafl build` stamps into the bundle.
        hash: compile::bundle::content_hash(&source),
        path: name.to_path_buf(),
        source,
    })
}

/// A script checked for publishing: the compiled script, what the checker said in one
/// line, and its rendered warnings (empty when clean).
pub struct Checked {
    pub loaded: Loaded,
    pub summary: String,
    pub warnings: String,
}

/// Checks a script file for publishing. `Err` carries the rendered errors.
pub fn check_file(path: &Path) -> Result<Checked, String> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut session = crate::session::Session::with_files();
    let id = session.add(path.display().to_string(), source.clone());
    let analysis = session.analysis(id).ok_or("internal: analysis missing")?;
    let warnings = analysis
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Error)
        .count();
    let rendered = session.render(id);
    let loaded = load_source(path, source)?;
    Ok(Checked {
        loaded,
        summary: match warnings {
            0 => "clean".to_string(),
            1 => "1 warning".to_string(),
            n => format!("{n} warnings"),
        },
        warnings: if warnings == 0 {
            String::new()
        } else {
            rendered
        },
    })
}

/// What making `new` the active script would do to the open cards.
#[derive(Debug, Default)]
pub struct PublishCheck {
    /// Verdicts on the cards whose program is a stored revision (or the new one).
    pub plan: Plan,
    /// Cards made by a program no revision holds (run from a file before anything was
    /// published): checked by stable names only, one line per problem.
    pub by_name: Vec<String>,
    /// Open cards per program hash.
    pub open: BTreeMap<String, usize>,
}

impl PublishCheck {
    /// Every open card can go on under the new script as it is.
    pub fn takes_over_everything(&self) -> bool {
        self.by_name.is_empty()
            && self
                .plan
                .verdicts
                .iter()
                .all(|v| v.outcome == Outcome::TakenOver)
    }

    /// A report for people.
    pub fn render(&self) -> String {
        let mut out = self.plan.render();
        let ruled = self
            .plan
            .verdicts
            .iter()
            .any(|v| matches!(v.outcome, Outcome::Rule { .. }));
        if ruled {
            out.push_str(
                "these cards need their `migrate` rule applied; this version of wafl publishes only revisions that take every open card over as it is: let those cards close first, or keep their stage and handlers unchanged\n",
            );
        }
        for line in &self.by_name {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Compares `new` with the program each open card runs on. Blocking (store reads).
pub fn publish_check(store: &dyn Store, new: &Loaded) -> Result<PublishCheck, String> {
    let revisions = store.revisions().map_err(|e| e.to_string())?;
    let open: Vec<StoredConversation> = store
        .conversations(None)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|c| c.stage.is_some())
        .collect();
    let mut check = PublishCheck::default();
    let mut programs: BTreeMap<String, Option<Program>> = BTreeMap::new();
    programs.insert(new.hash.clone(), Some(new.program.clone()));
    let mut cards: BTreeMap<String, Vec<CardSummary>> = BTreeMap::new();
    for c in &open {
        let hash = c.body.program.clone();
        *check.open.entry(hash.clone()).or_default() += 1;
        let program = programs.entry(hash.clone()).or_insert_with(|| {
            revisions
                .iter()
                .find(|r| r.hash == hash)
                .and_then(|r| load_source(Path::new(&r.name), r.source.clone()).ok())
                .map(|l| l.program)
        });
        match program {
            Some(old) => match c.body.decode(old) {
                Ok(state) => {
                    if let Some(summary) = CardSummary::of(&state, old) {
                        cards.entry(hash).or_default().push(summary);
                    }
                }
                Err(e) => check.by_name.push(format!(
                    "  the card of {} cannot be read under its own revision: {e}",
                    c.contact
                )),
            },
            None => check.by_name.extend(by_name(c, &new.program)),
        }
    }
    for (hash, summaries) in &cards {
        if let Some(Some(old)) = programs.get(hash) {
            let plan = migrate::plan(old, &new.program, summaries);
            check.plan.verdicts.extend(plan.verdicts);
        }
    }
    Ok(check)
}

/// The checks a reload makes, for a card whose program is not stored: its stage exists,
/// and the handler it waits in is there with the same code.
fn by_name(c: &StoredConversation, new: &Program) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(stage) = &c.stage
        && !new.stage_ids.contains_key(stage)
    {
        out.push(format!(
            "  the card of {} is in stage `{stage}`, which the new script removes",
            c.contact
        ));
    }
    if let Some(w) = c.body.waiting()
        && let Err(e) = w.resolve(new)
    {
        out.push(format!(
            "  the card of {} waits in `{}`: {e}",
            c.contact, w.key
        ));
    }
    out
}

/// The revision `wafl rollback` goes back to by default: the newest one older than the
/// active one.
pub fn previous(revisions: &[Revision]) -> Option<&Revision> {
    let active = revisions.iter().find(|r| r.active)?;
    revisions
        .iter()
        .filter(|r| r.id < active.id)
        .max_by_key(|r| r.id)
}
