//! The request handlers: hover, definition, references, rename, completion, document
//! symbols, semantic tokens, formatting and code actions. Each reads the session's
//! results for one document; none checks anything itself.

use super::server::{State, View};
use super::tokens;
use crate::check::DeclKind;
use crate::check::refs::{Occurrence, Role};
use crate::diag::{self, codes};
use crate::syntax::ast::{self, Item};
use crate::syntax::vocab;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    DocumentFormattingParams, DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse,
    GotoDefinitionParams, GotoDefinitionResponse, Hover, HoverContents, HoverParams,
    InsertTextFormat, Location, MarkupContent, MarkupKind, PrepareRenameResponse, Range,
    ReferenceParams, RenameParams, SemanticTokens, SemanticTokensParams, SemanticTokensResult,
    SymbolKind, TextDocumentPositionParams, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;

fn offset_of(view: &View<'_>, p: &TextDocumentPositionParams) -> usize {
    view.doc.index.offset(p.position)
}

fn occurrence<'a>(view: &'a View<'_>, offset: usize) -> Option<&'a Occurrence> {
    view.doc.refs.at(offset)
}

fn location(view: &View<'_>, o: &Occurrence) -> Location {
    Location::new(view.uri.clone(), view.doc.index.range(o.span.range()))
}

// --- hover ------------------------------------------------------------------------------

pub(super) fn hover(state: &State, p: HoverParams) -> Result<Option<Hover>, String> {
    let pos = &p.text_document_position_params;
    let view = state.get(&pos.text_document.uri)?;
    let offset = offset_of(&view, pos);
    let (text, range) = if let Some(o) = occurrence(&view, offset) {
        (hover_name(&view, o), o.span.range())
    } else {
        let Some((word, range)) = word_at(view.text(), offset) else {
            return Ok(None);
        };
        match vocab::doc(word) {
            Some(doc) => (doc.to_owned(), range),
            None => return Ok(None),
        }
    };
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(view.doc.index.range(range)),
    }))
}

/// The identifier around an offset, with its byte range.
fn word_at(text: &str, offset: usize) -> Option<(&str, std::ops::Range<usize>)> {
    let offset = crate::syntax::source::clamp_to_char_boundary(text, offset);
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let start = text
        .get(..offset)?
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text
        .get(offset..)?
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| offset + i);
    let word = text.get(start..end)?;
    (!word.is_empty()).then_some((word, start..end))
}

/// The source text of a span, as a fenced code block.
fn code(text: &str, span: crate::syntax::span::Span) -> String {
    let body = text.get(span.range()).unwrap_or("");
    format!("```wafl\n{}\n```", body.trim_end())
}

fn item_of<'a>(file: &'a ast::File, kind: DeclKind, name: &str) -> Option<&'a Item> {
    file.items.iter().find(|i| match (kind, i) {
        (DeclKind::Stage, Item::Stage(d)) => d.name.name == name,
        (DeclKind::Team, Item::Team(d)) => d.name.name == name,
        (DeclKind::Template, Item::Template(d)) => d.name.name == name,
        (DeclKind::Webhook, Item::Webhook(d)) => d.name.name == name,
        (DeclKind::Form, Item::Form(d)) => d.name.name == name,
        (DeclKind::Hours, Item::Hours(d)) => d.name.name == name,
        (DeclKind::Sla, Item::Sla(d)) => d.name.name == name,
        (DeclKind::Field, Item::Field(d)) => d.name.name == name,
        (DeclKind::Event, Item::Event(d)) => d.name.name == name,
        _ => false,
    })
}

