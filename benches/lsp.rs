//! Editor latency: time from a `didChange` on a 2,000-line script to the
//! `publishDiagnostics` that answers it, through a real `wafl lsp` process over stdio
//! (target: under 20 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::time::{Duration, Instant};

#[path = "../tests/support/lsp_client.rs"]
#[allow(dead_code)]
mod client;
#[path = "../tests/support/gen.rs"]
mod generate;

fn change_to_diagnostics(c: &mut Criterion) {
    let src = generate::script(2_000);
    let lines = src.lines().count();
    let uri = "file:///bench/generated.flow";
    let (mut server, _) = client::Client::start();
    server.open(uri, &src);
    let mut version = 1;
    let mut group = c.benchmark_group("lsp");
    group.sample_size(30);
    group.bench_function(format!("change_to_diagnostics_{lines}_lines"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                version += 1;
                // Alternate between two texts so every change is a real change.
                let text = if version % 2 == 0 {
                    src.replace("Welcome to step 0", "Welcome to step zero")
                } else {
                    src.clone()
                };
                let start = Instant::now();
                let diags: Vec<Value> = server.change(uri, version, &text);
                total += start.elapsed();
                std::hint::black_box(diags);
            }
            total
        })
    });
    group.finish();
    server.shutdown();
}

criterion_group!(benches, change_to_diagnostics);
criterion_main!(benches);
