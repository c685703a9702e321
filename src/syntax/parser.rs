//! The pest-driven parser with block-level recovery.
//!
//! pest stops at the first error, so the file is never handed to it whole. A scanner
//! ([`scan`]) first cuts the source into top-level declarations by balanced braces and
//! reports lexical problems (unterminated strings, unbalanced braces, nesting too deep).
//! Each declaration is parsed alone; when a `stage`, `anywhere` or `test` block fails,
//! its head and each of its handlers or steps are parsed alone, so every broken handler
//! gets its own diagnostic and the good ones stay in the tree. Pieces are parsed as
//! substrings and their spans shifted by the piece's offset. No pest type leaves this
//! module.

mod build;
mod scan;
mod sla;

use super::Parsed;
use super::ast::{AnywhereDecl, File, Handler, Item, StageDecl, TestDecl, TestStep};
use super::span::{FileId, Span};
use super::vocab;
use crate::diag::{Diagnostic, codes, did_you_mean};
use build::Builder;
use pest::Parser as _;
use pest::error::{Error, ErrorVariant, InputLocation};
use scan::{LexProblem, Piece, Scanned, TokKind};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/wafl.pest"]
struct WaflParser;

/// What was being parsed when pest failed: decides how "the end" is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Item,
    Head,
    Handler,
    Step,
    Interpolation,
}

/// Shared state of one parse: the file, its full text, and the diagnostics so far.
struct Ctx<'s> {
    file: FileId,
    src: &'s str,
    diags: Vec<Diagnostic>,
}

pub(crate) fn parse_file(file: FileId, src: &str) -> Parsed {
    let mut cx = Ctx {
        file,
        src,
        diags: Vec::new(),
    };
    let mut sc = scan::scan(src);
    let pieces = scan::top_level(src, &mut sc);
    for p in &sc.problems {
        if !matches!(p, LexProblem::Unopened { .. }) {
            cx.diags.push(lex_diagnostic(file, *p));
        }
    }
    let mut items = Vec::new();
    let mut last_failed = false;
    for piece in pieces {
        match piece {
            Piece::Stray { at } => {
                // A stray `}` right after a broken block is usually that block's `{`
                // gone missing, which its own diagnostic already explains.
                if !last_failed {
                    if let Some(t) = sc.toks.get(at) {
                        cx.diags
                            .push(lex_diagnostic(file, LexProblem::Unopened { at: t.start }));
                    }
                }
            }
            Piece::Chunk { first, last } => {
                let before = cx.diags.len();
                let lexical = chunk_has_problem(&sc, first, last);
                if let Some(item) = parse_chunk(&mut cx, &sc, first, last, lexical) {
                    items.push(item);
                }
                last_failed = lexical || cx.diags.len() > before;
            }
        }
    }
    Parsed {
        file: File {
            items,
            span: Span::new(file, 0, src.len()),
        },
        diagnostics: cx.diags,
    }
}

/// Byte range of the tokens `[first, last]`.
fn range(sc: &Scanned, first: usize, last: usize) -> (usize, usize) {
    let start = sc.toks.get(first).map_or(0, |t| t.start);
    let end = sc.toks.get(last).map_or(start, |t| t.end);
    (start, end.max(start))
}

/// True when a lexical problem (already reported) lies inside the tokens.
fn chunk_has_problem(sc: &Scanned, first: usize, last: usize) -> bool {
    let (start, end) = range(sc, first, last);
    problem_in(sc, start, end)
}

fn problem_in(sc: &Scanned, start: usize, end: usize) -> bool {
    let i = sc.problems.partition_point(|p| p.pos() < start);
    sc.problems
        .get(i)
        .is_some_and(|p| p.pos() < end && !matches!(p, LexProblem::Unopened { .. }))
}

fn parse_chunk(
    cx: &mut Ctx<'_>,
    sc: &Scanned,
    first: usize,
    last: usize,
    lexical: bool,
) -> Option<Item> {
    let (start, end) = range(sc, first, last);
    let text = cx.src.get(start..end)?;
    let kind = sc.text(cx.src, first);
    let container = matches!(kind, "stage" | "anywhere" | "test");
    if !lexical {
        match WaflParser::parse(Rule::item_entry, text) {
            Ok(mut pairs) => {
                let entry = pairs.next()?;
                return Builder::new(cx, start).item_entry(entry).ok();
            }
            Err(err) => {
                if !container {
                    cx.report(&err, start, Context::Item);
                    return None;
                }
                let before = cx.diags.len();
                let item = recover(cx, sc, first, last, kind);
                if cx.diags.len() == before {
                    cx.report(&err, start, Context::Item);
                }
                return item;
            }
        }
    }
    if container {
        recover(cx, sc, first, last, kind)
    } else {
        None
    }
}

