//! The compiled bundle of a script: one JSON document with the source, its SHA-256
//! content hash (which the daemon stamps into every trace and log line, so each line
//! can be tied to the exact script that produced it), a summary of the declarations,
//! and the Flow JSON of every form. Building is deterministic: the same source always
//! gives the same bytes.

use crate::check::Symbols;
use crate::check::flows;
use crate::compile::forms;
use crate::syntax::ast::{self, Item};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Version of the bundle layout; bumped when a key changes meaning or goes away.
pub const BUNDLE_FORMAT: u32 = 1;

/// A compiled script.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// `sha256:` followed by the hex digest of the source bytes.
    pub hash: String,
    /// The whole bundle document.
    pub json: Value,
    /// Each form's name with its Flow JSON, in source order.
    pub forms: Vec<(String, Value)>,
}

/// The content hash of a script: `sha256:` and 64 lowercase hex digits.
pub fn content_hash(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Builds the bundle of a checked script. `name` is the script's file name as the user
/// gave it; the caller refuses scripts with errors before building.
pub fn build(name: &str, source: &str, file: &ast::File, syms: &Symbols) -> Bundle {
    let hash = content_hash(source);
    let forms: Vec<(String, Value)> = file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Form(f) => Some((f.name.name.clone(), forms::flow_json(file, syms, f))),
            _ => None,
        })
        .collect();
    let mut form_map = Map::new();
    for (name, flow) in &forms {
        form_map.insert(name.clone(), flow.clone());
    }
    let json = json!({
        "format": BUNDLE_FORMAT,
        "wafl": env!("CARGO_PKG_VERSION"),
        "name": name,
        "hash": hash,
        "declarations": summary(file, syms),
        "forms": form_map,
        "source": source,
    });
    Bundle { hash, json, forms }
}

/// What the script declares, by kind, in source order.
fn summary(file: &ast::File, syms: &Symbols) -> Value {
    let flow = file.items.iter().find_map(|i| match i {
        Item::Flow(f) => Some(f.name.value.clone()),
        _ => None,
    });
    let mut fields = Map::new();
    let names = |pick: fn(&Item) -> Option<&ast::Ident>| -> Vec<String> {
        file.items
            .iter()
            .filter_map(pick)
            .map(|i| i.name.clone())
            .collect()
    };
    let teams = names(|i| match i {
        Item::Team(t) => Some(&t.name),
        _ => None,
    });
    let templates = names(|i| match i {
        Item::Template(t) => Some(&t.name),
        _ => None,
    });
    let webhooks = names(|i| match i {
        Item::Webhook(w) => Some(&w.name),
        _ => None,
    });
    let forms = names(|i| match i {
        Item::Form(f) => Some(&f.name),
        _ => None,
    });
    let hours = names(|i| match i {
        Item::Hours(h) => Some(&h.name),
        _ => None,
    });
    for (name, info) in &syms.fields {
        fields.insert(name.clone(), json!(flows::kind_name(&info.kind)));
    }
    let tests = file
        .items
        .iter()
        .filter(|i| matches!(i, Item::Test(_)))
        .count();
    json!({
        "flow": flow,
        "start": syms.start_stage(file),
        "stages": syms.stage_order,
        "fields": fields,
        "teams": teams,
        "templates": templates,
        "webhooks": webhooks,
        "forms": forms,
        "hours": hours,
        "tests": tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_sha256_in_hex() {
        // The SHA-256 of the empty string and of "abc" (FIPS 180-2 test vectors).
        assert_eq!(
            content_hash(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            content_hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn empty_script_bundle_carries_source_and_hash() {
        let file = ast::File::default();
        let syms = Symbols::default();
        let b = build("empty.flow", "", &file, &syms);
        assert_eq!(b.json["format"], json!(BUNDLE_FORMAT));
        assert_eq!(b.json["hash"], json!(b.hash));
        assert_eq!(b.json["source"], json!(""));
        assert_eq!(b.json["declarations"]["stages"], json!([]));
        assert!(b.forms.is_empty());
    }
}
