//! Seeds and mutations shared by the property tests: read `.flow` files from folders,
//! then delete, duplicate or replace a span of one.

#![allow(dead_code)]

/// Every `.flow` file under the given folders, in a stable order.
pub fn seeds(dirs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "flow"))
            .collect();
        paths.sort();
        for p in paths {
            if let Ok(s) = std::fs::read_to_string(&p) {
                out.push(s);
            }
        }
    }
    assert!(!out.is_empty(), "no seeds found in {dirs:?}");
    out
}

/// The largest char boundary at or before `i`.
pub fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Deletes, duplicates or replaces a span of `src`, chosen by the fractions `a` and `b`.
pub fn mangle(src: &str, op: u8, a: f64, b: f64, insert: &str) -> String {
    let x = floor(src, (a * src.len() as f64) as usize);
    let y = floor(src, x + (b * 40.0) as usize);
    let (head, mid, tail) = (&src[..x], &src[x..y], &src[y..]);
    match op % 3 {
        0 => format!("{head}{tail}"),
        1 => format!("{head}{mid}{mid}{tail}"),
        _ => format!("{head}{insert}{tail}"),
    }
}