/// Parses a `stage`, `anywhere` or `test` block piece by piece: the head, then each
/// handler or step alone, keeping what parses.
fn recover(cx: &mut Ctx<'_>, sc: &Scanned, first: usize, last: usize, kind: &str) -> Option<Item> {
    let (start, end) = range(sc, first, last);
    let span = Span::new(cx.file, start, end);
    let open =
        (first..=last).find(|&i| sc.toks.get(i).is_some_and(|t| t.kind == TokKind::OpenBrace))?;
    // The head: `stage name`, `anywhere` or `test "name"`.
    let mut head_ok = false;
    let mut stage_name = None;
    let mut test_name = None;
    if open > first {
        let (hs, he) = range(sc, first, open - 1);
        if let Some(text) = cx.src.get(hs..he) {
            match WaflParser::parse(Rule::head_entry, text) {
                Ok(mut pairs) => {
                    if let Some(entry) = pairs.next() {
                        let (n, t) = Builder::new(cx, hs).head(entry);
                        stage_name = n;
                        test_name = t;
                        head_ok = true;
                    }
                }
                Err(err) => {
                    if !problem_in(sc, hs, he) {
                        cx.report(&err, hs, Context::Head);
                    }
                }
            }
        }
    }
    // The body, up to the matching `}` (or the end of the piece if it is missing).
    let close = sc
        .matching
        .get(open)
        .copied()
        .flatten()
        .filter(|&c| c <= last);
    let body_last = close.map_or(last, |c| c.saturating_sub(1));
    let is_test = kind == "test";
    let starters: &[&str] = if is_test {
        vocab::STEP_STARTS
    } else {
        vocab::HANDLER_STARTS
    };
    let mut handlers: Vec<Handler> = Vec::new();
    let mut steps: Vec<TestStep> = Vec::new();
    if body_last > open {
        for (a, b) in scan::split_statements(cx.src, sc, open + 1, body_last, starters) {
            let (s, e) = range(sc, a, b);
            if problem_in(sc, s, e) {
                continue;
            }
            let Some(text) = cx.src.get(s..e) else {
                continue;
            };
            let rule = if is_test {
                Rule::step_entry
            } else {
                Rule::handler_entry
            };
            match WaflParser::parse(rule, text) {
                Ok(mut pairs) => {
                    let Some(entry) = pairs.next() else { continue };
                    let mut b = Builder::new(cx, s);
                    if is_test {
                        if let Ok(step) = b.step_entry(entry) {
                            steps.push(step);
                        }
                    } else if let Ok(h) = b.handler_entry(entry) {
                        handlers.push(h);
                    }
                }
                Err(err) => {
                    let ctx = if is_test {
                        Context::Step
                    } else {
                        Context::Handler
                    };
                    cx.report(&err, s, ctx);
                }
            }
        }
    }
    // Anything after the closing `}` that is not a new declaration.
    if let Some(c) = close {
        if c < last {
            let (s, e) = range(sc, c + 1, last);
            if !problem_in(sc, s, e) {
                if let Some(Err(err)) = cx
                    .src
                    .get(s..e)
                    .map(|t| WaflParser::parse(Rule::item_entry, t))
                {
                    cx.report(&err, s, Context::Item);
                }
            }
        }
    }
    if !head_ok {
        return None;
    }
    match kind {
        "stage" => Some(Item::Stage(StageDecl {
            name: stage_name?,
            handlers,
            span,
        })),
        "anywhere" => Some(Item::Anywhere(AnywhereDecl { handlers, span })),
        _ => Some(Item::Test(TestDecl {
            name: test_name?,
            steps,
            span,
        })),
    }
}