fn hover_name(view: &View<'_>, o: &Occurrence) -> String {
    let file = &view.analysis.parsed.file;
    let text = view.text();
    let syms = &view.analysis.checked.symbols;
    let title = format!("{} `{}`", o.kind.noun(), o.name);
    let Some(item) = item_of(file, o.kind, &o.name) else {
        if o.kind == DeclKind::Field
            && let Some(info) = syms.fields.get(&o.name)
        {
            // A field declared by a form input.
            let from = info.form.as_deref().unwrap_or("a form");
            let decl = text
                .get(info.span.start as usize..)
                .and_then(|s| s.lines().next())
                .unwrap_or("");
            return format!(
                "{title}, an input of form `{from}`\n\n```wafl\n{}\n```",
                decl.trim()
            );
        }
        return format!("{title} is not declared");
    };
    match item {
        Item::Stage(s) => {
            let mut out = format!("{title}\n\n**Handlers**\n");
            for h in &s.handlers {
                let head = text.get(h.trigger.span.range()).unwrap_or("");
                let guard = h
                    .guard
                    .as_ref()
                    .filter(|_| h.trigger.kind != ast::TriggerKind::When)
                    .and_then(|g| text.get(g.span.range()))
                    .map(|g| format!(" when {g}"))
                    .unwrap_or_default();
                out.push_str(&format!("- `{}{guard}`\n", head.trim()));
            }
            if s.handlers.is_empty() {
                out.push_str("- none\n");
            }
            out.push_str("\n**Reached from**\n");
            let mut any = false;
            if syms.start_stage(file) == Some(o.name.as_str()) {
                out.push_str("- the start of every conversation\n");
                any = true;
            }
            let mut seen: Vec<String> = Vec::new();
            for u in view.doc.refs.uses(DeclKind::Stage, &o.name) {
                if u.via != "goto" {
                    continue;
                }
                let from = match &u.stage {
                    Some(st) => format!("stage `{st}`"),
                    None => "`anywhere`".to_owned(),
                };
                if !seen.contains(&from) {
                    out.push_str(&format!("- `goto` in {from}\n"));
                    seen.push(from);
                    any = true;
                }
            }
            if !any {
                out.push_str("- nowhere\n");
            }
            out
        }
        Item::Team(t) => {
            let agents: Vec<String> = t.agents.iter().map(|a| format!("- {}", a.value)).collect();
            let mut out = format!("{title}\n\n**Agents**\n{}\n", agents.join("\n"));
            if let Some(h) = &t.hours {
                out.push_str(&format!("\nWorks during hours `{}`.\n", h.name));
            }
            out
        }
        Item::Field(f) => format!("{title}\n\n{}", code(text, f.span)),
        other => format!("{title}\n\n{}", code(text, other.span())),
    }
}

// --- definition and references ----------------------------------------------------------

pub(super) fn definition(
    state: &State,
    p: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>, String> {
    let pos = &p.text_document_position_params;
    let view = state.get(&pos.text_document.uri)?;
    let Some(o) = occurrence(&view, offset_of(&view, pos)) else {
        return Ok(None);
    };
    Ok(view
        .doc
        .refs
        .declaration(o.kind, &o.name)
        .map(|d| GotoDefinitionResponse::Scalar(location(&view, d))))
}

pub(super) fn references(
    state: &State,
    p: ReferenceParams,
) -> Result<Option<Vec<Location>>, String> {
    let pos = &p.text_document_position;
    let view = state.get(&pos.text_document.uri)?;
    let Some(o) = occurrence(&view, offset_of(&view, pos)) else {
        return Ok(None);
    };
    let with_decl = p.context.include_declaration;
    Ok(Some(
        view.doc
            .refs
            .all_of(o.kind, &o.name)
            .filter(|x| with_decl || x.role == Role::Ref)
            .map(|x| location(&view, x))
            .collect(),
    ))
}

// --- rename -----------------------------------------------------------------------------

/// Why a rename cannot be complete now: the parser dropped text it could not read, and
/// uses of the name there would keep the old name.
fn rename_blocked(view: &View) -> Option<String> {
    let d = view.analysis.parsed.diagnostics.iter().find(|d| {
        d.is_error()
            && [
                codes::SYNTAX,
                codes::UNTERMINATED_STRING,
                codes::TOO_DEEP,
                codes::UNBALANCED,
            ]
            .contains(&d.code)
    })?;
    let line = view.doc.index.position(d.primary.span.start as usize).line + 1;
    Some(format!(
        "cannot rename while the file has a syntax error (line {line}: {}): the parser \
         skipped text there, and uses of the name in it would keep the old name; fix the \
         error, then rename",
        d.message
    ))
}

pub(super) fn prepare_rename(
    state: &State,
    p: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>, String> {
    let view = state.get(&p.text_document.uri)?;
    if let Some(why) = rename_blocked(&view) {
        return Err(why);
    }
    Ok(occurrence(&view, offset_of(&view, &p))
        .map(|o| PrepareRenameResponse::Range(view.doc.index.range(o.span.range()))))
}

const RESERVED: &[&str] = &[
    "and", "or", "not", "true", "false", "today", "now", "contact", "card", "message",
];

pub(super) fn rename(state: &State, p: RenameParams) -> Result<Option<WorkspaceEdit>, String> {
    let pos = &p.text_document_position;
    let view = state.get(&pos.text_document.uri)?;
    if let Some(why) = rename_blocked(&view) {
        return Err(why);
    }
    let Some(o) = occurrence(&view, offset_of(&view, pos)) else {
        return Ok(None);
    };
    let new = p.new_name.trim();
    let valid = new
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || RESERVED.contains(&new) {
        return Err(format!("`{new}` is not a valid {} name", o.kind.noun()));
    }
    if new != o.name && view.analysis.checked.symbols.has(o.kind, new) {
        return Err(format!("a {} named `{new}` already exists", o.kind.noun()));
    }
    let edits: Vec<TextEdit> = view
        .doc
        .refs
        .all_of(o.kind, &o.name)
        .map(|x| TextEdit::new(view.doc.index.range(x.span.range()), new.to_owned()))
        .collect();
    Ok(Some(workspace_edit(view.uri, edits)))
}

// lsp-types keys edits by `Uri`, which clippy flags for its interior caching; the key is
// never mutated here.
#[allow(clippy::mutable_key_type)]
fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    WorkspaceEdit::new(changes)
}

// --- completion -------------------------------------------------------------------------

/// Where the cursor is, from the braces around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Top,
    Flow,
    Hours,
    Team,
    Webhook,
    Form,
    Handlers,
    Actions,
    Steps,
    Object,
}

