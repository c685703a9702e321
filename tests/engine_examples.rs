//! Every `examples/*.flow` checks without errors and all its `test` blocks pass.

use wafl::diag::render;
use wafl::session::Session;
use wafl::testrun;

#[test]
fn every_example_passes_its_tests() {
    let mut paths: Vec<_> = std::fs::read_dir("examples")
        .expect("the examples folder exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "flow"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no examples found");
    let mut session = Session::with_files();
    let mut problems = Vec::new();
    let mut ran = 0;
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("example is readable UTF-8");
        let id = session.add(path.display().to_string(), text);
        let analysis = session.analysis(id).expect("file was just added");
        if analysis.has_errors() {
            problems.push(session.render(id));
            continue;
        }
        for r in testrun::run_file_with(
            &analysis.parsed.file,
            &analysis.checked.symbols,
            &analysis.resources,
            None,
        ) {
            ran += 1;
            if let Some(d) = &r.failure {
                problems.push(render::to_string(&session.sources, std::slice::from_ref(d)));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(ran > 0, "the examples have no tests");
}