fn lex_diagnostic(file: FileId, p: LexProblem) -> Diagnostic {
    match p {
        LexProblem::UnterminatedString { start, end } => Diagnostic::new(
            codes::UNTERMINATED_STRING,
            "unterminated string",
            Span::new(file, start, end),
            "this string has no closing `\"`",
        )
        .with_note("a string must end on the line where it starts")
        .with_help("add `\"` at the end of the text; write `\\n` for a line break inside it"),
        LexProblem::TooDeep { at } => build::too_deep(Span::new(file, at, at + 1)),
        LexProblem::Unclosed { at } => Diagnostic::new(
            codes::UNBALANCED,
            "unclosed `{`",
            Span::new(file, at, at + 1),
            "this `{` is never closed",
        )
        .with_note("every `{` needs a matching `}`")
        .with_help("add `}` where this block ends"),
        LexProblem::Unopened { at } => Diagnostic::new(
            codes::UNBALANCED,
            "unexpected `}`",
            Span::new(file, at, at + 1),
            "this `}` closes nothing",
        )
        .with_note("every `}` needs a matching `{` before it")
        .with_help("remove this `}`, or add the `{` it was meant to close"),
    }
}

impl Ctx<'_> {
    /// Turns a pest error on the text starting at `base` into a house-voice diagnostic.
    fn report(&mut self, err: &Error<Rule>, base: usize, ctx: Context) {
        let rel = match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let mut at = (base + rel).min(self.src.len());
        // Point at the next token, not at the whitespace before it.
        while let Some(c) = self.src.get(at..).and_then(|r| r.chars().next()) {
            if c.is_whitespace() {
                at += c.len_utf8();
            } else {
                break;
            }
        }
        let positives = match &err.variant {
            ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            ErrorVariant::CustomError { .. } => {
                // pest's own guard against deep recursion.
                self.diags
                    .push(build::too_deep(Span::new(self.file, at, at)));
                return;
            }
        };
        let (found, len) = describe_found(self.src, at);
        let span = Span::new(self.file, at, at + len);
        let mut expected: Vec<(u8, String)> = Vec::new();
        let mut keywords: Vec<&'static str> = Vec::new();
        for r in &positives {
            if let Some((rank, d)) = describe(*r, ctx) {
                if !expected.iter().any(|(_, e)| *e == d) {
                    expected.push((rank, d));
                }
            }
            keywords.extend(keywords_of(*r));
        }
        collapse_expectations(&positives, &mut expected);
        expected.sort_by_key(|(rank, _)| *rank);
        let list: Vec<String> = expected.into_iter().map(|(_, d)| d).collect();
        let (message, label) = if list.is_empty() {
            (
                format!("unexpected {found}"),
                "not expected here".to_string(),
            )
        } else {
            let joined = join_or(&list);
            let label = if list.len() == 1 {
                format!("expected {joined}")
            } else {
                "unexpected here".to_string()
            };
            (format!("expected {joined}, found {found}"), label)
        };
        let mut d = Diagnostic::new(codes::SYNTAX, message, span, label);
        if let Some(help) = habit_help(self.src, at, &list, &keywords) {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }
}

/// The words that may follow `expect`; when pest lists them one by one they are
/// replaced by one phrase.
const EXPECT_WORDS: &[&str] = &[
    "`stage`",
    "`routed`",
    "`assigned`",
    "`reply`",
    "`template`",
    "`field`",
    "`posted`",
    "`tagged`",
    "`handoff`",
    "`closed`",
    "`sent`",
    "`intent`",
    "`no`",
    "`sla`",
    "`event`",
];

fn collapse_expectations(positives: &[Rule], expected: &mut Vec<(u8, String)>) {
    if !positives
        .iter()
        .any(|r| matches!(r, Rule::kw_routed | Rule::kw_posted))
    {
        return;
    }
    const PHRASE: &str = "an expectation such as `stage`, `reply`, `field` or `sent nothing`";
    expected.retain(|(_, d)| !EXPECT_WORDS.contains(&d.as_str()) && d != PHRASE);
    expected.push((1, PHRASE.to_string()));
}

/// Joins alternatives the way people write them: "a, b or c".
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// Describes the text at `at` for "found ...", with the length to underline.
fn describe_found(src: &str, at: usize) -> (String, usize) {
    let rest = src.get(at..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        return (format!("`{}`", &rest[..len]), len);
    }
    if c == '"' {
        return ("a string".to_string(), 1);
    }
    for op in ["==", "!=", "<=", ">=", "&&", "||"] {
        if rest.starts_with(op) {
            return (format!("`{op}`"), 2);
        }
    }
    if c.is_control() {
        return (format!("the character {:?}", c), c.len_utf8());
    }
    if c == '`' {
        return ("a backtick".to_string(), 1);
    }
    (format!("`{c}`"), c.len_utf8())
}

