//! The rustyline front of the REPL: line editing with history, multi-line declarations,
//! highlighting from the logos lexer, completion and hints. It holds no REPL logic: each
//! finished input goes to [`ReplCore::eval_line`] and its output is printed.

use super::command::{self, COMMANDS};
use super::core::{ReplCore, Vocabulary};
use super::input::{self, InputKind};
use crate::syntax::lexer::{self, TokenKind};
use crate::syntax::vocab;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use std::borrow::Cow;
use std::path::PathBuf;

/// The rustyline helper: everything it knows comes from the core's [`Vocabulary`],
/// refreshed after every input.
#[derive(Default)]
pub struct ReplHelper {
    pub vocab: Vocabulary,
    pub color: bool,
}

impl Helper for ReplHelper {}

/// A hint whose shown text may be longer than what the right arrow inserts (`:adv` shows
/// `ance DURATION` but inserts `ance`).
pub struct CommandHint {
    display: String,
    insert: String,
}

impl Hint for CommandHint {
    fn display(&self) -> &str {
        &self.display
    }
    fn completion(&self) -> Option<&str> {
        Some(&self.insert)
    }
}

impl Hinter for ReplHelper {
    type Hint = CommandHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<CommandHint> {
        if pos != line.len() {
            return None;
        }
        hint_for(line)
    }
}

/// The hint after a partly typed command: the rest of its name and its arguments.
pub fn hint_for(line: &str) -> Option<CommandHint> {
    let word = line.strip_prefix(':')?;
    if word.is_empty() || word.contains(char::is_whitespace) {
        return None;
    }
    let c = COMMANDS.iter().find(|c| c.name.starts_with(word))?;
    let unique = COMMANDS.iter().filter(|c| c.name.starts_with(word)).count() == 1;
    if !unique && c.name != word {
        return None;
    }
    let rest = c.name.get(word.len()..).unwrap_or("");
    let display = if c.args.is_empty() {
        rest.to_string()
    } else {
        format!("{rest} {}", c.args)
    };
    if display.is_empty() {
        return None;
    }
    Some(CommandHint {
        display,
        insert: rest.to_string(),
    })
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(complete(&self.vocab, line, pos))
    }
}

