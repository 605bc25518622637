//! Judges the arguments and the function together; pushes errors, returns nothing.

use std::time::Duration;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{FnArg, GenericParam, Ident, ReturnType, Type};

use crate::ast::{Body, RetryFn};
use crate::config::{Backoff, Config, Given};
use crate::errors::Errors;

/// The runtime's default `max`, mirrored for the compile-time bound check. (The default
/// `min` is lowered to `max` at run time, so it never needs checking.)
const DEFAULT_MAX: Duration = Duration::from_secs(30);

pub(crate) fn check(config: &Config, func: &RetryFn, errors: &mut Errors) {
    check_values(config, errors);
    check_bounds(config, errors);
    check_combinations(config, func, errors);
    check_stream(config, func, errors);
    check_hedge(config, func, errors);
    check_item(func, errors);
}

/// A hedged fn runs copies of its body at once: an `async fn` (not a stream) whose
/// arguments no two copies can both hold mutably.
fn check_hedge(config: &Config, func: &RetryFn, errors: &mut Errors) {
    let is_stream = crate::expand::stream::is_stream(&func.sig);
    if let Some(fallback) = &config.fallback {
        if is_stream {
            errors.spanned(
                &fallback.key,
                "`fallback` does not apply to a retried stream: the error that ends it is its last item",
            );
        }
    }
    let Some(hedge) = &config.hedge else { return };
    if is_stream {
        errors.spanned(&hedge.key, "`hedge` does not apply to a retried stream: its first item commits it");
        return;
    }
    if func.sig.asyncness.is_none() {
        errors.spanned(
            &hedge.key,
            "`hedge` needs an `async fn`: a hedged call runs its copies at the same time, which a blocking fn cannot",
        );
        return;
    }
    if let Some(fields) = &config.fields {
        errors.spanned(&fields.key, "`fields` does not apply to a hedged fn: its events carry no fields yet");
    }
    // The hedge delay is the only wait between copies: a backoff key would do nothing.
    let backoff_keys = [
        config.min.as_ref().map(|g| &g.key),
        config.base.as_ref().map(|g| &g.key),
        config.max.as_ref().map(|g| &g.key),
        config.step.as_ref().map(|g| &g.key),
    ];
    let backoff_keys = backoff_keys
        .into_iter()
        .chain([config.backoff.as_ref().map(|g| &g.key), config.factor.as_ref().map(|g| &g.key)])
        .chain([config.jitter.as_ref().map(|g| &g.key)])
        .flatten();
    for key in backoff_keys {
        errors.spanned(
            key,
            format!(
                "`{key}` has no effect on a hedged fn: its copies are sent after the `hedge` delay, never after a \
                 backoff; remove it"
            ),
        );
    }
    for input in mut_borrows(&func.sig) {
        errors.spanned(
            input,
            "a hedged fn cannot take a `&mut` argument: its copies run at the same time, and two cannot hold \
             one mutable borrow; take `&` (with a `Mutex` or an atomic inside) or an owned value, cloned per copy",
        );
    }
}

/// The `&mut` arguments (`&mut self` included): none can be held by two copies or two
/// attempts at once.
fn mut_borrows(sig: &syn::Signature) -> impl Iterator<Item = &FnArg> {
    sig.inputs.iter().filter(|input| match input {
        FnArg::Receiver(r) => r.reference.is_some() && r.mutability.is_some(),
        FnArg::Typed(t) => matches!(&*t.ty, Type::Reference(r) if r.mutability.is_some()),
    })
}

/// The keys of a stream fn, and the keys and arguments it cannot take.
fn check_stream(config: &Config, func: &RetryFn, errors: &mut Errors) {
    let stream_keys =
        [config.first_item_timeout.as_ref().map(|g| &g.key), config.idle_timeout.as_ref().map(|g| &g.key)];
    let stream_keys = stream_keys.into_iter().flatten().chain(config.resume.as_ref().map(|g| &g.key));
    if !crate::expand::stream::is_stream(&func.sig) {
        let found = match (&func.sig.asyncness, &func.sig.output) {
            (Some(_), _) => "this is an `async fn`".to_string(),
            (None, ReturnType::Type(_, ty)) => format!("this fn returns `{}`", shown(ty)),
            (None, ReturnType::Default) => "this fn returns `()`".to_string(),
        };
        for key in stream_keys {
            errors.spanned(
                key,
                format!(
                    "`{key}` applies to a retried stream: a (non-async) fn returning \
                     `impl Stream<Item = Result<T, E>>`; {found}"
                ),
            );
        }
        return;
    }
    if let Some(timeout) = &config.timeout {
        errors.spanned(
            &timeout.key,
            "`timeout` limits one attempt of a call, and a stream has no end to time: use `first_item_timeout` \
             (until the first item) and `idle_timeout` (between items)",
        );
    }
    let unsupported = [
        (config.if_ok.as_ref().map(|g| &g.key), "a stream's items are never retried once one has come"),
        (config.wrap.as_ref().map(|g| &g.key), "a stream's errors are its items' own"),
        (config.fields.as_ref().map(|g| &g.key), "a stream's events carry no fields yet"),
    ];
    for (key, why) in unsupported {
        if let Some(key) = key {
            errors.spanned(key, format!("`{key}` does not apply to a retried stream: {why}"));
        }
    }
    for input in mut_borrows(&func.sig) {
        errors.spanned(
            input,
            "a retried stream cannot take a `&mut` argument: its body is called again for each attempt while \
             the stream it returned may still hold the borrow; take `&` (with a `Mutex` or `RefCell` inside) \
             or an owned value",
        );
    }
}

