//! The daemon's safe defaults: half a set of WhatsApp credentials is an error naming what
//! is missing, and WhatsApp mode without an app secret refuses to start unless the
//! operator passes `--insecure-no-signature`.

use wafl::daemon::check_safety;
use wafl::daemon::config::{Config, parse_file, resolve};

fn config(toml: &str, vars: &[(&str, &str)]) -> Result<Config, String> {
    let file = parse_file("wafl.toml", toml).map_err(|e| e.to_string())?;
    let env = |k: &str| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_string())
    };
    resolve(file, &env, None, &[]).map_err(|e| e.to_string())
}

#[test]
fn a_token_without_a_phone_number_id_is_an_error_that_names_it() {
    let e = config("", &[("WAFL_ACCESS_TOKEN", "tok")]).expect_err("partial credentials");
    assert!(e.contains("phone number id is missing"), "{e}");
    assert!(e.contains("WAFL_PHONE_NUMBER_ID"), "{e}");
}

#[test]
fn a_phone_number_id_without_a_token_is_an_error_that_names_it() {
    let e =
        config("[whatsapp]\nphone_number_id = \"123\"\n", &[]).expect_err("partial credentials");
    assert!(e.contains("WAFL_ACCESS_TOKEN is missing"), "{e}");
    let e = config("", &[("WAFL_PHONE_NUMBER_ID", "123")]).expect_err("from the environment");
    assert!(e.contains("WAFL_ACCESS_TOKEN is missing"), "{e}");
}

#[test]
fn whatsapp_mode_without_an_app_secret_is_refused_unless_asked_for() {
    let vars = [
        ("WAFL_ACCESS_TOKEN", "tok"),
        ("WAFL_PHONE_NUMBER_ID", "123"),
    ];
    let mut c = config("", &vars).expect("full credentials");
    assert!(c.has_whatsapp());
    let e = check_safety(&c).expect_err("unsigned webhooks would be accepted");
    assert!(e.contains("WAFL_APP_SECRET"), "{e}");
    assert!(e.contains("--insecure-no-signature"), "{e}");
    c.insecure_no_signature = true;
    assert!(check_safety(&c).is_ok());
}

#[test]
fn with_an_app_secret_or_in_the_sandbox_the_daemon_starts() {
    let vars = [
        ("WAFL_ACCESS_TOKEN", "tok"),
        ("WAFL_PHONE_NUMBER_ID", "123"),
        ("WAFL_APP_SECRET", "s3cret"),
    ];
    let c = config("", &vars).expect("full credentials");
    assert!(check_safety(&c).is_ok());
    // No credentials at all: the sandbox, which needs no secret.
    let c = config("", &[]).expect("sandbox");
    assert!(!c.has_whatsapp());
    assert!(check_safety(&c).is_ok());
    // An empty secret counts as none.
    let c = config(
        "",
        &[
            ("WAFL_ACCESS_TOKEN", "tok"),
            ("WAFL_PHONE_NUMBER_ID", "123"),
            ("WAFL_APP_SECRET", ""),
        ],
    )
    .expect("config");
    assert!(check_safety(&c).is_err());
}
