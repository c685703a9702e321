//! Generates large, realistic `.flow` scripts for benchmarks and scale tests.

use std::fmt::Write;

/// A script of about `lines` lines: `lines / 20` stages chained by `goto`, each with
/// keyword, button and guarded handlers, an `ask`, interpolation and an `otherwise`.
pub fn script(lines: usize) -> String {
    let stages = (lines / 20).max(2);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "flow \"Generated\" {{\n  timezone \"America/Sao_Paulo\"\n}}\n"
    );
    let _ = writeln!(s, "hours office {{ mon-fri 09:00-18:00; sat 09:00-12:00 }}");
    let _ = writeln!(
        s,
        "team support {{ agents \"ana@acme.com\", \"li@acme.com\" }}"
    );
    let _ = writeln!(
        s,
        "field order: text matching /^[A-Z]{{2}}[0-9]{{6}}$/\n  invalid \"Order numbers look like AB123456.\""
    );
    let _ = writeln!(
        s,
        "webhook crm \"https://crm.example.com/hook\" {{ secret env(\"CRM_SECRET\") }}\n"
    );
    for i in 0..stages {
        let next = if i + 1 < stages {
            format!("goto stage_{}", i + 1)
        } else {
            "close \"done\"".to_string()
        };
        let _ = write!(
            s,
            r#"// Stage {i} of the generated flow.
stage stage_{i} {{
  on enter {{ reply "Welcome to step {i}, {{contact.name}}." }}
  on keyword "fatura{i}", "boleto{i}", "invoice{i}", "pagamento{i}" {{
    route support priority high
    {next}
  }}
  on keyword "pedido{i}", "order{i}" {{
    ask order "What is your order number?" tries 3 else handoff support
    post crm {{ phone: contact.phone, order: order }}
    reply "Thanks, order {{order}} noted."
    {next}
  }}
  on button "Next {i}" {{ {next} }}
  on message when outside office {{ reply "We are closed now." }}
  when contact has tag "vip" {{ assign "ana@acme.com"; {next} }}
  after 10m silence {{ reply "Are you still there?" }}
  otherwise {{
    if contact.returning {{ reply "Welcome back!" }} else {{ reply "Hello!" }}
    reply buttons "What next?" ["Next {i}", "Other"]
  }}
}}

"#
        );
    }
    s
}
