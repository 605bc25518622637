//! What the hedged and the stream forms both hand the runtime's builder: the policy, the
//! guards and the timer, and the events' level and name (and `hooks::on_unless`). Each form
//! adds the methods of its own around these.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Signature;

use super::Ctx;
use crate::config::Level;
use crate::tokens::first_span;

/// The policy: the run-time one the `policy` key names, or one built from the literal keys.
pub(super) fn policy(ctx: &Ctx<'_>) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    match &config.policy {
        Some(given) => {
            let expr = &given.value;
            let at = first_span(expr);
            quote_spanned!(at=> *#rt::policy(&#expr))
        }
        None => {
            let setters = super::policy_setters(ctx);
            quote!(#rt::Policy::new() #setters)
        }
    }
}

/// `.breaker(&…)`, `.throttle(&…)`, `.budget(&…)` and `.timer::<…>()`, each at its expression.
pub(super) fn guards_and_timer(ctx: &Ctx<'_>) -> TokenStream {
    let config = ctx.config;
    let mut calls = TokenStream::new();
    for (method, given) in [("breaker", &config.breaker), ("throttle", &config.throttle), ("budget", &config.budget)] {
        if let Some(given) = given {
            let expr = &given.value;
            let at = first_span(expr);
            let method = Ident::new(method, at);
            calls.extend(quote_spanned!(at=> .#method(&#expr)));
        }
    }
    if let Some(given) = &config.timer {
        let timer = &given.value;
        calls.extend(quote_spanned!(first_span(timer)=> .timer::<#timer>()));
    }
    calls
}

/// `.log(level).named(name)`: the events at the `log` key's level, named for the fn.
pub(super) fn log_named(ctx: &Ctx<'_>, sig: &Signature) -> TokenStream {
    let rt = &ctx.rt;
    let level = Ident::new(
        match ctx.config.level() {
            Level::Error => "Error",
            Level::Warn => "Warn",
            Level::Info => "Info",
            Level::Debug => "Debug",
            Level::Trace => "Trace",
            Level::Off => "Off",
        },
        Span::call_site(),
    );
    let name = sig.ident.to_string();
    let name = Literal::string(name.strip_prefix("r#").unwrap_or(&name));
    quote!(.log(#rt::Log::#level).named(#name))
}
