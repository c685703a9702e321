//! Counters and gauges of the daemon, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// All metrics. Simple counters are atomics; labelled ones live in ordered maps.
#[derive(Debug, Default)]
pub struct Metrics {
    pub webhooks_received: AtomicU64,
    pub webhooks_rejected: AtomicU64,
    pub inbound_duplicates: AtomicU64,
    pub statuses_received: AtomicU64,
    pub unknown_payloads: AtomicU64,
    pub engine_steps: AtomicU64,
    pub engine_panics: AtomicU64,
    pub retries: AtomicU64,
    pub dead_letters: AtomicU64,
    pub outbox_depth: AtomicU64,
    /// Dead letters waiting to be resent or dismissed.
    pub outbox_dead: AtomicU64,
    /// Times sending paused because the access token was refused.
    pub send_pauses: AtomicU64,
    /// Background tasks that panicked (restarted, or /readyz turned red).
    pub task_panics: AtomicU64,
    pub timer_lag_ms: AtomicU64,
    /// Stored inbound messages not processed yet (kept by intake and the shards, set
    /// from storage by the sweep every second).
    pub backlog: AtomicI64,
    /// Age of the oldest of them, in milliseconds (set by the sweep).
    pub backlog_age_ms: AtomicU64,
    /// The configured bound on the backlog (`max_backlog`; 0 = none).
    pub backlog_limit: AtomicU64,
    /// Webhooks answered 503 because the backlog was over its bound.
    pub webhooks_refused: AtomicU64,
    /// Sum and count of send latencies, in microseconds.
    pub send_latency_us_sum: AtomicU64,
    pub send_latency_count: AtomicU64,
    labelled: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one to a labelled counter, e.g. `("messages_in_total", "type=\"text\"")`.
    pub fn count(&self, name: &str, labels: &str) {
        if let Ok(mut m) = self.labelled.lock() {
            *m.entry((name.to_string(), labels.to_string())).or_insert(0) += 1;
        }
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let simple: [(&str, &str, &AtomicU64); 16] = [
            (
                "wafl_webhooks_received_total",
                "counter",
                &self.webhooks_received,
            ),
            (
                "wafl_webhooks_rejected_total",
                "counter",
                &self.webhooks_rejected,
            ),
            (
                "wafl_inbound_duplicates_total",
                "counter",
                &self.inbound_duplicates,
            ),
            (
                "wafl_statuses_received_total",
                "counter",
                &self.statuses_received,
            ),
            (
                "wafl_unknown_payloads_total",
                "counter",
                &self.unknown_payloads,
            ),
            ("wafl_engine_steps_total", "counter", &self.engine_steps),
            ("wafl_engine_panics_total", "counter", &self.engine_panics),
            ("wafl_retries_total", "counter", &self.retries),
            ("wafl_dead_letters_total", "counter", &self.dead_letters),
            ("wafl_outbox_depth", "gauge", &self.outbox_depth),
            ("wafl_outbox_dead_letters", "gauge", &self.outbox_dead),
            ("wafl_send_pauses_total", "counter", &self.send_pauses),
            ("wafl_task_panics_total", "counter", &self.task_panics),
            ("wafl_timer_lag_ms", "gauge", &self.timer_lag_ms),
            (
                "wafl_send_latency_microseconds_sum",
                "counter",
                &self.send_latency_us_sum,
            ),
            (
                "wafl_send_latency_microseconds_count",
                "counter",
                &self.send_latency_count,
            ),
        ];
        for (name, kind, v) in simple {
            out.push_str(&format!(
                "# TYPE {name} {kind}\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        }
        let backlog = u64::try_from(self.backlog.load(Ordering::Relaxed)).unwrap_or(0);
        for (name, kind, v) in [
            ("wafl_backlog_messages", "gauge", backlog),
            (
                "wafl_backlog_age_ms",
                "gauge",
                self.backlog_age_ms.load(Ordering::Relaxed),
            ),
            (
                "wafl_backlog_limit",
                "gauge",
                self.backlog_limit.load(Ordering::Relaxed),
            ),
            (
                "wafl_webhooks_refused_total",
                "counter",
                self.webhooks_refused.load(Ordering::Relaxed),
            ),
        ] {
            out.push_str(&format!("# TYPE {name} {kind}\n{name} {v}\n"));
        }
        if let Ok(m) = self.labelled.lock() {
            let mut last = "";
            for ((name, labels), v) in m.iter() {
                if name != last {
                    out.push_str(&format!("# TYPE wafl_{name} counter\n"));
                    last = name;
                }
                out.push_str(&format!("wafl_{name}{{{labels}}} {v}\n"));
            }
        }
        out
    }
}