/// Completion candidates for the word before `pos`, and where that word starts.
pub fn complete(vocab: &Vocabulary, line: &str, pos: usize) -> (usize, Vec<Pair>) {
    let pos = crate::syntax::source::clamp_to_char_boundary(line, pos);
    let before = line.get(..pos).unwrap_or("");
    let pair = |s: &str| Pair {
        display: s.to_string(),
        replacement: s.to_string(),
    };
    let filter = |start: usize, words: &mut dyn Iterator<Item = &str>| {
        let prefix = before.get(start..).unwrap_or("");
        let mut out: Vec<Pair> = words
            .filter(|w| w.starts_with(prefix) && !w.is_empty())
            .map(pair)
            .collect();
        out.sort_by(|a, b| a.display.cmp(&b.display));
        out.dedup_by(|a, b| a.display == b.display);
        (start, out)
    };
    if let Some(body) = before.strip_prefix(':') {
        let Some(space) = body.find(char::is_whitespace) else {
            return filter(1, &mut COMMANDS.iter().map(|c| c.name));
        };
        let name = body.get(..space).unwrap_or("");
        let args = body.get(space..).unwrap_or("");
        let arg_start = pos - args.trim_start().len();
        let cmd = command::resolve(name).map(|c| c.name).unwrap_or("");
        let word_start = pos - trailing_word(before).len();
        return match cmd {
            "help" => filter(arg_start, &mut COMMANDS.iter().map(|c| c.name)),
            "tap" => filter(arg_start, &mut vocab.buttons.iter().map(String::as_str)),
            "choose" => filter(arg_start, &mut vocab.rows.iter().map(String::as_str)),
            "send" => filter(arg_start, &mut media_words().into_iter()),
            "trace" => filter(arg_start, &mut ["on", "off"].into_iter()),
            "reload" => filter(arg_start, &mut ["keep", "reset"].into_iter()),
            "contact" if !args.trim_start().contains(char::is_whitespace) => filter(
                arg_start,
                &mut ["name", "tag", "untag", "attr", "new", "returning"].into_iter(),
            ),
            "submit" => {
                let mut words = args.split_whitespace();
                match (words.next(), args.ends_with(char::is_whitespace)) {
                    (None, _) | (Some(_), false) if word_start == arg_start => {
                        filter(arg_start, &mut vocab.forms.keys().map(String::as_str))
                    }
                    (Some(form), _) => filter(
                        word_start,
                        &mut vocab
                            .forms
                            .get(form)
                            .into_iter()
                            .flatten()
                            .map(String::as_str),
                    ),
                    (None, _) => (pos, Vec::new()),
                }
            }
            "event" => {
                let mut words = args.split_whitespace();
                match (words.next(), args.ends_with(char::is_whitespace)) {
                    (None, _) | (Some(_), false) if word_start == arg_start => {
                        filter(arg_start, &mut vocab.events.keys().map(String::as_str))
                    }
                    (Some(event), _) => filter(
                        word_start,
                        &mut vocab
                            .events
                            .get(event)
                            .into_iter()
                            .flatten()
                            .map(String::as_str),
                    ),
                    (None, _) => (pos, Vec::new()),
                }
            }
            "eval" => filter(word_start, &mut vocab.expression_words()),
            _ => (pos, Vec::new()),
        };
    }
    let word_start = pos - trailing_word(before).len();
    if input::kind(line) == InputKind::Message && !before.trim_start().is_empty() {
        // Plain messages are free text: nothing to complete but a command or keyword at
        // the very start.
        if word_start == before.len() - before.trim_start().len() {
            return filter(word_start, &mut input::DECL_KEYWORDS.iter().copied());
        }
        return (pos, Vec::new());
    }
    filter(word_start, &mut vocab.declaration_words())
}

/// The identifier-like word (dots included, for paths) that ends `text`.
fn trailing_word(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(text.len(), |(i, _)| i);
    text.get(start..).unwrap_or("")
}

/// Kinds of non-text messages `:send` knows: every media kind but `media` itself.
pub fn media_words() -> Vec<&'static str> {
    vocab::MEDIA
        .iter()
        .filter(|(k, _, _)| *k != crate::syntax::ast::MediaKind::AnyMedia)
        .map(|(_, w, _)| *w)
        .collect()
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

/// ANSI colours for a line: declarations and `:eval` expressions by lexer token, command
/// names in bold; plain messages stay plain. The visible text never changes.
pub fn highlight(line: &str) -> String {
    match input::kind(line) {
        InputKind::Message => line.to_string(),
        InputKind::Declaration => highlight_code(line),
        InputKind::Command => {
            let lead = line.len() - line.trim_start().len();
            let body = line.get(lead..).unwrap_or("");
            let (word, rest) = command::split_word(body.get(1..).unwrap_or(""));
            let is_eval = command::resolve(word).is_ok_and(|c| c.name == "eval");
            let rest_text = if is_eval {
                highlight_code(rest)
            } else {
                rest.to_string()
            };
            format!(
                "{}\x1b[1m:{word}\x1b[0m{rest_text}",
                line.get(..lead).unwrap_or("")
            )
        }
    }
}