/// Scans the text before the cursor, skipping strings and comments, and keeps a stack of
/// the first word of each statement that opened a `{`. Works on broken text.
fn context(before: &str) -> (Context, Vec<String>) {
    let mut stack: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = before.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' => {
                stack.push(words.first().cloned().unwrap_or_default());
                words.clear();
            }
            '}' => {
                stack.pop();
                words.clear();
            }
            ';' | '\n' => words.clear(),
            _ => {}
        }
    }
    let ctx = match stack.last().map(String::as_str) {
        None => Context::Top,
        Some("flow") => Context::Flow,
        Some("hours") => Context::Hours,
        Some("team") => Context::Team,
        Some("webhook") => Context::Webhook,
        Some("form" | "screen") => Context::Form,
        Some("stage" | "anywhere") => Context::Handlers,
        Some("test") => Context::Steps,
        Some("post" | "call" | "submit" | "expect") => Context::Object,
        Some(_) => Context::Actions,
    };
    // An unfinished word at the cursor is what is being completed, not context.
    (ctx, words)
}

fn snippet(label: &str, insert: &str, kind: CompletionItemKind, snippets: bool) -> CompletionItem {
    // The media choice lists every kind of the vocabulary.
    let media: Vec<&str> = vocab::MEDIA.iter().map(|(_, w, _)| *w).collect();
    let insert = insert.replace("MEDIA", &media.join(","));
    let (insert, format) = if snippets {
        (insert, InsertTextFormat::SNIPPET)
    } else {
        (plain(&insert), InsertTextFormat::PLAIN_TEXT)
    };
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: vocab::doc(label.split_whitespace().next().unwrap_or(label)).map(str::to_owned),
        insert_text: Some(insert),
        insert_text_format: Some(format),
        ..CompletionItem::default()
    }
}

/// A snippet as plain text, for clients without snippets: each placeholder becomes its
/// default (`${1:10m}` → `10m`, `${1|a,b|}` → `a`), tab stops (`$0`) disappear.
fn plain(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len());
    let mut rest = snippet;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(body) = rest.strip_prefix('{') {
            let end = body.find('}').unwrap_or(body.len());
            let inner = &body[..end];
            let inner = inner.trim_start_matches(|c: char| c.is_ascii_digit());
            let default = match inner.strip_prefix(':') {
                Some(d) => d,
                None => inner
                    .strip_prefix('|')
                    .and_then(|c| c.split([',', '|']).next())
                    .unwrap_or(""),
            };
            out.push_str(default);
            rest = body.get(end + 1..).unwrap_or("");
        } else {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        }
    }
    out.push_str(rest);
    out
}

