//! The skeleton of a retried function's body, as a `macro_rules!` the attribute invokes.
//!
//! The attribute parses and checks the keys and builds the parts that must be reported at
//! the user's tokens (the return type, a key, a hook, a guard's expression); this macro
//! lays out the rest. rustc reads tokens from a `macro_rules!` about as cheaply as source,
//! where each token a procedural macro emits costs it more: a crate of 200 retried
//! functions checked 25% faster this way (`benches/compile_cost.rs`).
//!
//! Sections, in order, each in brackets:
//!
//! - `mode`: `async` or `blocking`;
//! - `names`: the locals (`call sig result`), made by the attribute so that its parts name
//!   them too (`result` is what holds an attempt's result: the attempt itself under `wrap`);
//! - `policy`: `lit [setters]` (a `const` from the literal keys) or `expr [decls] [ref]`;
//! - `sig`: the expression making the signature, spanned at the return type;
//! - `call`: `default [start] notify name` or `custom [expression] notify name` (`name`:
//!   the fn's, the `fn` label of its metrics);
//! - `guards`: `none`, or `some [decls] [set] [refused]`;
//! - `attempt`: `plain [ret] {body}` or `custom [statements]`;
//! - `after`: `[outcome] [hooks] [events]`, events being `off` or `on name LEVEL`;
//! - `give`: the caller's result.

