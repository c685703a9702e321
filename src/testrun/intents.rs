//! `wafl test --intents`: each example of each intent classified by the script's
//! classifier without that example (what a new message just like it would get), a
//! confusion matrix, and the comparison with a stored snapshot so that an example that
//! was classified right and no longer is fails the run.
//!
//! Pure: the caller reads and writes the snapshot file.

use crate::compile::intents::Intents;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The label of an example that falls below the threshold or the margin.
pub const NO_INTENT: &str = "-";

/// One example and what the classifier makes of it when it is held out.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub intent: String,
    pub example: String,
    /// The decided intent, or [`NO_INTENT`].
    pub predicted: String,
    pub confidence: f32,
}

impl Prediction {
    pub fn correct(&self) -> bool {
        self.intent == self.predicted
    }
}

/// Every example's held-out prediction, by intent then example (both sorted).
pub fn predictions(intents: &Intents) -> Vec<Prediction> {
    intents
        .model
        .held_out()
        .into_iter()
        .map(|h| {
            let v = intents.decide(h.ranking);
            Prediction {
                intent: h.label,
                example: h.example,
                predicted: v.intent.unwrap_or_else(|| NO_INTENT.to_string()),
                confidence: v.confidence,
            }
        })
        .collect()
}

/// The report printed by `wafl test --intents`: one line per example (`ok` or `MISS`),
/// then the confusion matrix (rows: the example's intent; columns: the prediction).
pub fn report(preds: &[Prediction]) -> String {
    let mut out = String::new();
    for p in preds {
        let mark = if p.correct() { "ok  " } else { "MISS" };
        let _ = writeln!(
            out,
            "{mark} {:<14} -> {:<14} {:.2}  {:?}",
            p.intent, p.predicted, p.confidence, p.example
        );
    }
    let mut labels: Vec<&str> = preds.iter().map(|p| p.intent.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    let mut cols = labels.clone();
    cols.push(NO_INTENT);
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for p in preds {
        *counts.entry((&p.intent, &p.predicted)).or_default() += 1;
    }
    let width = labels.iter().map(|l| l.len() + 3).max().unwrap_or(1).max(6);
    let _ = writeln!(
        out,
        "\nconfusion (rows: intent, columns: held-out prediction)"
    );
    let _ = write!(out, "{:width$}", "");
    for (i, _) in cols.iter().enumerate() {
        let _ = write!(out, " {:>3}", col_name(i, cols.len()));
    }
    let _ = writeln!(out);
    for (r, l) in labels.iter().enumerate() {
        let _ = write!(
            out,
            "{:<width$}",
            format!("{} {l}", col_name(r, cols.len()))
        );
        for c in &cols {
            let n = counts.get(&(*l, *c)).copied().unwrap_or(0);
            if n == 0 {
                let _ = write!(out, " {:>3}", ".");
            } else {
                let _ = write!(out, " {n:>3}");
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{:>width$}", format!("{NO_INTENT} = no intent"));
    let right = preds.iter().filter(|p| p.correct()).count();
    let _ = writeln!(
        out,
        "{right} of {} examples classified right when held out",
        preds.len()
    );
    out
}

/// The short name of a matrix row or column: `a`, `b`, ... then `-` for no intent.
fn col_name(i: usize, n: usize) -> String {
    if i + 1 == n {
        return NO_INTENT.to_string();
    }
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let mut s = String::new();
    let mut k = i;
    loop {
        s.insert(0, char::from(letters[k % 26]));
        if k < 26 {
            break;
        }
        k = k / 26 - 1;
    }
    s
}

/// The snapshot stored beside a script: one line per example, `intent`, TAB, the
/// prediction, TAB, the example (tabs and newlines in it escaped).
pub fn snapshot(preds: &[Prediction]) -> String {
    let mut out = String::from(
        "# Held-out predictions of this script's intent examples, written by `wafl test --intents`.\n# intent\tprediction\texample\n",
    );
    for p in preds {
        let _ = writeln!(
            out,
            "{}\t{}\t{}",
            p.intent,
            p.predicted,
            p.example
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
        );
    }
    out
}

/// Reads a snapshot: `(intent, example) -> prediction`. Lines it cannot read are skipped.
pub fn read_snapshot(text: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(intent), Some(pred), Some(example)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let example = unescape(example);
        out.insert((intent.to_string(), example), pred.to_string());
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Examples the snapshot had right that are wrong now.
pub fn flips<'a>(
    old: &BTreeMap<(String, String), String>,
    now: &'a [Prediction],
) -> Vec<&'a Prediction> {
    now.iter()
        .filter(|p| {
            !p.correct()
                && old
                    .get(&(p.intent.clone(), p.example.clone()))
                    .is_some_and(|was| *was == p.intent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pred(intent: &str, predicted: &str, example: &str) -> Prediction {
        Prediction {
            intent: intent.into(),
            example: example.into(),
            predicted: predicted.into(),
            confidence: 0.5,
        }
    }

    #[test]
    fn snapshot_round_trips_and_finds_flips() {
        let before = vec![
            pred("a", "a", "x\ty"),
            pred("a", "b", "z"),
            pred("b", "b", "w"),
        ];
        let stored = read_snapshot(&snapshot(&before));
        assert_eq!(stored.len(), 3);
        assert_eq!(
            stored.get(&("a".into(), "x\ty".into())).map(String::as_str),
            Some("a")
        );
        let after = vec![
            pred("a", "b", "x\ty"),
            pred("a", "a", "z"),
            pred("b", "b", "w"),
        ];
        let f = flips(&stored, &after);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].example, "x\ty");
    }

    #[test]
    fn report_has_a_matrix() {
        let r = report(&[
            pred("a", "a", "x"),
            pred("a", "-", "y"),
            pred("b", "a", "z"),
        ]);
        assert!(r.contains("MISS"));
        assert!(r.contains("1 of 3 examples"));
        assert!(r.contains("confusion"));
    }
}