const ACTIONS: &str = "an action such as `reply`, `goto` or `close`";
const HANDLERS: &str = "a handler such as `on message`, `after 10m silence` or `otherwise`";
const DECLS: &str = "a declaration such as `flow`, `stage` or `field`";
const STEPS: &str = "a test step such as `send`, `tap` or `expect`";
const EXPR: &str = "an expression";
const OPERATOR: &str = "an operator";

/// Words that rules stand for, for "did you mean".
fn keywords_of(r: Rule) -> Vec<&'static str> {
    match r {
        Rule::action => vocab::ACTION_STARTS.to_vec(),
        Rule::handler | Rule::handler_entry => vocab::HANDLER_STARTS.to_vec(),
        Rule::item_entry => vocab::DECLARATIONS.to_vec(),
        Rule::test_step | Rule::step_entry => vocab::STEP_STARTS.to_vec(),
        Rule::tr_enter => vec!["enter"],
        Rule::tr_message => vec!["message"],
        Rule::tr_keyword => vec!["keyword"],
        Rule::tr_regex => vec!["regex"],
        Rule::tr_button => vec!["button"],
        Rule::tr_choice => vec!["choice"],
        Rule::tr_form => vec!["form"],
        Rule::tr_event => vec!["event"],
        Rule::field_type | Rule::input_type => {
            vec![
                "text", "number", "email", "phone", "date", "choice", "yesno",
            ]
        }
        _ => {
            let name = format!("{r:?}");
            match name.strip_prefix("kw_") {
                Some(kw) => vocab::KEYWORDS
                    .iter()
                    .map(|k| k.word)
                    .filter(|k| *k == kw)
                    .collect(),
                None => Vec::new(),
            }
        }
    }
}

