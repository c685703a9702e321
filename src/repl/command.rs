//! REPL commands: the table of `:commands`, their help text, and parsing a line into a
//! [`Command`] (abbreviations accepted when they name exactly one command).

use std::fmt::Write as _;

/// One entry of the command table: its name, the arguments it takes, and one line of help.
#[derive(Clone, Copy, Debug)]
pub struct CommandInfo {
    pub name: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

/// Every command, in the order `:help` lists them.
pub const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "help",
        args: "[COMMAND]",
        help: "list the commands, or explain one",
    },
    CommandInfo {
        name: "say",
        args: "TEXT",
        help: "send a text message that starts with `:` or a declaration keyword",
    },
    CommandInfo {
        name: "tap",
        args: "BUTTON",
        help: "tap a reply button, by its title (`:tap Billing`)",
    },
    CommandInfo {
        name: "choose",
        args: "ROW",
        help: "choose a list row, by its title (`:choose Delivery`)",
    },
    CommandInfo {
        name: "send",
        args: "KIND",
        help: "send a message of another kind: image, video, audio, document, sticker, location, contacts",
    },
    CommandInfo {
        name: "submit",
        args: "FORM NAME: VALUE, ...",
        help: "submit a form with field values (`:submit booking day: 2026-12-01, period: Morning`)",
    },
    CommandInfo {
        name: "event",
        args: "EVENT KEY: VALUE, ...",
        help: "a business system sends an event to the contact (`:event order_shipped order: AB123456, eta: 2026-12-03`)",
    },
    CommandInfo {
        name: "answer",
        args: "JSON | fail REASON",
        help: "answer the webhook `call` the conversation waits for (`:answer {\"status\": \"shipped\"}`)",
    },
    CommandInfo {
        name: "contact",
        args: "[PHONE | name N | tag T | untag T | attr K=V | new | returning]",
        help: "describe the current contact, switch to another phone, or change the current one",
    },
    CommandInfo {
        name: "advance",
        args: "DURATION",
        help: "move the virtual clock forward (`:advance 1h30m`); due timers fire in order",
    },
    CommandInfo {
        name: "clock",
        args: "[DATE [TIME]]",
        help: "show the virtual clock, or move it forward to a date-time (`:clock 2026-12-01 09:00`)",
    },
    CommandInfo {
        name: "card",
        args: "",
        help: "show the current contact's card: stage, fields, team, agent, status, window",
    },
    CommandInfo {
        name: "cards",
        args: "",
        help: "list the open cards of every contact",
    },
    CommandInfo {
        name: "events",
        args: "",
        help: "list the card events of the current card: what happened, when, and the rule, timer or person behind it",
    },
    CommandInfo {
        name: "agent",
        args: "reply TEXT | resolve [REASON] | release | assign AGENT | route TEAM",
        help: "act as a person on the current card (`:agent reply Hello, I am Ana`)",
    },
    CommandInfo {
        name: "why",
        args: "",
        help: "show the rule behind the last reply, its source, and the values of its condition",
    },
    CommandInfo {
        name: "trace",
        args: "[on | off]",
        help: "show the rule and condition values behind every effect, and timers and metrics",
    },
    CommandInfo {
        name: "eval",
        args: "EXPR",
        help: "evaluate an expression against the current card (`:eval order is set`)",
    },
    CommandInfo {
        name: "decls",
        args: "",
        help: "list the declarations of the loaded script, with those typed at the prompt",
    },
    CommandInfo {
        name: "reload",
        args: "[keep | reset]",
        help: "read the file again; `keep` (the default) keeps conversations, `reset` clears them",
    },
    CommandInfo {
        name: "reset",
        args: "",
        help: "forget every conversation and set the clock back to its start",
    },
    CommandInfo {
        name: "quit",
        args: "",
        help: "leave the REPL (Ctrl-D does too)",
    },
];

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Help(Option<String>),
    Say(String),
    Tap(String),
    Choose(String),
    Send(String),
    Submit {
        form: String,
        values: Vec<(String, String)>,
    },
    /// `:event NAME key: value, ...`
    Event {
        name: String,
        values: Vec<(String, String)>,
    },
    Answer(Result<serde_json::Value, String>),
    Contact(ContactCmd),
    Advance(String),
    Clock(Option<String>),
    Card,
    Cards,
    Events,
    Agent(AgentCmd),
    Why,
    Trace(Option<bool>),
    Eval(String),
    Decls,
    Reload {
        keep: bool,
    },
    Reset,
    Quit,
}

