//! The summary table printed at the end.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::client::{Prompt, Stats};
use crate::server::{Fault, Served};
use steadfast::guard::Learned;

/// How one prompt ended.
pub enum Outcome {
    Completed(String),
    /// Failed for good, with the cause of the last error.
    Failed(String),
}

pub struct Report {
    prompts: usize,
    completed: usize,
    failed: BTreeMap<String, u32>,
    pub lost: usize,
    sample: Option<(String, String)>,
    attempts: u32,
    server: Option<(u32, Vec<(Fault, u32)>)>,
    retries: BTreeMap<String, u32>,
    throttle_waits: u32,
    throttled_for: Duration,
    requeued: u32,
    learned: Learned,
    wall: Duration,
}

impl Report {
    pub fn new(
        prompts: &[Prompt],
        outcomes: &[Option<Outcome>],
        stats: &Stats,
        served: Option<&Served>,
        learned: Learned,
        wall: Duration,
    ) -> Self {
        let mut report = Report {
            prompts: prompts.len(),
            completed: 0,
            failed: BTreeMap::new(),
            lost: 0,
            sample: None,
            attempts: stats.attempts.load(Ordering::SeqCst),
            server: served.map(|s| {
                let mut faults: Vec<_> = s.by_fault.lock().unwrap().iter().map(|(f, n)| (*f, *n)).collect();
                faults.sort();
                (s.requests.load(Ordering::SeqCst), faults)
            }),
            retries: stats.retries.lock().unwrap().clone(),
            throttle_waits: stats.throttle_waits.load(Ordering::SeqCst),
            throttled_for: *stats.throttled_for.lock().unwrap(),
            requeued: stats.requeued.load(Ordering::SeqCst),
            learned,
            wall,
        };
        for (prompt, outcome) in prompts.iter().zip(outcomes) {
            match outcome {
                Some(Outcome::Completed(text)) => {
                    report.completed += 1;
                    report.sample.get_or_insert_with(|| (prompt.text.clone(), text.clone()));
                }
                Some(Outcome::Failed(cause)) => *report.failed.entry(cause.clone()).or_default() += 1,
                None => report.lost += 1,
            }
        }
        report
    }
}

/// `label ×n, label ×n`, most frequent first.
fn tally<'a>(counts: impl IntoIterator<Item = (&'a str, u32)>) -> String {
    let mut counts: Vec<_> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts.iter().map(|(label, n)| format!("{label} ×{n}")).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: u32 = self.failed.values().sum();
        let retries: u32 = self.retries.values().sum();
        let row = |f: &mut fmt::Formatter<'_>, label: &str, value: &dyn fmt::Display, detail: String| {
            let detail = if detail.is_empty() { String::new() } else { format!("  {detail}") };
            writeln!(f, "  {label:<15}{value:>7}{detail}")
        };
        writeln!(f)?;
        row(f, "completed", &self.completed, format!("of {}", self.prompts))?;
        row(f, "failed", &failed, tally(self.failed.iter().map(|(k, v)| (k.as_str(), *v))))?;
        row(f, "lost", &self.lost, String::new())?;
        let seen = match &self.server {
            Some((requests, faults)) => {
                format!("server saw {requests}: {}", tally(faults.iter().map(|(fault, n)| (fault.label(), *n))))
            }
            None => String::new(),
        };
        row(f, "attempts", &self.attempts, seen)?;
        row(f, "retries", &retries, tally(self.retries.iter().map(|(k, v)| (k.as_str(), *v))))?;
        row(
            f,
            "throttle waits",
            &self.throttle_waits,
            match self.throttled_for.checked_div(self.throttle_waits) {
                Some(mean) => format!("attempts held for a permit, {:.2} s on average", mean.as_secs_f64()),
                None => String::new(),
            },
        )?;
        // The request rate in the figures' column, the rest beside it.
        let learned = &self.learned;
        let rate = learned.requests_per_minute.map_or_else(|| "-".to_owned(), |r| format!("{r:.0}"));
        let tokens = learned.tokens_per_minute.map(|t| format!(", {t:.0} tokens/min")).unwrap_or_default();
        let source = if learned.from_headers { "from headers" } else { "from 429s" };
        let detail = format!(
            "requests/min{tokens} ({source}); {} of {} attempts throttled by the server",
            learned.throttled, learned.admitted
        );
        row(f, "learned rate", &rate, detail)?;
        row(f, "requeued", &self.requeued, "calls the open breaker turned away or cut short".into())?;
        row(f, "wall time", &format!("{:.1} s", self.wall.as_secs_f64()), String::new())?;
        if let Some((prompt, answer)) = &self.sample {
            writeln!(f, "\n  e.g. {prompt:?} -> {answer:?}")?;
        }
        Ok(())
    }
}