fn highlight_code(src: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    for t in lexer::tokens(src) {
        let text = src.get(t.range()).unwrap_or("");
        let color = match t.kind {
            TokenKind::Keyword => Some("35"),
            TokenKind::String => Some("32"),
            TokenKind::Number | TokenKind::Duration | TokenKind::Clock | TokenKind::Date => {
                Some("36")
            }
            TokenKind::Regex => Some("33"),
            TokenKind::Comment => Some("2"),
            TokenKind::Error => Some("31;4"),
            TokenKind::Ident | TokenKind::Operator | TokenKind::Punct | TokenKind::Whitespace => {
                None
            }
        };
        match color {
            Some(c) => {
                out.push_str("\x1b[");
                out.push_str(c);
                out.push('m');
                out.push_str(text);
                out.push_str("\x1b[0m");
            }
            None => out.push_str(text),
        }
    }
    out
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if input::is_unfinished(ctx.input()) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

/// Where history is kept: `$XDG_STATE_HOME/wafl/history`, else `~/.wafl_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        let dir = PathBuf::from(state).join("wafl");
        // A missing directory is created; failure only means no history is saved.
        let _ = std::fs::create_dir_all(&dir);
        return Some(dir.join("history"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".wafl_history"))
}

/// Runs the interactive loop until `:quit`, Ctrl-D or an editor failure.
pub fn run(mut core: ReplCore, color: bool) -> Result<(), String> {
    let config = Config::builder()
        .auto_add_history(true)
        .completion_type(CompletionType::List)
        .history_ignore_space(true)
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot start the line editor: {e}"))?;
    editor.set_helper(Some(ReplHelper {
        vocab: core.vocabulary(),
        color,
    }));
    let history = history_path();
    if let Some(path) = &history {
        // No history yet, or an unreadable file: start with an empty one.
        let _ = editor.load_history(path);
    }
    print!("{}", core.banner());
    loop {
        match editor.readline(&core.prompt()) {
            Ok(line) => {
                let out = core.eval_line(&line);
                print!("{out}");
                if let Some(h) = editor.helper_mut() {
                    h.vocab = core.vocabulary();
                }
                if core.finished() {
                    break;
                }
            }
            // Ctrl-C drops the current input, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        eprintln!("note: history not saved to `{}`: {e}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(vocab: &Vocabulary, line: &str) -> Vec<String> {
        complete(vocab, line, line.len())
            .1
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    }

    #[test]
    fn completes_commands_and_arguments() {
        let v = Vocabulary {
            buttons: vec!["Billing".into(), "Technical".into()],
            names: vec!["triage".into(), "service".into()],
            forms: [("booking".into(), vec!["day".into(), "period".into()])].into(),
            events: [("shipped".into(), vec!["order".into(), "eta".into()])].into(),
            ..Vocabulary::default()
        };
        assert_eq!(words(&v, ":event sh"), ["shipped"]);
        assert_eq!(words(&v, ":event shipped e"), ["eta"]);
        assert_eq!(words(&v, ":ad"), ["advance"]);
        assert_eq!(words(&v, ":tap B"), ["Billing"]);
        assert_eq!(words(&v, ":submit bo"), ["booking"]);
        assert_eq!(words(&v, ":submit booking p"), ["period"]);
        assert_eq!(words(&v, "stage x { on enter { goto tria"), ["triage"]);
        assert!(words(&v, "stage x { on ").contains(&"enter".to_string()));
        assert_eq!(words(&v, "hello tri"), Vec::<String>::new());
        assert_eq!(words(&v, "sta"), ["stage"]);
    }

    #[test]
    fn hints_finish_command_names() {
        let h = hint_for(":adv").map(|h| (h.display, h.insert));
        assert_eq!(h, Some(("ance DURATION".into(), "ance".into())));
        assert!(hint_for(":c").is_none());
        assert!(hint_for("hello").is_none());
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let strip = |s: &str| {
            let mut out = String::new();
            let mut in_esc = false;
            for c in s.chars() {
                match (in_esc, c) {
                    (false, '\x1b') => in_esc = true,
                    (true, 'm') => in_esc = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        };
        for line in [
            "stage a { on keyword \"x\" { reply \"hi\" } }",
            ":eval order is set and 1 + 2 > 10m",
            ":tap Billing",
            "hello",
            "field o: text matching /^[A-Z]$/",
        ] {
            assert_eq!(strip(&highlight(line)), line);
        }
        assert!(highlight("stage a {").contains("\x1b[35mstage"));
    }
}
