//! Tracing events: one before each sleep, one on giving up.
//!
//! Fields are fixed: `fn`, `attempt`, `attempts`, `delay_ms`, `error` (Display where the
//! error has it, else Debug, else omitted). Argument values are never recorded: they carry
//! API keys. `#[retry]` emits its events through [`__retry_event!`](crate::__retry_event)
//! so that their target is the function's own module; the builder's target is `steadfast`.

use std::fmt;
use std::time::Duration;

/// The level of retry events (`log = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Log {
    /// `tracing::Level::ERROR`.
    Error,
    /// `tracing::Level::WARN` (the default).
    #[default]
    Warn,
    /// `tracing::Level::INFO`.
    Info,
    /// `tracing::Level::DEBUG`.
    Debug,
    /// `tracing::Level::TRACE`.
    Trace,
    /// No events.
    Off,
}

/// Milliseconds, for the `delay_ms` field.
#[doc(hidden)]
pub fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

macro_rules! at_level {
    ($log:expr, $($event:tt)*) => {
        match $log {
            Log::Error => tracing::event!(target: "steadfast", tracing::Level::ERROR, $($event)*),
            Log::Warn => tracing::event!(target: "steadfast", tracing::Level::WARN, $($event)*),
            Log::Info => tracing::event!(target: "steadfast", tracing::Level::INFO, $($event)*),
            Log::Debug => tracing::event!(target: "steadfast", tracing::Level::DEBUG, $($event)*),
            Log::Trace => tracing::event!(target: "steadfast", tracing::Level::TRACE, $($event)*),
            Log::Off => {}
        }
    };
}

/// The builder's event before a sleep.
pub(crate) fn retrying<E>(log: Log, name: &str, attempt: u32, attempts: u32, delay: Duration, error: Option<&E>) {
    let error = error.map(|e| Opaque(e));
    at_level!(
        log,
        "fn" = name,
        attempt,
        attempts,
        delay_ms = millis(delay),
        error = error.as_ref().map(tracing::field::debug),
        "retrying"
    );
}

/// The builder's event on giving up.
pub(crate) fn gave_up<E>(log: Log, name: &str, attempts: u32, error: Option<&E>) {
    let error = error.map(|e| Opaque(e));
    at_level!(log, "fn" = name, attempts, error = error.as_ref().map(tracing::field::debug), "giving up");
}

/// The builder cannot name `E`'s traits, so it shows only the type's name.
struct Opaque<'a, E>(&'a E);

impl<E> fmt::Debug for Opaque<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = self.0;
        f.write_str(std::any::type_name::<E>())
    }
}

/// Declares `#[retry]`'s two event functions inside the retried function's body. Expanded
/// in the user's crate, so `module_path!()` (tracing's default target) is the function's
/// module; the level is a token the attribute picked. They are cold and out of line so the
/// happy path of the function carries none of tracing's code.
#[doc(hidden)]
#[macro_export]
macro_rules! __retry_events {
    ($level:ident, $name:expr) => {
        #[cold]
        #[inline(never)]
        fn __steadfast_retrying(
            attempt: u32,
            attempts: u32,
            delay: ::core::time::Duration,
            error: ::core::option::Option<$crate::__private::ErrorField<'_>>,
        ) {
            $crate::__private::tracing::event!(
                $crate::__private::tracing::Level::$level,
                "fn" = $name,
                attempt,
                attempts,
                delay_ms = $crate::__private::millis(delay),
                error = error.as_ref().map($crate::__private::tracing::field::display),
                "retrying"
            )
        }

        #[cold]
        #[inline(never)]
        fn __steadfast_gave_up(attempts: u32, error: ::core::option::Option<$crate::__private::ErrorField<'_>>) {
            $crate::__private::tracing::event!(
                $crate::__private::tracing::Level::$level,
                "fn" = $name,
                attempts,
                error = error.as_ref().map($crate::__private::tracing::field::display),
                "giving up"
            )
        }
    };
}

/// The `error` field of an event: `Display` where the error has it, else `Debug`, else
/// nothing, chosen by autoref specialisation where the error's type is concrete.
#[doc(hidden)]
#[macro_export]
macro_rules! __describe_error {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{DescribeDebug as _, DescribeDisplay as _, DescribeNothing as _};
        $error.and_then(|e| (&&&$crate::__private::Describe(e)).__steadfast_describe())
    }};
}