const TOP: &[(&str, &str)] = &[
    (
        "flow",
        "flow \"${1:Name}\" {\n  timezone \"${2:America/Sao_Paulo}\"\n}",
    ),
    (
        "hours",
        "hours ${1:office} {\n  mon-fri ${2:09:00}-${3:18:00}\n}",
    ),
    (
        "team",
        "team ${1:name} { agents \"${2:agent@example.com}\" }",
    ),
    ("field", "field ${1:name}: ${2:text}"),
    (
        "template",
        "template ${1:name} \"${2:wa_name}\" lang \"${3:pt_BR}\"",
    ),
    ("webhook", "webhook ${1:name} \"${2:https://}\""),
    (
        "form",
        "form ${1:name} \"${2:Title}\" {\n  screen \"${3:Screen}\" {\n    $0\n  }\n}",
    ),
    (
        "stage",
        "stage ${1:name} {\n  on enter {\n    $0\n  }\n  otherwise {\n    ignore\n  }\n}",
    ),
    ("anywhere", "anywhere {\n  $0\n}"),
    (
        "test",
        "test \"${1:name}\" {\n  contact \"${2:+55 11 90000-0000}\"\n  $0\n}",
    ),
];

const TRIGGERS: &[(&str, &str)] = &[
    ("on enter", "on enter {\n  $0\n}"),
    ("on message", "on message {\n  $0\n}"),
    ("on keyword", "on keyword \"${1:word}\" {\n  $0\n}"),
    ("on regex", "on regex /${1:pattern}/ {\n  $0\n}"),
    ("on button", "on button \"${1:Title}\" {\n  $0\n}"),
    ("on choice", "on choice \"${1:Row}\" {\n  $0\n}"),
    ("on media", "on ${1|MEDIA|} {\n  $0\n}"),
    (
        "on form submitted",
        "on form ${1:name} submitted {\n  $0\n}",
    ),
    ("when", "when ${1:condition} {\n  $0\n}"),
    ("after silence", "after ${1:10m} silence {\n  $0\n}"),
    ("after in stage", "after ${1:2h} in stage {\n  $0\n}"),
    ("otherwise", "otherwise {\n  $0\n}"),
];

const ACTIONS: &[(&str, &str)] = &[
    ("reply", "reply \"$0\""),
    (
        "reply buttons",
        "reply buttons \"${1:text}\" [\"${2:A}\", \"${3:B}\"]",
    ),
    (
        "reply list",
        "reply list \"${1:text}\" button \"${2:Options}\" [\"${3:A}\", \"${4:B}\"]",
    ),
    ("reply template", "reply template ${1:name}($0)"),
    ("send template", "send template ${1:name}($0)"),
    ("reply form", "reply form ${1:name} \"${2:text}\""),
    ("ask", "ask ${1:field} \"${2:question}\""),
    ("set", "set ${1:field} = $0"),
    ("tag", "tag \"$0\""),
    ("untag", "untag \"$0\""),
    ("route", "route ${1:team}"),
    ("assign", "assign \"${1:agent@example.com}\""),
    ("priority", "priority ${1|low,normal,high,urgent|}"),
    ("handoff", "handoff"),
    ("post", "post ${1:webhook} { $0 }"),
    ("call", "call ${1:webhook} { $2 } save ${3:field}"),
    ("goto", "goto ${1:stage}"),
    ("close", "close \"${1:resolved}\""),
    ("ignore", "ignore"),
    ("if", "if ${1:condition} {\n  $0\n}"),
];

const STEPS: &[(&str, &str)] = &[
    ("contact", "contact \"${1:+55 11 90000-0000}\""),
    ("send", "send \"$0\""),
    ("tap", "tap \"$0\""),
    ("choose", "choose \"$0\""),
    ("submit", "submit ${1:form} { $0 }"),
    ("advance", "advance ${1:1h}"),
    ("expect stage", "expect stage ${1:name}"),
    ("expect reply", "expect reply \"$0\""),
    ("expect reply contains", "expect reply contains \"$0\""),
    ("expect routed", "expect routed ${1:team}"),
    ("expect field", "expect field ${1:name} == $0"),
    ("expect handoff", "expect handoff"),
    ("expect closed", "expect closed"),
    ("expect sent nothing", "expect sent nothing"),
];

const FLOW_SETTINGS: &[(&str, &str)] = &[
    ("timezone", "timezone \"${1:America/Sao_Paulo}\""),
    ("start", "start ${1:stage}"),
    ("optout", "optout \"${1:STOP}\""),
    ("optin", "optin \"${1:START}\""),
    ("window template", "window template ${1:name}"),
    ("budget", "budget ${1:200}"),
];