fn check_values(config: &Config, errors: &mut Errors) {
    if let Some(Given { value: n, tokens, .. }) = &config.attempts {
        if *n < 1 {
            errors.spanned(
                tokens,
                format!("`attempts` counts every call including the first, so it must be at least 1, found `{n}`"),
            );
        } else if *n > i128::from(u32::MAX) {
            errors.spanned(
                tokens,
                format!(
                    "`attempts = {n}` is too large; the maximum is {} (use `deadline` to bound a long retry)",
                    u32::MAX
                ),
            );
        }
    }
    if let Some(Given { value: f, tokens, .. }) = &config.factor {
        if !(*f > 1.0 && f.is_finite()) {
            errors.spanned(
                tokens,
                format!("`factor` must be a finite number greater than 1 (each delay grows by it), found `{f}`"),
            );
        }
    }
    let zero = |given: &Option<Given<Duration>>, name: &str, fix: &str, errors: &mut Errors| {
        if let Some(Given { value, tokens, .. }) = given {
            if value.is_zero() {
                errors.spanned(tokens, format!("`{name}` must be greater than zero{fix}"));
            }
        }
    };
    zero(&config.max, "max", "; to retry without sleeping use `backoff = \"none\"`", errors);
    zero(&config.timeout, "timeout", "", errors);
    zero(&config.deadline, "deadline", "", errors);
}

fn check_bounds(config: &Config, errors: &mut Errors) {
    let max_text = match &config.max {
        Some(max) => format!("`max` ({})", written(max)),
        None => format!("the default `max` of {}; raise `max`", show(DEFAULT_MAX)),
    };
    let max = config.max.as_ref().map_or(DEFAULT_MAX, |g| g.value);
    for (name, given) in [("min", &config.min), ("base", &config.base)] {
        if let Some(given) = given {
            if given.value > max {
                errors.spanned(&given.tokens, format!("`{name}` ({}) is larger than {max_text}", written(given)));
            }
        }
    }
}

fn check_combinations(config: &Config, func: &RetryFn, errors: &mut Errors) {
    if config.policy.is_some() {
        for key in config.policy_keys() {
            errors.spanned(
                key,
                format!(
                    "`{key}` is part of the policy, and this function takes its policy from `policy = …`; \
                     set it on that `Policy` instead (e.g. `Policy::new().{key}(…)`), or drop `policy`"
                ),
            );
        }
    }
    let backoff = config.backoff();
    let only_with = |given: Option<&Ident>, key: &str, shape: Backoff, errors: &mut Errors| {
        if let Some(ident) = given {
            if backoff != shape {
                let current = match &config.backoff {
                    Some(_) => format!("this function uses `backoff = \"{}\"`", backoff.name()),
                    None => format!("`backoff` is `\"exp\"` by default; add `backoff = \"{}\"`", shape.name()),
                };
                errors
                    .spanned(ident, format!("`{key}` only applies to `backoff = \"{}\"`, but {current}", shape.name()));
            }
        }
    };
    only_with(config.step.as_ref().map(|g| &g.key), "step", Backoff::Linear, errors);
    only_with(config.factor.as_ref().map(|g| &g.key), "factor", Backoff::Exponential, errors);
    if backoff == Backoff::None {
        let keys = [
            config.min.as_ref().map(|g| &g.key),
            config.base.as_ref().map(|g| &g.key),
            config.max.as_ref().map(|g| &g.key),
            config.jitter.as_ref().map(|g| &g.key),
        ];
        for key in keys.into_iter().flatten() {
            errors.spanned(
                key,
                format!("`{key}` has no effect with `backoff = \"none\"`, which retries without sleeping; remove it"),
            );
        }
    }
    if let (Some(hint), None) = (&config.hint_above_max, &config.retry_after) {
        errors.spanned(
            &hint.key,
            "`hint_above_max` decides what a server's hint longer than `max` does, but this fn reads no hint; \
             add `retry_after = …` (e.g. `retry_after = Failure::retry_after`) or remove this key",
        );
    }
    if func.sig.asyncness.is_none() && !crate::expand::stream::is_stream(&func.sig) {
        if let Some(timeout) = &config.timeout {
            errors.spanned(
                &timeout.key,
                "`timeout` needs an `async fn`: a blocking call cannot be interrupted; use `deadline` to bound the retries instead",
            );
        }
    }
}