/// The body of a retried function.
#[doc(hidden)]
#[macro_export]
macro_rules! __retry {
    (
        [$mode:ident]
        [$call:ident $sig:ident $result:ident]
        [$($policy:tt)*]
        [$($sig_init:tt)*]
        [$($call_init:tt)*]
        [$($guards:tt)*]
        [$($attempt:tt)*]
        [[$($outcome:tt)*] [$($hooks:tt)*] [$($events:tt)*]]
        [$($give:tt)*]
    ) => {
        $crate::__retry!(@policy [$($policy)*]
            [$mode] [$call $sig $result] [$($sig_init)*] [$($call_init)*] [$($guards)*]
            [$($attempt)*] [[$($outcome)*] [$($hooks)*] [$($events)*]] [$($give)*]);
    };

    // The policy: a `const` of the literal keys, or an expression borrowed for the call.
    (@policy [lit [$($setters:tt)*]] $($rest:tt)*) => {
        const __STEADFAST_POLICY: $crate::__private::Policy = $crate::__private::Policy::new() $($setters)*;
        $crate::__retry!(@body [&__STEADFAST_POLICY] $($rest)*);
    };
    (@policy [expr [$($decls:tt)*] [$($policy:tt)*]] $($rest:tt)*) => {
        $($decls)*
        $crate::__retry!(@body [$($policy)*] $($rest)*);
    };

    (@body [$($policy:tt)*] [$mode:ident] [$call:ident $sig:ident $result:ident] [$($sig_init:tt)*]
        [$($call_init:tt)*] [$($guards:tt)*] [$($attempt:tt)*]
        [[$($outcome:tt)*] [$($hooks:tt)*] [$($events:tt)*]] [$($give:tt)*]) => {
        let $sig = $($sig_init)*;
        $crate::__retry!(@guard_decls [$($guards)*]);
        let mut $call = $crate::__retry!(@call [$mode] [$($policy)*] [$($guards)*] [$($call_init)*]);
        loop {
            $crate::__retry!(@ready [$mode] [$call] [$($guards)*]);
            // A block of its own, so that the result is not kept across the sleep.
            {
                $crate::__retry!(@attempt [$mode] [$sig $result] [$($attempt)*]);
                // The happy path, decided before step 3's arguments exist.
                if $call.ends_at_once(&$($outcome)*, &$sig.hooks() $($hooks)*) {
                    return $($give)*;
                }
                // Moved to a place of its own: step 3 takes its address, and without the
                // move the happy path would store it there too (two stores a call).
                let $result = $result;
                if !$crate::__retry!(@after [$mode] [$call $sig] [$($policy)*] [$($guards)*]
                    [[$($outcome)*] [$($hooks)*] [$($events)*]]) {
                    return $($give)*;
                }
            }
            $crate::__retry!(@pause [$mode] [$call] [$($guards)*]);
        }
    };

    (@guard_decls [none]) => {};
    (@guard_decls [some [$($decls:tt)*] $($rest:tt)*]) => { $($decls)* };

    (@guard_set [none]) => { $crate::__private::Guards::new() };
    (@guard_set [some [$($decls:tt)*] [$($set:tt)*] $($rest:tt)*]) => { $($set)* };

    (@call [$mode:ident] [$($policy:tt)*] [$($guards:tt)*] [default [$start:ty] $notify:literal $name:literal]) => {
        $crate::__retry!(@new [$mode] [$start])($($policy)*, $crate::__retry!(@guard_set [$($guards)*]), $notify, $name)
    };
    (@call [$mode:ident] [$($policy:tt)*] [$($guards:tt)*] [custom [$($new:tt)*] $notify:literal $name:literal]) => {
        $($new)*($($policy)*, $crate::__retry!(@guard_set [$($guards)*]), $notify, $name)
    };
    (@new [async] [$start:ty]) => { $crate::__private::timed::<$crate::__private::DefaultTimer, _, _, _, $start> };
    // A sync fn sleeps on the thread, so its deadline reads the clock of the thread: std's,
    // even inside a paused tokio runtime.
    (@new [blocking] [$start:ty]) => { $crate::__private::blocking::<$crate::__private::StdClock, _, _, _, $start> };

    // Step 1: the sleep, then the guards (a refusal ends the call). Without guards the
    // sleep follows the decision to retry, so the first attempt starts with no check (and
    // an async fn's happy path has no await point but the body's).
    (@ready [$mode:ident] [$call:ident] [none]) => {};
    (@pause [async] [$call:ident] [none]) => { $call.pause().await; };
    (@pause [blocking] [$call:ident] [none]) => { $call.pause_blocking(); };
    (@pause [$mode:ident] [$call:ident] [some $($guards:tt)*]) => {};
    (@ready [async] [$call:ident] [some [$($decls:tt)*] [$($set:tt)*] [$refusal:ident => $($refused:tt)*]]) => {
        if let ::core::result::Result::Err($refusal) = $call.ready().await {
            return $($refused)*;
        }
    };
    (@ready [blocking] [$call:ident] [some [$($decls:tt)*] [$($set:tt)*] [$refusal:ident => $($refused:tt)*]]) => {
        if let ::core::result::Result::Err($refusal) = $call.ready_blocking() {
            return $($refused)*;
        }
    };

    // Step 2: the body afresh, as a non-`move` block so that `&mut` arguments are
    // re-borrowed; the `if false` return types `?` and `return` in the body before its own
    // value is checked (tracing-attributes does the same).
    (@attempt [async] [$sig:ident $result:ident] [plain [$ret:ty] {$($body:tt)*}]) => {
        let $result: $ret = async {
            if false {
                return $crate::__private::never::<$ret>();
            }
            $($body)*
        }
        .await;
    };
    (@attempt [blocking] [$sig:ident $result:ident] [plain [$ret:ty] {$($body:tt)*}]) => {
        #[allow(clippy::redundant_closure_call)]
        let $result: $ret = (|| {
            if false {
                return $crate::__private::never::<$ret>();
            }
            $($body)*
        })();
    };
    (@attempt [$mode:ident] [$sig:ident $result:ident] [custom [$($stmts:tt)*]]) => { $($stmts)* };

    // Step 3: whether to retry. With guards, a verdict may be on its way: only the call is
    // kept across the await, the outcome and the hooks are made again.
    (@after [async] [$call:ident $sig:ident] [$($policy:tt)*] [none] [[$($outcome:tt)*] [$($hooks:tt)*] [$($events:tt)*]]) => {
        $call.after($($policy)*, $($outcome)*, &mut $sig.hooks() $($hooks)*, &mut $crate::__retry!(@events [$sig] [$($events)*]))
    };
    (@after [async] [$call:ident $sig:ident] [$($policy:tt)*] [some $($guards:tt)*] [[$($outcome:tt)*] [$($hooks:tt)*] [$($events:tt)*]]) => {
        loop {
            let __steadfast_step = $call.after_now(
                $($policy)*,
                $($outcome)*,
                &mut $sig.hooks() $($hooks)*,
                &mut $crate::__retry!(@events [$sig] [$($events)*]),
            );
            match __steadfast_step {
                ::core::option::Option::Some(__steadfast_retry) => break __steadfast_retry,
                ::core::option::Option::None => $call.verdicts().await,
            }
        }
    };
    (@after [blocking] [$call:ident $sig:ident] [$($policy:tt)*] [$($guards:tt)*] [[$($outcome:tt)*] [$($hooks:tt)*] [$($events:tt)*]]) => {
        $call.after_blocking($($policy)*, $($outcome)*, &mut $sig.hooks() $($hooks)*, &mut $crate::__retry!(@events [$sig] [$($events)*]))
    };

    (@events [$sig:ident] [off]) => { $crate::__private::NoEvents };
    (@events [$sig:ident] [on $name:literal $level:ident [$($field:literal)*] [$($fields:tt)*]]) => {
        $crate::__retry_events!($sig, $name, $level, [$($field)*], $($fields)*)
    };
}