pub(super) fn completion(
    state: &State,
    p: CompletionParams,
) -> Result<Option<CompletionResponse>, String> {
    let pos = &p.text_document_position;
    let view = state.get(&pos.text_document.uri)?;
    let offset = view.doc.index.offset(pos.position);
    let text = view.text();
    let before = text.get(..offset).unwrap_or("");
    // Nothing to offer in a string's text or a comment (but in a `{...}` of a string).
    if in_text_or_comment(before) {
        return Ok(Some(CompletionResponse::Array(Vec::new())));
    }
    // The word being typed, which every item replaces (so `goto tri` offers `triage`
    // in place of `tri`, and clients filter on the label).
    let typed = before
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum::<usize>();
    let replace = view.doc.index.range(offset - typed..offset);
    let response = |items: Vec<CompletionItem>| {
        Ok(Some(CompletionResponse::Array(
            items.into_iter().map(|i| with_edit(i, replace)).collect(),
        )))
    };
    // Property completion after `contact.`, `card.`, `message.`.
    let tail: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if let Some((head, _)) = tail.rsplit_once('.') {
        return response(
            vocab::properties(head)
                .map(|p| CompletionItem {
                    detail: Some(p.doc.to_owned()),
                    ..item(p.name, CompletionItemKind::PROPERTY)
                })
                .collect(),
        );
    }
    // The word being typed is not part of the context (`context` leaves it out).
    let (ctx, words) = context(before);
    let syms = &view.analysis.checked.symbols;
    let names = |kind: DeclKind, k: CompletionItemKind| -> Vec<CompletionItem> {
        syms.names(kind).into_iter().map(|n| item(n, k)).collect()
    };
    let last = words.last().map(String::as_str).unwrap_or("");
    let prev = words
        .len()
        .checked_sub(2)
        .and_then(|i| words.get(i))
        .map(String::as_str);
    let by_name = match (prev, last) {
        (_, "goto" | "start") | (Some("expect"), "stage") => {
            Some(names(DeclKind::Stage, CompletionItemKind::MODULE))
        }
        (_, "route" | "handoff" | "routed") => {
            Some(names(DeclKind::Team, CompletionItemKind::CLASS))
        }
        (_, "template") => Some(names(DeclKind::Template, CompletionItemKind::FUNCTION)),
        (_, "post" | "call" | "posted") => {
            Some(names(DeclKind::Webhook, CompletionItemKind::FUNCTION))
        }
        (_, "form" | "submit") => Some(names(DeclKind::Form, CompletionItemKind::FUNCTION)),
        (_, "event") => Some(names(DeclKind::Event, CompletionItemKind::EVENT)),
        (_, "respond") => Some(names(DeclKind::Webhook, CompletionItemKind::FUNCTION)),
        (_, "inside" | "outside") => Some(names(DeclKind::Hours, CompletionItemKind::CLASS)),
        (Some("team"), _) | (_, "hours") if ctx == Context::Team => {
            Some(names(DeclKind::Hours, CompletionItemKind::CLASS))
        }
        (_, "ask" | "set" | "save") => Some(names(DeclKind::Field, CompletionItemKind::FIELD)),
        (_, "priority") => Some(
            vocab::PRIORITIES
                .iter()
                .map(|(_, w)| item(w, CompletionItemKind::ENUM_MEMBER))
                .collect(),
        ),
        _ => None,
    };
    if let Some(items) = by_name {
        return response(items);
    }
    // Multi-word items (`after silence`, `reply buttons`) whose first words were typed
    // already replace those words too, so nothing is written twice; the others do not
    // fit what was typed and are left out.
    let typed_words = words.join(" ");
    let first_word = statement_start(before, offset - typed, &words);
    let snippets = |list: &[(&str, &str)], kind| -> Vec<CompletionItem> {
        list.iter()
            .filter(|(l, _)| words.is_empty() || l.starts_with(&format!("{typed_words} ")))
            .map(|(l, s)| {
                let i = snippet(l, s, kind, state.snippets);
                match first_word {
                    Some(start) if !words.is_empty() => {
                        with_edit(i, view.doc.index.range(start..offset))
                    }
                    _ => i,
                }
            })
            .collect()
    };
    let mut items = match ctx {
        Context::Top => snippets(TOP, CompletionItemKind::KEYWORD),
        Context::Flow => snippets(FLOW_SETTINGS, CompletionItemKind::KEYWORD),
        Context::Hours => ["timezone", "closed"]
            .into_iter()
            .chain(vocab::WEEKDAYS.iter().map(|(_, w)| *w))
            .map(|w| item(w, CompletionItemKind::KEYWORD))
            .collect(),
        Context::Team => ["agents", "hours"]
            .iter()
            .map(|w| item(w, CompletionItemKind::KEYWORD))
            .collect(),
        Context::Webhook => ["secret", "retry", "timeout"]
            .iter()
            .map(|w| item(w, CompletionItemKind::KEYWORD))
            .collect(),
        Context::Form => [
            "screen", "text", "number", "email", "phone", "date", "choice", "yesno", "optional",
        ]
        .iter()
        .map(|w| item(w, CompletionItemKind::KEYWORD))
        .collect(),
        Context::Handlers => snippets(TRIGGERS, CompletionItemKind::SNIPPET),
        Context::Steps => snippets(STEPS, CompletionItemKind::SNIPPET),
        Context::Actions | Context::Object => Vec::new(),
    };
    // In a statement that has started, or in an action block, expressions may follow.
    if matches!(ctx, Context::Actions | Context::Object) || !words.is_empty() {
        if ctx == Context::Actions && words.is_empty() {
            items.extend(snippets(ACTIONS, CompletionItemKind::SNIPPET));
        }
        items.extend(names(DeclKind::Field, CompletionItemKind::FIELD));
        for w in [
            "contact", "card", "message", "today", "now", "true", "false", "and", "or", "not",
            "inside", "outside",
        ] {
            items.push(item(w, CompletionItemKind::KEYWORD));
        }
    }
    response(items)
}

