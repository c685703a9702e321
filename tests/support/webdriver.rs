//! A small W3C WebDriver client over reqwest for the console's browser tests: starts
//! Debian's `chromedriver` on 127.0.0.1 and drives a headless `chromium`. Skips (loudly)
//! when either is missing, unless `WAFL_REQUIRE_BROWSER=1`, where it fails.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub fn required() -> bool {
    std::env::var("WAFL_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// The browser and its driver, or `None` (after saying why) when they are not installed.
pub fn available(test: &str) -> Option<(String, String)> {
    let chromium = std::env::var("WAFL_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    let driver = std::env::var("WAFL_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
    if std::path::Path::new(&chromium).exists() && std::path::Path::new(&driver).exists() {
        return Some((chromium, driver));
    }
    let why = format!(
        "{test}: chromium ({chromium}) or chromedriver ({driver}) is missing; install `chromium chromium-driver`"
    );
    if required() {
        panic!("{why} (WAFL_REQUIRE_BROWSER=1)");
    }
    eprintln!("SKIPPED {why}");
    None
}

/// A running chromedriver and one browser session.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    session: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless browser of `width`×`height`.
    pub async fn start(chromium: &str, driver: &str, width: u32, height: u32) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}"), "--lang=en-US"],
            }
        }}});
        let mut browser = Browser {
            driver: child,
            http,
            base,
            session: String::new(),
        };
        let v = browser.call("POST", "/session", caps).await;
        browser.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let resp = req.send().await.expect("webdriver request");
        let v: Value = resp.json().await.expect("webdriver json");
        if let Some(err) = v["value"].get("error") {
            panic!("webdriver {method} {path}: {err} {}", v["value"]["message"]);
        }
        v.get("value").cloned().unwrap_or(Value::Null)
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({ "url": url }))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", &self.s("/url"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// The element matching a CSS selector, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let url = format!("{}{}", self.base, self.s("/elements"));
        let v: Value = self
            .http
            .post(url)
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["value"]
            .as_array()?
            .first()?
            .get(ELEMENT)?
            .as_str()
            .map(str::to_string)
    }

    /// Waits up to `secs` for an element.
    pub async fn wait(&self, css: &str, secs: u64) -> String {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.find(css).await {
                return e;
            }
            if std::time::Instant::now() > until {
                let url = self.url().await;
                let html = self.eval("return document.documentElement.outerHTML").await;
                panic!("no `{css}` after {secs}s at {url}; the page is:\n{html}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `secs` for a script to return true.
    pub async fn wait_true(&self, script: &str, secs: u64, what: &str) {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            if std::time::Instant::now() > until {
                let body = self.text("body").await;
                panic!("{what}: not so after {secs}s; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The visible text of the first element matching `css` ("" when none).
    pub async fn text(&self, css: &str) -> String {
        match self.find(css).await {
            Some(e) => self
                .call("GET", &self.s(&format!("/element/{e}/text")), Value::Null)
                .await
                .as_str()
                .unwrap_or_default()
                .to_string(),
            None => String::new(),
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait(css, 10).await;
        self.call("POST", &self.s(&format!("/element/{e}/click")), json!({}))
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait(css, 10).await;
        self.call("POST", &self.s(&format!("/element/{e}/clear")), json!({}))
            .await;
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            json!({ "text": text }),
        )
        .await;
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let v = self.call("GET", &self.s("/screenshot"), Value::Null).await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("screenshot is base64")
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.s("/window/rect"),
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Closes the browser and stops the driver.
    pub async fn quit(mut self) {
        let _ = self
            .http
            .delete(format!("{}{}", self.base, self.s("")))
            .send()
            .await;
        self.session.clear();
    }
}

impl Drop for Browser {
    /// Closes the browser even when a test failed half-way: the session is deleted with
    /// a plain blocking request, then the driver is stopped.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://").to_string();
        if !self.session.is_empty()
            && let Ok(mut s) = std::net::TcpStream::connect(&addr)
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
