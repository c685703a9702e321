//! The intent classifier at scale: 50 intents of 20 examples each, classifying
//! messages of about 100 bytes, and a whole engine step that dispatches by intent.
//! Targets (per core): 200,000 classifications and 150,000 engine steps per second.
//! `cargo bench --bench intents`; figures in docs/benchmarks.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wafl::compile;
use wafl::engine::{self, Contact, Event, Inbound, State};
use wafl::syntax::span::FileId;

const INTENTS: usize = 50;
const EXAMPLES: usize = 20;

/// A deterministic pseudo-random sequence (no dependency, same on every machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// A pronounceable word per index, some with accents, as customers' words look.
fn word(i: usize) -> String {
    // Fifty syllables: enough variety that, as in real text, a character n-gram is
    // shared by some examples, not by all of them.
    const SYL: &[&str] = &[
        "ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo", "tra",
        "pen", "car", "mos", "bri", "cle", "dro", "fla", "gre", "ju", "ka", "lo", "mu", "nhe",
        "pra", "que", "rei", "sol", "tu", "val", "xi", "za", "bel", "cor", "den", "fim", "gal",
        "his", "jon", "lem", "mar", "nor", "pul", "ris", "sen", "tor",
    ];
    let mut w = String::new();
    let mut n = i + 7;
    while n > 0 {
        w.push_str(SYL[n % SYL.len()]);
        n /= SYL.len();
    }
    if i % 4 == 0 {
        w.push_str("ção");
    }
    w
}

/// Words shared by every intent ("quero", "meu", "conta"...) and words of each topic.
fn sentence(rng: &mut Lcg, intent: usize, len: usize) -> String {
    let mut words = Vec::new();
    while words.iter().map(|w: &String| w.len() + 1).sum::<usize>() < len {
        let w = if rng.next(3) == 0 {
            word(1000 + rng.next(60))
        } else {
            word(intent * 12 + rng.next(12))
        };
        words.push(w);
    }
    words.join(" ")
}

/// The script: the flow header, 50 intents of 20 examples, a stage with one handler each.
fn script() -> (String, Vec<String>) {
    let mut rng = Lcg(42);
    let mut src = String::from("flow \"Bench\" { timezone \"UTC\" }\n");
    for i in 0..INTENTS {
        let examples: Vec<String> = (0..EXAMPLES)
            .map(|_| format!("{:?}", sentence(&mut rng, i, 30)))
            .collect();
        src.push_str(&format!(
            "intent i{i} {{ examples {} }}\n",
            examples.join(", ")
        ));
    }
    src.push_str("stage triage {\n");
    for i in 0..INTENTS {
        src.push_str(&format!(
            "  on intent i{i} {{ reply \"Topic {i}, we are on it.\" }}\n"
        ));
    }
    src.push_str("  otherwise { reply \"How can we help?\" }\n}\n");
    let messages = (0..64)
        .map(|k| sentence(&mut rng, (k * 7) % INTENTS, 96))
        .collect();
    (src, messages)
}

fn intents_bench(c: &mut Criterion) {
    let (src, messages) = script();
    let parsed = wafl::syntax::parse(FileId(0), &src);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let checked = wafl::check::check(&parsed.file);
    let program = compile::compile(&parsed.file, &checked.symbols);
    assert_eq!(program.intents.model.labels().len(), INTENTS);
    let decided = messages
        .iter()
        .filter(|m| program.intents.classify(m).intent.is_some())
        .count();
    assert!(
        decided > messages.len() / 2,
        "only {decided} messages decided"
    );
    let avg = messages.iter().map(String::len).sum::<usize>() / messages.len();
    assert!((90..=110).contains(&avg), "messages average {avg} bytes");

    let now = jiff::Timestamp::from_second(1_767_600_000).unwrap_or_default();
    let opened = engine::step(
        &program,
        &State::new(Contact::new("+55 11 98888-7777")),
        &Event::Inbound(Inbound::text("oi")),
        now,
    )
    .state;
    let events: Vec<Event> = messages
        .iter()
        .map(|m| Event::Inbound(Inbound::text(m.clone())))
        .collect();

    // The machine may be shared: besides criterion's wall-clock figures, print the CPU
    // time this thread spent per operation (Linux), which other processes do not inflate.
    let cpu = |label: &str, n: usize, f: &mut dyn FnMut(usize)| {
        if let Some(start) = thread_cpu_ns() {
            for k in 0..n {
                f(k);
            }
            if let Some(end) = thread_cpu_ns() {
                let per = (end - start) as f64 / n as f64;
                println!(
                    "{label}: {per:.0} ns of CPU per operation ({:.0}/s per core)",
                    1e9 / per
                );
            }
        }
    };
    cpu("classify_50x20_100_bytes", 20_000, &mut |k| {
        black_box(program.intents.classify(&messages[k % messages.len()]));
    });
    cpu("engine_step_50_intents", 20_000, &mut |k| {
        black_box(engine::step(
            &program,
            &opened,
            &events[k % events.len()],
            now,
        ));
    });

    let mut group = c.benchmark_group("intents");
    group.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    group.bench_function("classify_50x20_100_bytes", |b| {
        b.iter(|| {
            k = (k + 1) % messages.len();
            program.intents.classify(black_box(&messages[k]))
        })
    });
    let mut k = 0usize;
    group.bench_function("engine_step_50_intents", |b| {
        b.iter(|| {
            k = (k + 1) % events.len();
            engine::step(&program, black_box(&opened), black_box(&events[k]), now)
        })
    });
    group.finish();
}

/// The CPU time of this thread so far, in nanoseconds (the first field of
/// `/proc/thread-self/schedstat`), where the system offers it.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

criterion_group!(benches, intents_bench);
criterion_main!(benches);