/// Where the statement whose `words` precede `end` starts, when they are all on the
/// line just before `end`.
fn statement_start(before: &str, end: usize, words: &[String]) -> Option<usize> {
    let mut at = end;
    for w in words.iter().rev() {
        let head = before.get(..at)?;
        let trimmed = head.trim_end_matches([' ', '\t']);
        at = trimmed.strip_suffix(w.as_str())?.len();
    }
    Some(at)
}

/// An item that replaces the word being typed (`range`), filtered on its label. An
/// item that has its own edit already keeps it.
fn with_edit(mut i: CompletionItem, range: Range) -> CompletionItem {
    if i.text_edit.is_some() {
        return i;
    }
    let new_text = i.insert_text.take().unwrap_or_else(|| i.label.clone());
    i.filter_text = Some(i.label.clone());
    i.text_edit = Some(CompletionTextEdit::Edit(TextEdit { range, new_text }));
    i
}

/// Whether the end of `before` is inside the text of a string or in a `//` comment of
/// its line. Inside a string's `{...}` (an interpolation) it is code.
fn in_text_or_comment(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or(before);
    let mut chars = line.chars().peekable();
    let (mut in_string, mut in_interp) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string && !in_interp => {
                chars.next();
            }
            '"' if !in_interp => in_string = !in_string,
            '{' if in_string => in_interp = true,
            '}' if in_string => in_interp = false,
            '/' if !in_string && chars.peek() == Some(&'/') => return true,
            _ => {}
        }
    }
    in_string && !in_interp
}

fn item(label: &str, kind: CompletionItemKind) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: vocab::doc(label).map(str::to_owned),
        ..CompletionItem::default()
    }
}

// --- document symbols -------------------------------------------------------------------

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written out.
fn symbol(
    view: &View<'_>,
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    span: crate::syntax::span::Span,
    name_span: crate::syntax::span::Span,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    let index = &view.doc.index;
    DocumentSymbol {
        name: if name.is_empty() {
            "(unnamed)".into()
        } else {
            name
        },
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: index.range(span.range()),
        selection_range: index.range(name_span.range()),
        children: (!children.is_empty()).then_some(children),
    }
}