fn check_item(func: &RetryFn, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.spanned(
            constness,
            "`#[retry]` cannot go on a `const fn`: retrying needs a loop with sleeps, which a `const fn` cannot run",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "`#[retry]` cannot go on an `extern` fn; retry inside a Rust fn that it calls");
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "`#[retry]` cannot go on a variadic fn");
    }
    if let Body::Missing(semi) = &func.body {
        errors.spanned(
            semi,
            "`#[retry]` needs a body to retry; put it on the method in each `impl`, or give the trait method a default body",
        );
    }
    if is_async_trait_output(func) {
        errors.spanned(
            &sig.ident,
            "`#[retry]` runs after `#[async_trait]` has turned this `async fn` into a boxed future, which it cannot retry; \
             use a native `async fn` in the trait (Rust 1.75+) without `#[async_trait]`",
        );
    }
    if let Body::Block { stmts, .. } = &func.body {
        if mentions(stmts, "__tracing_attr_span") || mentions(stmts, "__tracing_instrument_future") {
            errors.at(
                Span::call_site(),
                "`#[retry]` is below `#[tracing::instrument]`, which has already rewritten the body; \
                 put `#[retry]` above `#[instrument]` so the span wraps the whole retry loop",
            );
        }
    }
    match &sig.output {
        ReturnType::Default => errors.spanned(
            &sig.ident,
            format!("`#[retry]` requires the function to return `Result<_, _>`; `{}` returns `()`", sig.ident),
        ),
        ReturnType::Type(_, ty) => {
            if returns_mut_borrow(func, ty) && !crate::expand::stream::is_stream(sig) {
                errors.spanned(
                    ty,
                    "`#[retry]` cannot return a borrow of a `&mut` argument: each attempt needs a fresh mutable borrow, \
                     and the borrow checker cannot end one that is returned (rust-lang/rust#54663); return an owned value instead",
                );
            }
        }
    }
}

/// `#[async_trait]` output: an `'async_trait` lifetime in the generics or the return type.
fn is_async_trait_output(func: &RetryFn) -> bool {
    let in_generics = func
        .sig
        .generics
        .params
        .iter()
        .any(|p| matches!(p, GenericParam::Lifetime(l) if l.lifetime.ident == "async_trait"));
    in_generics || matches!(&func.sig.output, ReturnType::Type(_, ty) if mentions(&quote::quote!(#ty), "async_trait"))
}

fn mentions(tokens: &TokenStream, ident: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(i) => i == ident,
        TokenTree::Group(g) => mentions(&g.stream(), ident),
        _ => false,
    })
}

/// A return type borrowing from `&mut self` or a `&mut` argument (by elision or by name).
fn returns_mut_borrow(func: &RetryFn, ret: &Type) -> bool {
    let mut lifetimes = Lifetimes::default();
    lifetimes.visit_type(ret);
    if !lifetimes.any_reference {
        return false;
    }
    func.sig.inputs.iter().any(|input| match input {
        FnArg::Receiver(r) => match &r.reference {
            Some((_, lifetime)) if r.mutability.is_some() => match lifetime {
                None => lifetimes.elided,
                Some(l) => lifetimes.named.contains(&l.ident.to_string()),
            },
            _ => false,
        },
        FnArg::Typed(t) => match &*t.ty {
            Type::Reference(r) if r.mutability.is_some() => match &r.lifetime {
                // Elision gives the output this borrow only when it is the sole input lifetime.
                None => lifetimes.elided && func.sig.inputs.len() == 1,
                Some(l) => lifetimes.named.contains(&l.ident.to_string()),
            },
            _ => false,
        },
    })
}

#[derive(Default)]
struct Lifetimes {
    any_reference: bool,
    elided: bool,
    named: Vec<String>,
}

impl<'ast> Visit<'ast> for Lifetimes {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        self.any_reference = true;
        if r.lifetime.is_none() {
            self.elided = true;
        }
        syn::visit::visit_type_reference(self, r);
    }

    fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
        self.any_reference = true;
        if l.ident == "_" {
            self.elided = true;
        } else if l.ident != "static" {
            self.named.push(l.ident.to_string());
        }
    }
}

/// A type as the user would write it: `Result<u32, E>`, not `Result < u32 , E >`.
fn shown(ty: &Type) -> String {
    let text = quote::quote!(#ty).to_string();
    [(" < ", "<"), (" <", "<"), ("< ", "<"), (" >", ">"), (" ,", ","), ("& ", "&"), (" :: ", "::")]
        .iter()
        .fold(text, |text, (from, to)| text.replace(from, to))
}

/// A duration as the user wrote it: `"60s"`, not `1m`.
fn written(given: &Given<Duration>) -> String {
    match syn::parse2::<syn::LitStr>(given.tokens.clone()) {
        Ok(lit) => format!("\"{}\"", lit.value()),
        Err(_) => show(given.value),
    }
}

/// `2s`, `1m30s`, `250ms`: how a duration is shown in messages.
fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        format!("{}us", d.as_micros())
    } else if ms % 1000 != 0 {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        match (s / 60, s % 60) {
            (0, s) => format!("{s}s"),
            (m, 0) => format!("{m}m"),
            (m, s) => format!("{m}m{s}s"),
        }
    }
}
