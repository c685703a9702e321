//! The VS Code TextMate grammar (`editors/vscode/syntaxes/wafl.tmLanguage.json`) read by
//! a small TextMate scanner: `match` rules with captures, `begin`/`end` rules with their
//! own patterns, `include`s of the repository, the earliest match winning and the first
//! listed rule winning a tie, as editors apply them. Its regexes use no look-around, so
//! the `regex` crate reads them as Oniguruma does.

use regex::Regex;
use serde_json::Value;

struct Grammar {
    json: Value,
}

/// One scoped piece of a line: its text and the innermost scope given to it.
type Piece = (String, String);

impl Grammar {
    fn load() -> Grammar {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/editors/vscode/syntaxes/wafl.tmLanguage.json"
        );
        let text = std::fs::read_to_string(path).expect("grammar is readable");
        Grammar {
            json: serde_json::from_str(&text).expect("grammar is JSON"),
        }
    }

    /// The rules of a pattern list with every `include` resolved, in order.
    fn rules(&self, list: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for p in list.as_array().into_iter().flatten() {
            if let Some(name) = p["include"].as_str() {
                let r = &self.json["repository"][name.trim_start_matches('#')];
                if r["patterns"].is_array() && r["match"].is_null() && r["begin"].is_null() {
                    out.extend(self.rules(&r["patterns"]));
                } else {
                    out.push(r.clone());
                }
            } else if p["patterns"].is_array() && p["match"].is_null() && p["begin"].is_null() {
                out.extend(self.rules(&p["patterns"]));
            } else {
                out.push(p.clone());
            }
        }
        out
    }

    fn scan(&self, line: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        self.scan_in(
            line,
            0,
            line.len(),
            &self.rules(&self.json["patterns"]),
            None,
            &mut out,
        );
        out
    }

    /// Scans `line[from..to]` with `rules`, inside a rule whose `end` is given; returns
    /// where the scan stopped (after the end match, or `to`).
    fn scan_in(
        &self,
        line: &str,
        from: usize,
        to: usize,
        rules: &[Value],
        end: Option<(&Regex, &Value)>,
        out: &mut Vec<Piece>,
    ) -> usize {
        let mut pos = from;
        while pos <= to {
            let end_at = end.and_then(|(re, _)| re.captures_at(line, pos));
            let mut best: Option<(usize, usize, regex::Captures<'_>)> = None;
            for (i, r) in rules.iter().enumerate() {
                let Some(src) = r["match"].as_str().or(r["begin"].as_str()) else {
                    continue;
                };
                let re = Regex::new(src).expect("grammar regex compiles");
                if let Some(c) = re.captures_at(line, pos) {
                    let start = c.get(0).map_or(usize::MAX, |m| m.start());
                    if best.as_ref().is_none_or(|(s, _, _)| start < *s) {
                        best = Some((start, i, c));
                    }
                }
            }
            if let Some(e) = &end_at {
                let m = e.get(0).expect("whole match");
                if best.as_ref().is_none_or(|(s, _, _)| m.start() <= *s) {
                    if let Some((_, caps)) = end {
                        push_captures(e, caps, out);
                    }
                    return m.end();
                }
            }
            let Some((start, i, c)) = best else { break };
            let r = &rules[i];
            let whole = c.get(0).expect("whole match");
            if r["match"].is_string() {
                if let Some(name) = r["name"].as_str() {
                    out.push((whole.as_str().to_owned(), name.to_owned()));
                }
                push_captures(&c, &r["captures"], out);
                pos = whole.end().max(start + 1);
            } else {
                push_captures(&c, &r["beginCaptures"], out);
                let end_re = Regex::new(r["end"].as_str().expect("end")).expect("end regex");
                let inner = self.rules(&r["patterns"]);
                let before = out.len();
                let stop = self.scan_in(
                    line,
                    whole.end(),
                    to,
                    &inner,
                    Some((&end_re, &r["endCaptures"])),
                    out,
                );
                if let Some(name) = r["name"].as_str() {
                    // Text of the region not scoped by an inner rule takes the region's name.
                    let scoped: Vec<String> =
                        out[before..].iter().map(|(t, _)| t.clone()).collect();
                    let region = &line[start..stop];
                    let mut rest = region.to_owned();
                    for t in scoped {
                        rest = rest.replacen(&t, " ", 1);
                    }
                    out.push((rest, name.to_owned()));
                }
                pos = stop.max(start + 1);
            }
        }
        to
    }
}

fn push_captures(c: &regex::Captures<'_>, caps: &Value, out: &mut Vec<Piece>) {
    for (k, v) in caps.as_object().into_iter().flatten() {
        let (Ok(i), Some(name)) = (k.parse::<usize>(), v["name"].as_str()) else {
            continue;
        };
        if let Some(m) = c.get(i) {
            out.push((m.as_str().to_owned(), name.to_owned()));
        }
    }
}

fn scope_of(pieces: &[Piece], text: &str, nth: usize) -> String {
    pieces
        .iter()
        .filter(|(t, _)| t == text)
        .nth(nth)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| format!("unscoped; pieces: {pieces:?}"))
}

#[test]
fn property_paths_are_properties_not_keywords() {
    let g = Grammar::load();
    let p = g.scan("  on message when contact.new and card.team == \"billing\" { goto x }");
    assert_eq!(scope_of(&p, "contact", 0), "variable.language.wafl");
    assert_eq!(scope_of(&p, "new", 0), "variable.other.property.wafl");
    assert_eq!(scope_of(&p, "card", 0), "variable.language.wafl");
    assert_eq!(scope_of(&p, "team", 0), "variable.other.property.wafl");
}

#[test]
fn payload_keys_are_members_even_when_they_are_words_of_the_language() {
    let g = Grammar::load();
    let p = g.scan("  otherwise { post crm { phone: contact.phone, text: order, email: email } }");
    assert_eq!(scope_of(&p, "phone", 0), "variable.other.member.wafl");
    assert_eq!(scope_of(&p, "phone", 1), "variable.other.property.wafl");
    assert_eq!(scope_of(&p, "text", 0), "variable.other.member.wafl");
    assert_eq!(scope_of(&p, "email", 0), "variable.other.member.wafl");
    // A clock time is not a key.
    let p = g.scan("  mon-fri 09:00-18:00");
    assert!(
        p.iter().all(|(_, s)| s != "variable.other.member.wafl"),
        "{p:?}"
    );
}

#[test]
fn interpolations_scope_paths_and_names_inside_strings() {
    let g = Grammar::load();
    let p = g.scan("  on enter { reply \"Hi {contact.name}, order {order}\" }");
    assert_eq!(scope_of(&p, "name", 0), "variable.other.property.wafl");
    assert_eq!(scope_of(&p, "order", 0), "variable.other.wafl");
    assert_eq!(
        scope_of(&p, "{", 0),
        "punctuation.section.interpolation.begin.wafl"
    );
}