pub(super) fn symbols(
    state: &State,
    p: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>, String> {
    let view = state.get(&p.text_document.uri)?;
    let text = view.text();
    let mut out = Vec::new();
    for item in &view.analysis.parsed.file.items {
        let s = match item {
            Item::Flow(f) => symbol(
                &view,
                f.name.value.clone(),
                Some("flow".into()),
                SymbolKind::PACKAGE,
                f.span,
                f.name.span,
                Vec::new(),
            ),
            Item::Hours(h) => symbol(
                &view,
                h.name.name.clone(),
                Some("hours".into()),
                SymbolKind::OBJECT,
                h.span,
                h.name.span,
                Vec::new(),
            ),
            Item::Sla(s) => symbol(
                &view,
                s.name.name.clone(),
                Some("sla".into()),
                SymbolKind::EVENT,
                s.span,
                s.name.span,
                Vec::new(),
            ),
            Item::Team(t) => symbol(
                &view,
                t.name.name.clone(),
                Some("team".into()),
                SymbolKind::CLASS,
                t.span,
                t.name.span,
                Vec::new(),
            ),
            Item::Field(f) => symbol(
                &view,
                f.name.name.clone(),
                Some("field".into()),
                SymbolKind::FIELD,
                f.span,
                f.name.span,
                Vec::new(),
            ),
            Item::Template(t) => symbol(
                &view,
                t.name.name.clone(),
                Some("template".into()),
                SymbolKind::CONSTANT,
                t.span,
                t.name.span,
                Vec::new(),
            ),
            Item::Webhook(w) => symbol(
                &view,
                w.name.name.clone(),
                Some("webhook".into()),
                SymbolKind::INTERFACE,
                w.span,
                w.name.span,
                Vec::new(),
            ),
            Item::Form(f) => {
                let inputs = f
                    .screens
                    .iter()
                    .flat_map(|s| &s.inputs)
                    .map(|i| {
                        symbol(
                            &view,
                            i.name.name.clone(),
                            Some("input".into()),
                            SymbolKind::FIELD,
                            i.span,
                            i.name.span,
                            Vec::new(),
                        )
                    })
                    .collect();
                symbol(
                    &view,
                    f.name.name.clone(),
                    Some("form".into()),
                    SymbolKind::STRUCT,
                    f.span,
                    f.name.span,
                    inputs,
                )
            }
            Item::Intent(i) => symbol(
                &view,
                i.name.name.clone(),
                Some("intent".into()),
                SymbolKind::ENUM_MEMBER,
                i.span,
                i.name.span,
                Vec::new(),
            ),
            Item::Knowledge(k) => symbol(
                &view,
                k.name.name.clone(),
                Some("knowledge".into()),
                SymbolKind::FILE,
                k.span,
                k.name.span,
                Vec::new(),
            ),
            Item::Ai(a) => symbol(
                &view,
                a.name.name.clone(),
                Some("ai".into()),
                SymbolKind::INTERFACE,
                a.span,
                a.name.span,
                Vec::new(),
            ),
            Item::Event(e) => {
                let keys = e
                    .keys
                    .iter()
                    .map(|k| {
                        symbol(
                            &view,
                            k.name.name.clone(),
                            Some("payload key".into()),
                            SymbolKind::FIELD,
                            k.span,
                            k.name.span,
                            Vec::new(),
                        )
                    })
                    .collect();
                symbol(
                    &view,
                    e.name.name.clone(),
                    Some("event".into()),
                    SymbolKind::EVENT,
                    e.span,
                    e.name.span,
                    keys,
                )
            }
            Item::Migrate(m) => {
                // The selection is the `migrate` keyword itself.
                let head = crate::syntax::span::Span {
                    end: m.span.end.min(m.span.start + 7),
                    ..m.span
                };
                symbol(
                    &view,
                    "migrate".into(),
                    None,
                    SymbolKind::NAMESPACE,
                    m.span,
                    head,
                    Vec::new(),
                )
            }
            Item::Stage(s) => {
                let handlers = handler_symbols(&view, text, &s.handlers);
                symbol(
                    &view,
                    s.name.name.clone(),
                    Some("stage".into()),
                    SymbolKind::MODULE,
                    s.span,
                    s.name.span,
                    handlers,
                )
            }
            Item::Anywhere(a) => {
                let handlers = handler_symbols(&view, text, &a.handlers);
                // The selection is the `anywhere` keyword itself.
                let head = crate::syntax::span::Span {
                    end: a.span.end.min(a.span.start + 8),
                    ..a.span
                };
                symbol(
                    &view,
                    "anywhere".into(),
                    None,
                    SymbolKind::NAMESPACE,
                    a.span,
                    head,
                    handlers,
                )
            }
            Item::Test(t) => symbol(
                &view,
                t.name.value.clone(),
                Some("test".into()),
                SymbolKind::METHOD,
                t.span,
                t.name.span,
                Vec::new(),
            ),
        };
        out.push(s);
    }
    Ok(Some(DocumentSymbolResponse::Nested(out)))
}

fn handler_symbols(view: &View<'_>, text: &str, handlers: &[ast::Handler]) -> Vec<DocumentSymbol> {
    handlers
        .iter()
        .map(|h| {
            let name = text
                .get(h.trigger.span.range())
                .unwrap_or("handler")
                .trim()
                .to_owned();
            symbol(
                view,
                name,
                None,
                SymbolKind::EVENT,
                h.span,
                h.trigger.span,
                Vec::new(),
            )
        })
        .collect()
}

// --- semantic tokens --------------------------------------------------------------------

pub(super) fn tokens(
    state: &State,
    p: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>, String> {
    let view = state.get(&p.text_document.uri)?;
    let ranges = tokens::classify(view.text(), &view.doc.refs);
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
        result_id: None,
        data: tokens::encode(&view.doc.index, &ranges),
    })))
}