/// What a rule means to a user, with a rank that orders the alternatives (single tokens
/// first, broad categories after, the end last). `None` for rules not worth naming.
fn describe(r: Rule, ctx: Context) -> Option<(u8, String)> {
    let s = |t: &str| Some((0u8, t.to_string()));
    let broad = |t: &str| Some((1u8, t.to_string()));
    match r {
        Rule::EOI => Some((
            2,
            match ctx {
                Context::Item => "the end of the declaration",
                Context::Head => "`{`",
                Context::Handler => "the end of the handler",
                Context::Step => "the end of the step",
                Context::Interpolation => "`}`",
            }
            .to_string(),
        )),
        Rule::semi | Rule::WHITESPACE | Rule::COMMENT => None,
        Rule::item_entry
        | Rule::flow_decl
        | Rule::hours_decl
        | Rule::team_decl
        | Rule::field_decl
        | Rule::template_decl
        | Rule::webhook_decl
        | Rule::form_decl
        | Rule::intent_decl
        | Rule::knowledge_decl
        | Rule::ai_decl
        | Rule::event_decl
        | Rule::stage_decl
        | Rule::anywhere_decl
        | Rule::migrate_decl
        | Rule::test_decl
        | Rule::sla_decl => broad(DECLS),
        Rule::head_entry => broad("`stage`, `anywhere` or `test`"),
        Rule::handler
        | Rule::handler_entry
        | Rule::when_trigger
        | Rule::on_trigger
        | Rule::after_trigger
        | Rule::otherwise_trigger => broad(HANDLERS),
        Rule::action
        | Rule::a_reply
        | Rule::a_send
        | Rule::a_ask
        | Rule::a_set
        | Rule::a_tag
        | Rule::a_untag
        | Rule::a_route
        | Rule::a_assign
        | Rule::a_priority
        | Rule::a_handoff
        | Rule::a_post
        | Rule::a_call
        | Rule::a_answer
        | Rule::a_classify
        | Rule::a_goto
        | Rule::a_close
        | Rule::a_ignore
        | Rule::a_if => broad(ACTIONS),
        Rule::test_step
        | Rule::step_entry
        | Rule::st_contact
        | Rule::st_send
        | Rule::st_tap
        | Rule::st_choose
        | Rule::st_submit
        | Rule::st_event
        | Rule::st_respond
        | Rule::st_advance
        | Rule::st_clock
        | Rule::st_expect
        | Rule::st_agent => broad(STEPS),
        Rule::ex_stage
        | Rule::ex_routed
        | Rule::ex_assigned
        | Rule::ex_reply
        | Rule::ex_template
        | Rule::ex_field
        | Rule::ex_posted
        | Rule::ex_tagged
        | Rule::ex_handoff
        | Rule::ex_closed
        | Rule::ex_sent_nothing
        | Rule::ex_intent
        | Rule::ex_sla
        | Rule::ex_event => {
            broad("an expectation such as `stage`, `reply`, `field` or `sent nothing`")
        }
        Rule::expr
        | Rule::expr_entry
        | Rule::op_not
        | Rule::op_neg
        | Rule::lit_true
        | Rule::lit_false
        | Rule::lit_today
        | Rule::lit_now
        | Rule::in_hours
        | Rule::paren
        | Rule::list
        | Rule::path
        | Rule::path_head => broad(EXPR),
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_contains
        | Rule::op_in
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::pf_has_tag
        | Rule::pf_is_set
        | Rule::pf_matches
        | Rule::kw_has
        | Rule::kw_is
        | Rule::kw_matches => broad(OPERATOR),
        Rule::path_seg => s("a name after `.`"),
        Rule::lbrace | Rule::block | Rule::object => s("`{`"),
        Rule::rbrace => s("`}`"),
        Rule::lparen | Rule::template_args => s("`(`"),
        Rule::rparen => s("`)`"),
        Rule::lbrack => s("`[`"),
        Rule::rbrack => s("`]`"),
        Rule::string_array => broad("a list such as `[\"A\", \"B\"]`"),
        Rule::comma => s("`,`"),
        Rule::colon => s("`:`"),
        Rule::assign_op => s("`=`"),
        Rule::dash => s("`-`"),
        Rule::string
        | Rule::string_body
        | Rule::string_list
        | Rule::input_label
        | Rule::msg_text => s("a string"),
        Rule::regex | Rule::regex_body => s("a regular expression such as `/[0-9]+/`"),
        Rule::date => s("a date such as `2026-12-25`"),
        Rule::clock => s("a time such as `09:00`"),
        Rule::duration => s("a duration such as `10m`"),
        Rule::number => s("a number"),
        Rule::stage_name => s("a stage name"),
        Rule::team_name => s("a team name"),
        Rule::field_name => s("a field name"),
        Rule::template_name => s("a template name"),
        Rule::webhook_name => s("a webhook name"),
        Rule::form_name => s("a form name"),
        Rule::hours_name => s("the name of an `hours` declaration"),
        Rule::event_name => s("an event name"),
        Rule::event_key => broad("a payload key such as `order: text`"),
        Rule::migrate_rule => {
            broad("a rule such as `stage old goto new`, `stage old keep` or `otherwise close`")
        }
        Rule::mig_goto | Rule::mig_keep | Rule::mig_close => {
            broad("`goto STAGE`, `keep` or `close`")
        }
        Rule::optout_clause => s("`optout`"),
        Rule::key_name => s("a key"),
        Rule::param_name => s("a parameter name"),
        Rule::intent_name => s("an intent name"),
        Rule::knowledge_name => s("a knowledge base name"),
        Rule::ai_name => s("the name of an `ai` endpoint"),
        Rule::intent_examples => s("`examples`"),
        Rule::intents_threshold => s("`threshold`"),
        Rule::intents_margin => s("`margin`"),
        Rule::ai_model | Rule::ai_key | Rule::ai_retry => {
            broad("an ai setting such as `model`, `key`, `timeout` or `retry`")
        }
        Rule::tr_intent => s("`intent`"),
        Rule::obj_entry => broad("an entry such as `key: value`"),
        Rule::weekday | Rule::day_spec => s("a weekday such as `mon`"),
        Rule::priority_level => s("a priority: `low`, `normal`, `high` or `urgent`"),
        Rule::media_kind | Rule::send_media => s("a message type such as `image`"),
        Rule::set_timezone
        | Rule::set_start
        | Rule::set_optout
        | Rule::set_optin
        | Rule::set_window
        | Rule::set_budget
        | Rule::set_intents => broad("a flow setting such as `timezone`, `start` or `optout`"),
        Rule::hours_timezone | Rule::hours_closed | Rule::hours_rule => {
            broad("a line such as `mon-fri 09:00-18:00` or `closed 2026-12-25`")
        }
        Rule::team_agents => s("`agents`"),
        Rule::team_hours => s("`hours`"),
        Rule::field_type
        | Rule::input_type
        | Rule::ty_text
        | Rule::ty_number
        | Rule::ty_email
        | Rule::ty_phone
        | Rule::ty_date
        | Rule::ty_choice
        | Rule::ty_yesno
        | Rule::in_text
        | Rule::in_number
        | Rule::in_email
        | Rule::in_phone
        | Rule::in_date
        | Rule::in_choice
        | Rule::in_yesno => broad("a field type such as `text`, `number`, `date` or `choice`"),
        Rule::text_matching => s("`matching`"),
        Rule::text_length => s("`length`"),
        Rule::num_between => s("`between`"),
        Rule::date_after => s("`after`"),
        Rule::date_before => s("`before`"),
        Rule::date_bound => s("`today` or a date"),
        Rule::field_invalid => s("`invalid`"),
        Rule::template_params => s("`with`"),
        Rule::wh_secret | Rule::wh_retry | Rule::wh_timeout => {
            broad("a webhook setting such as `secret`, `retry` or `timeout`")
        }
        Rule::env_ref => s("`env(\"NAME\")`"),
        Rule::screen => s("`screen`"),
        Rule::form_input => broad("a form input such as `name: text \"Your name\"`"),
        Rule::guard => s("`when`"),
        Rule::tr_enter => s("`enter`"),
        Rule::tr_message => s("`message`"),
        Rule::tr_keyword => s("`keyword`"),
        Rule::tr_regex => s("`regex`"),
        Rule::tr_button => s("`button`"),
        Rule::tr_choice => s("`choice`"),
        Rule::tr_form => s("`form`"),
        Rule::tr_event => s("`event`"),
        Rule::message
        | Rule::msg_buttons
        | Rule::msg_list
        | Rule::msg_template
        | Rule::msg_form => broad("a message: a string, `buttons`, `list`, `template` or `form`"),
        Rule::else_clause | Rule::else_if | Rule::else_block => s("`else`"),
        Rule::call_save => s("`save`"),
        Rule::contact_named => s("`named`"),
        Rule::contact_tagged => s("`tagged`"),
        other => {
            let name = format!("{other:?}");
            name.strip_prefix("kw_").map(|kw| (0, format!("`{kw}`")))
        }
    }
}

