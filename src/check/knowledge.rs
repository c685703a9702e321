//! Knowledge bases: the files a script names (`knowledge faq from "faq.md"`), as the
//! front that loaded the script read them, and how a Markdown file splits into the
//! sections `answer` quotes. The checker and the compiler share this reading.
//!
//! A section starts at an ATX heading (`#` to `######`) and runs to the next heading.
//! Its body is quoted verbatim, trimmed of blank lines around it. A line
//! `Also asked as: a; b; c` right under the heading (or a `- ` list after an `Also asked
//! as:` line) gives other ways customers put the question; it is not quoted. A heading
//! without a body (a document title above its sections) is not an entry.

use std::collections::BTreeMap;

/// The contents of the files a script refers to, by the path written in the script.
/// A path missing from the map was not looked at (a front without files): nothing is
/// reported about it and its knowledge base is empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    pub files: BTreeMap<String, Loaded>,
}

/// One file as the front found it.
#[derive(Clone, Debug, PartialEq)]
pub enum Loaded {
    Text(String),
    /// It could not be read; the reason, for the diagnostic.
    Missing(String),
}

impl Resources {
    pub fn get(&self, path: &str) -> Option<&Loaded> {
        self.files.get(path)
    }
}

/// One entry of a knowledge base.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The heading text, without `#` marks.
    pub heading: String,
    /// Other phrasings from the `Also asked as` line or list.
    pub also: Vec<String>,
    /// The text quoted to the customer.
    pub body: String,
    /// The line of the heading, counted from 1.
    pub line: usize,
}

/// The sections of a Markdown text, in order. Never fails: text before the first heading
/// and headings without a body are not sections.
pub fn sections(markdown: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, Vec<&str>)> = None;
    let mut fence = false;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = !fence;
        }
        if !fence && let Some(h) = heading(line) {
            if let Some((head, at, body)) = current.take() {
                push(&mut out, head, at, &body);
            }
            current = Some((h, n + 1, Vec::new()));
            continue;
        }
        if let Some((_, _, body)) = current.as_mut() {
            body.push(line);
        }
    }
    if let Some((head, at, body)) = current.take() {
        push(&mut out, head, at, &body);
    }
    out
}

/// `## Title ##` to `Title`; `None` for a line that is not an ATX heading.
fn heading(line: &str) -> Option<String> {
    let t = line.trim_start_matches(' ');
    if line.len() - t.len() > 3 {
        return None;
    }
    let hashes = t.bytes().take_while(|b| *b == b'#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = t.get(hashes..)?;
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    if text.is_empty() {
        return None;
    }
    Some(text.to_string())
}

/// The `Also asked as:` marker, in English, Portuguese or Spanish; the rest of the line.
fn also_asked(line: &str) -> Option<&str> {
    let t = line.trim();
    let lower = crate::compile::fold::fold(t);
    for marker in [
        "also asked as:",
        "tambem perguntado como:",
        "tambien preguntado como:",
    ] {
        if lower.starts_with(marker) {
            // Folding keeps ASCII byte lengths, and the markers are ASCII once folded;
            // find the colon in the original to cut at a character boundary.
            let colon = t.find(':')?;
            return t.get(colon + 1..);
        }
    }
    None
}

fn push(out: &mut Vec<Section>, heading: String, line: usize, body: &[&str]) {
    let mut also = Vec::new();
    let mut kept: Vec<&str> = Vec::new();
    let mut in_list = false;
    let mut before_text = true;
    for l in body {
        if before_text || in_list {
            if let Some(rest) = also_asked(l) {
                let rest = rest.trim();
                if rest.is_empty() {
                    in_list = true;
                } else {
                    also.extend(
                        rest.split(';')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    );
                }
                continue;
            }
            if in_list {
                let t = l.trim();
                if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
                    also.push(item.trim().to_string());
                    continue;
                }
                if t.is_empty() {
                    continue;
                }
                in_list = false;
            }
        }
        if !l.trim().is_empty() {
            before_text = false;
        }
        kept.push(l);
    }
    let body = kept.join("\n").trim_matches('\n').trim_end().to_string();
    let body = body.trim_start_matches(['\n', '\r']).to_string();
    if body.trim().is_empty() {
        return;
    }
    out.push(Section {
        heading,
        also,
        body,
        line,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sections_and_reads_phrasings() {
        let md = "# Acme FAQ\n\n## How do I reset my password?\nAlso asked as: forgot password; esqueci a senha\n\nGo to *Settings* and tap **Reset**.\n\nIt takes a minute.\n\n## Refunds ##\n\nAlso asked as:\n- money back\n- reembolso\n\nRefunds take 5 days.\n";
        let s = sections(md);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].heading, "How do I reset my password?");
        assert_eq!(s[0].also, vec!["forgot password", "esqueci a senha"]);
        assert_eq!(
            s[0].body,
            "Go to *Settings* and tap **Reset**.\n\nIt takes a minute."
        );
        assert_eq!(s[0].line, 3);
        assert_eq!(s[1].heading, "Refunds");
        assert_eq!(s[1].also, vec!["money back", "reembolso"]);
        assert_eq!(s[1].body, "Refunds take 5 days.");
    }

    #[test]
    fn headings_in_code_and_odd_text_are_not_sections() {
        let md = "intro\n#hashtag\n## Real\n```\n# not a heading\n```\n####### seven\n";
        let s = sections(md);
        assert_eq!(s.len(), 1);
        assert!(s[0].body.contains("# not a heading"));
        assert!(sections("").is_empty());
        assert!(sections("# Title only\n").is_empty());
    }
}