// --- formatting -------------------------------------------------------------------------

pub(super) fn formatting(
    state: &State,
    p: DocumentFormattingParams,
) -> Result<Option<Vec<TextEdit>>, String> {
    let view = state.get(&p.text_document.uri)?;
    match crate::fmt::format(view.text()) {
        Ok(out) if out == view.text() => Ok(Some(Vec::new())),
        Ok(out) => Ok(Some(vec![TextEdit::new(view.doc.index.full_range(), out)])),
        // A file with syntax errors is left alone; the diagnostics already say why.
        Err(_) => Ok(None),
    }
}

// --- code actions -----------------------------------------------------------------------

/// The name suggested by a "did you mean `x`?" help.
fn suggestion(help: &str) -> Option<&str> {
    let rest = help.split("did you mean `").nth(1)?;
    rest.split('`').next().filter(|s| !s.is_empty())
}

pub(super) fn code_actions(
    state: &State,
    p: CodeActionParams,
) -> Result<Option<CodeActionResponse>, String> {
    let view = state.get(&p.text_document.uri)?;
    let wanted = view.doc.index.offsets(p.range);
    let text = view.text();
    let mut out: Vec<CodeActionOrCommand> = Vec::new();
    for d in &view.analysis.diagnostics {
        let span = d.primary.span;
        let overlaps = (span.start as usize) <= wanted.end && wanted.start <= (span.end as usize);
        if !overlaps {
            continue;
        }
        if let Some(name) = d.help.as_deref().and_then(suggestion) {
            // `contact.nmae` may be labelled at the property alone: replace like with like.
            let written = text.get(span.range()).unwrap_or("");
            let name = match name.rsplit_once('.') {
                Some((_, last)) if !written.contains('.') => last,
                _ => name,
            };
            let edit = TextEdit::new(view.doc.index.range(span.range()), name.to_owned());
            out.push(action(
                &view,
                format!("change to `{name}`"),
                d,
                vec![edit],
                true,
            ));
        }
        if d.code == codes::NOT_TOTAL
            && let Some(edit) = add_otherwise(&view, text, span)
        {
            out.push(action(
                &view,
                "add an `otherwise` handler".into(),
                d,
                vec![edit],
                true,
            ));
        }
    }
    Ok(Some(out))
}

fn action(
    view: &View<'_>,
    title: String,
    d: &diag::Diagnostic,
    edits: Vec<TextEdit>,
    preferred: bool,
) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![super::convert::diagnostic(
            d,
            &view.doc.index,
            view.uri,
        )]),
        edit: Some(workspace_edit(view.uri, edits)),
        is_preferred: Some(preferred),
        ..CodeAction::default()
    })
}

/// Inserts `otherwise { ignore }` before the closing brace of the stage around `at`.
fn add_otherwise(view: &View<'_>, text: &str, at: crate::syntax::span::Span) -> Option<TextEdit> {
    let stage = crate::check::walk::stages(&view.analysis.parsed.file)
        .find(|s| s.span.start <= at.start && at.end <= s.span.end)?;
    let close = (stage.span.end as usize).checked_sub(1)?;
    if text.get(close..=close) != Some("}") {
        return None;
    }
    let line_start = text.get(..close)?.rfind('\n').map_or(0, |i| i + 1);
    let indent = text.get(line_start..close)?;
    let (at, insert) = if indent.trim().is_empty() {
        (
            line_start,
            format!("{indent}  otherwise {{\n{indent}    ignore\n{indent}  }}\n"),
        )
    } else {
        (close, " otherwise { ignore } ".to_owned())
    };
    let pos = view.doc.index.position(at);
    Some(TextEdit::new(lsp_types::Range::new(pos, pos), insert))
}