/// What `:contact` asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ContactCmd {
    Describe,
    Switch(String),
    Name(String),
    Tag(String),
    Untag(String),
    Attr(String, String),
    New,
    Returning,
}

/// Resolves a possibly abbreviated command name. An exact name always wins (`card` over
/// `cards`); otherwise the prefix must name exactly one command.
pub fn resolve(word: &str) -> Result<&'static CommandInfo, String> {
    if word.is_empty() {
        return Err("type a command after `:` (`:help` lists them)".into());
    }
    if let Some(c) = COMMANDS.iter().find(|c| c.name == word) {
        return Ok(c);
    }
    let matches: Vec<&CommandInfo> = COMMANDS
        .iter()
        .filter(|c| c.name.starts_with(word))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut msg = format!("unknown command `:{word}`");
            if let Some(s) = crate::diag::did_you_mean(word, COMMANDS.iter().map(|c| c.name)) {
                let _ = write!(msg, "; did you mean `:{s}`?");
            } else {
                msg.push_str("; `:help` lists the commands");
            }
            Err(msg)
        }
        many => {
            let names: Vec<String> = many.iter().map(|c| format!("`:{}`", c.name)).collect();
            Err(format!(
                "`:{word}` is ambiguous: it could be {}",
                names.join(", ")
            ))
        }
    }
}

/// Parses a line that starts with `:`.
pub fn parse(line: &str) -> Result<Command, String> {
    let body = line.trim().strip_prefix(':').unwrap_or(line.trim());
    let (word, rest) = split_word(body);
    let info = resolve(word)?;
    let rest = rest.trim();
    let need = |what: &str| -> Result<String, String> {
        if rest.is_empty() {
            Err(format!("`:{}` needs {what}", info.name))
        } else {
            Ok(unquote(rest))
        }
    };
    let none = || -> Result<(), String> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(format!("`:{}` takes no arguments", info.name))
        }
    };
    Ok(match info.name {
        "help" => Command::Help((!rest.is_empty()).then(|| rest.trim_start_matches(':').into())),
        "say" => Command::Say(need("a message")?),
        "tap" => Command::Tap(need("a button title")?),
        "choose" => Command::Choose(need("a row title")?),
        "send" => Command::Send(need("a message kind (image, location, document, ...)")?),
        "submit" => {
            let (form, fields) = split_word(rest);
            if form.is_empty() {
                return Err("`:submit` needs a form name".into());
            }
            Command::Submit {
                form: form.into(),
                values: parse_values(fields)?,
            }
        }
        "event" => {
            let (name, fields) = split_word(rest);
            if name.is_empty() {
                return Err("`:event` needs an event name".into());
            }
            Command::Event {
                name: name.into(),
                values: parse_values(fields)?,
            }
        }
        "answer" if rest.is_empty() => {
            return Err("`:answer` needs a JSON object or `fail REASON`".into());
        }
        "answer" => Command::Answer(match split_word(rest) {
            ("fail", reason) => Err(unquote(reason)),
            _ => Ok(serde_json::from_str(rest)
                .map_err(|e| format!("`:answer` takes a JSON object or `fail REASON`: {e}"))?),
        }),
        "contact" => Command::Contact(parse_contact(rest)?),
        "advance" => Command::Advance(need("a duration such as `10m` or `1h30m`")?),
        "clock" => Command::Clock((!rest.is_empty()).then(|| rest.into())),
        "card" => none().map(|()| Command::Card)?,
        "cards" => none().map(|()| Command::Cards)?,
        "events" => none().map(|()| Command::Events)?,
        "agent" => Command::Agent(parse_agent(rest)?),
        "why" => none().map(|()| Command::Why)?,
        "trace" => Command::Trace(match rest {
            "" => None,
            "on" => Some(true),
            "off" => Some(false),
            _ => return Err("`:trace` takes `on` or `off`".into()),
        }),
        "eval" => Command::Eval(need("an expression")?),
        "decls" => none().map(|()| Command::Decls)?,
        "reload" => Command::Reload {
            keep: match rest {
                "" | "keep" => true,
                "reset" => false,
                _ => return Err("`:reload` takes `keep` or `reset`".into()),
            },
        },
        "reset" => none().map(|()| Command::Reset)?,
        "quit" => none().map(|()| Command::Quit)?,
        other => return Err(format!("unknown command `:{other}`")),
    })
}

