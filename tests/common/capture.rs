//! Captures the tracing events a test's own thread emits.
//!
//! One subscriber is installed as the process's global default, once, and never replaced;
//! it hands each event to the sink of the thread that emitted it, if that thread has one.
//! Per-test `set_default` subscribers are flaky when tests share a process: tracing caches
//! a callsite's interest when the callsite is first hit, asking the subscribers registered
//! at that moment (with one registered, only the hitting thread's), so an event first hit
//! by a thread with no subscriber stayed disabled for the test that wanted it. With the one
//! global subscriber every callsite is always of interest, whichever thread hits it first.
//!
//! Include it with `#[path = "common/capture.rs"] mod capture;` in a test that reads events
//! (tokio's test runtime runs the test, and the tasks it spawns, on the test's thread).

#![allow(dead_code)] // each test binary uses a part

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One event as seen: level, target and every field (`message` included) in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub level: Level,
    pub target: String,
    pub fields: Vec<(String, String)>,
}

impl Seen {
    /// The field's value: a `&str` as is, anything else by Debug.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn message(&self) -> &str {
        self.field("message").unwrap_or("")
    }

    /// `LEVEL target: message key=value …`, as tracing-subscriber's fmt writes it.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}: {}", self.level, self.target, self.message());
        for (k, v) in self.fields.iter().filter(|(k, _)| k != "message") {
            line.push_str(&format!(" {k}={v}"));
        }
        line
    }
}

type Sink = Arc<Mutex<Vec<Seen>>>;

thread_local! {
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

struct ToThreadSink;

impl<S: Subscriber> Layer<S> for ToThreadSink {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(sink) = SINK.with(|s| s.borrow().clone()) else { return };
        struct Fields(Vec<(String, String)>);
        impl Visit for Fields {
            fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                self.0.push((field.name().to_string(), format!("{value:?}")));
            }
            fn record_str(&mut self, field: &Field, value: &str) {
                self.0.push((field.name().to_string(), value.to_string()));
            }
        }
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let meta = event.metadata();
        sink.lock().unwrap().push(Seen { level: *meta.level(), target: meta.target().to_string(), fields: fields.0 });
    }
}

/// Events of this thread are captured until the value is dropped.
pub struct Capture {
    sink: Sink,
}

/// Starts capturing this thread's events (installing the global subscriber the first time).
pub fn start() -> Capture {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(ToThreadSink))
            .expect("no other global subscriber in a test binary that captures events");
    });
    let sink = Sink::default();
    SINK.with(|s| {
        let previous = s.borrow_mut().replace(sink.clone());
        assert!(previous.is_none(), "one capture at a time on a thread");
    });
    Capture { sink }
}

impl Capture {
    /// Everything captured so far.
    pub fn events(&self) -> Vec<Seen> {
        self.sink.lock().unwrap().clone()
    }

    /// Every event so far, one [`Seen::line`] a line.
    pub fn text(&self) -> String {
        self.events().iter().map(|e| e.line() + "\n").collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        SINK.with(|s| s.borrow_mut().take());
    }
}