/// Help for habits brought from other languages, or a likely misspelt keyword.
fn habit_help(
    src: &str,
    at: usize,
    expected: &[String],
    keywords: &[&'static str],
) -> Option<String> {
    let rest = src.get(at..).unwrap_or("");
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some(
            "to compare two values write `==`; a single `=` only assigns, as in `set field = value`"
                .to_string(),
        );
    }
    if rest.starts_with("==") && expected.iter().any(|e| e == "`=`") {
        return Some("`set` assigns with a single `=`: `set field = value`".to_string());
    }
    if rest.starts_with('\'') {
        return Some("strings are written in double quotes: \"like this\"".to_string());
    }
    if rest.starts_with('#') {
        return Some("comments start with `//`".to_string());
    }
    if rest.starts_with("&&") {
        return Some("write `and` to require both conditions".to_string());
    }
    if rest.starts_with("||") {
        return Some("write `or` for either condition".to_string());
    }
    if rest.starts_with('!') && !rest.starts_with("!=") {
        return Some("write `not` to negate a condition".to_string());
    }
    let word_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let word = &rest[..word_len];
    if word == "elif" || word == "elsif" || word == "elseif" {
        return Some("write `else if`".to_string());
    }
    if word == "else" && expected.iter().any(|e| e == ACTIONS) {
        return Some(
            "`else` belongs right after the `}` of an `if`, or after `ask` and `call`".to_string(),
        );
    }
    if !word.is_empty() {
        if let Some(k) = did_you_mean(word, keywords.iter().copied()) {
            if k != word {
                return Some(format!("did you mean `{k}`?"));
            }
        }
    }
    if expected.first().is_some_and(|e| e == "`{`") {
        return Some("add `{` here: blocks are written in braces".to_string());
    }
    None
}