/// What `:agent` does, as a person on the current card.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentCmd {
    TakeOver,
    Note(String),
    Tag(String),
    Untag(String),
    Reply(String),
    Resolve(Option<String>),
    Release,
    Assign(String),
    Route(String),
}

fn parse_agent(rest: &str) -> Result<AgentCmd, String> {
    let (word, arg) = split_word(rest);
    let arg = unquote(arg.trim());
    let need = |what: &str| {
        if arg.is_empty() {
            Err(format!("`:agent {word}` needs {what}"))
        } else {
            Ok(arg.clone())
        }
    };
    match word {
        "reply" => need("the text of the reply").map(AgentCmd::Reply),
        "takeover" => Ok(AgentCmd::TakeOver),
        "note" => need("the text of the note").map(AgentCmd::Note),
        "tag" => need("a tag").map(AgentCmd::Tag),
        "untag" => need("a tag").map(AgentCmd::Untag),
        "resolve" => Ok(AgentCmd::Resolve((!arg.is_empty()).then(|| arg.clone()))),
        "release" => Ok(AgentCmd::Release),
        "assign" => need("an agent").map(AgentCmd::Assign),
        "route" => need("a team").map(AgentCmd::Route),
        _ => Err(format!(
            "`:agent` takes `takeover`, `reply TEXT`, `note TEXT`, `tag TAG`, `untag TAG`, `resolve [REASON]`, `release`, `assign AGENT` or `route TEAM`, not `{word}`"
        )),
    }
}

fn parse_contact(rest: &str) -> Result<ContactCmd, String> {
    if rest.is_empty() {
        return Ok(ContactCmd::Describe);
    }
    if rest.starts_with('+') || rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(ContactCmd::Switch(unquote(rest)));
    }
    let (word, arg) = split_word(rest);
    let arg = unquote(arg.trim());
    let need = |what: &str| {
        if arg.is_empty() {
            Err(format!("`:contact {word}` needs {what}"))
        } else {
            Ok(arg.clone())
        }
    };
    match word {
        "name" | "named" => need("a name").map(ContactCmd::Name),
        "tag" | "tagged" => need("a tag").map(ContactCmd::Tag),
        "untag" => need("a tag").map(ContactCmd::Untag),
        "attr" => {
            let a = need("`KEY=VALUE`")?;
            match a.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok(ContactCmd::Attr(k.trim().into(), unquote(v.trim())))
                }
                _ => Err("`:contact attr` needs `KEY=VALUE`".into()),
            }
        }
        "new" => Ok(ContactCmd::New),
        "returning" => Ok(ContactCmd::Returning),
        _ => Err(format!(
            "`:contact` takes a phone number, `name`, `tag`, `untag`, `attr`, `new` or `returning`, not `{word}`"
        )),
    }
}

/// `day: 2026-12-01, period: "Morning"` (also `day=2026-12-01`) into pairs. Values keep
/// their text; the form's declared types decide what they mean.
pub fn parse_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let text = text.trim().trim_start_matches('{').trim_end_matches('}');
    for part in split_top(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once([':', '=']) else {
            return Err(format!("expected `NAME: VALUE`, found `{part}`"));
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{k}` is not a field name"));
        }
        out.push((k.to_string(), unquote(v.trim())));
    }
    Ok(out)
}

/// Splits on commas outside double quotes.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if in_str && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_str = !in_str,
            ',' if !in_str => {
                parts.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
        escaped = false;
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

/// The first whitespace-separated word and the rest.
pub fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(i) => (text.get(..i).unwrap_or(text), text.get(i..).unwrap_or("")),
        None => (text, ""),
    }
}

/// Drops one pair of surrounding double quotes and resolves `\"` and `\\` inside them.
pub fn unquote(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if t.len() >= 2 => {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(n) => out.push(n),
                        None => out.push('\\'),
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => t.to_string(),
    }
}

/// The text of `:help` (all commands) or `:help NAME` (one command).
pub fn help(topic: Option<&str>) -> String {
    if let Some(t) = topic {
        return match resolve(t) {
            Ok(c) if c.args.is_empty() => format!(":{}\n    {}\n", c.name, c.help),
            Ok(c) => format!(":{} {}\n    {}\n", c.name, c.args, c.help),
            Err(e) => format!("error: {e}\n"),
        };
    }
    let mut out = String::from(
        "A plain line is a text message from the current contact.\n\
         A line starting with a top-level keyword (stage, field, team, ...) defines or\n\
         replaces that declaration; it is checked first and applied only without errors.\n\
         Commands start with `:` and may be abbreviated while unambiguous:\n",
    );
    // Long synopses get their help on the next line, so the table stays narrow.
    let width = 26;
    for c in COMMANDS {
        let head = if c.args.is_empty() {
            c.name.to_string()
        } else {
            format!("{} {}", c.name, c.args)
        };
        if head.len() > width {
            let _ = writeln!(out, "  :{head}\n  {:width$}   {}", "", c.help);
        } else {
            let _ = writeln!(out, "  :{head:<width$}  {}", c.help);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_resolve_when_unambiguous() {
        assert_eq!(resolve("q").map(|c| c.name), Ok("quit"));
        assert_eq!(resolve("card").map(|c| c.name), Ok("card"));
        assert_eq!(resolve("cards").map(|c| c.name), Ok("cards"));
        assert_eq!(resolve("adv").map(|c| c.name), Ok("advance"));
        assert!(resolve("c").is_err_and(|e| e.contains("ambiguous")));
        assert!(resolve("re").is_err_and(|e| e.contains("`:reload`")));
        assert!(resolve("trce").is_err_and(|e| e.contains("did you mean `:trace`")));
    }

    #[test]
    fn every_command_parses_and_has_help() {
        for c in COMMANDS {
            assert!(help(None).contains(&format!(":{}", c.name)));
            assert!(help(Some(c.name)).contains(c.help));
        }
        assert_eq!(
            parse(":tap \"Billing\""),
            Ok(Command::Tap("Billing".into()))
        );
        assert_eq!(parse(":ta Billing"), Ok(Command::Tap("Billing".into())));
        assert_eq!(parse(":trace on"), Ok(Command::Trace(Some(true))));
        assert_eq!(parse(":rel reset"), Ok(Command::Reload { keep: false }));
        assert_eq!(
            parse(":contact +55 11 98888-7777"),
            Ok(Command::Contact(ContactCmd::Switch(
                "+55 11 98888-7777".into()
            )))
        );
        assert_eq!(
            parse(":contact attr plan = gold"),
            Ok(Command::Contact(ContactCmd::Attr(
                "plan".into(),
                "gold".into()
            )))
        );
        assert!(parse(":card now").is_err());
        assert!(parse(":").is_err());
    }

    #[test]
    fn submit_values_split_outside_quotes() {
        assert_eq!(
            parse(":submit booking day: 2026-12-01, period: \"Morning, early\", notes=hi"),
            Ok(Command::Submit {
                form: "booking".into(),
                values: vec![
                    ("day".into(), "2026-12-01".into()),
                    ("period".into(), "Morning, early".into()),
                    ("notes".into(), "hi".into()),
                ]
            })
        );
        assert!(parse(":submit booking nonsense").is_err());
    }
}
