//! A `fn` returning `impl Stream<Item = Result<T, E>>`: its body becomes the `make` closure
//! of the runtime's `RetryStream`, called afresh for each attempt, and each key one of the
//! builder's methods.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Expr, ReturnType, Signature, Type, TypeParamBound};

use super::hooks::types_test;
use super::Ctx;
use crate::config::{Given, Level};
use crate::tokens::first_span;

/// Whether `sig` is a stream fn: not `async`, returning `impl … Stream<…>` (any path whose
/// last segment is `Stream`).
pub(crate) fn is_stream(sig: &Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else { return false };
    let Type::ImplTrait(impl_trait) = &**ty else { return false };
    sig.asyncness.is_none()
        && impl_trait.bounds.iter().any(|bound| match bound {
            TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Stream"),
            _ => false,
        })
}

/// The `Item` a stream fn's return type names: `Result<T, E>` in `impl Stream<Item = …>`.
fn item(sig: &Signature) -> Option<&Type> {
    let ReturnType::Type(_, ty) = &sig.output else { return None };
    let Type::ImplTrait(impl_trait) = &**ty else { return None };
    impl_trait.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(t) = bound else { return None };
        let last = t.path.segments.last().filter(|s| s.ident == "Stream")?;
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// The body of a stream fn: the policy, `retry_stream(move || { body })`, then one method
/// per key.
pub(super) fn body(ctx: &Ctx<'_>, sig: &Signature, rebinds: Vec<TokenStream>, stmts: TokenStream) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let policy = match &config.policy {
        Some(given) => {
            let expr = &given.value;
            let at = first_span(expr);
            quote_spanned!(at=> *#rt::policy(&#expr))
        }
        None => {
            let setters = super::policy_setters(ctx);
            quote!(#rt::Policy::new() #setters)
        }
    };
    let item = match item(sig) {
        Some(item) => {
            let at = first_span(item);
            let item = crate::tokens::respan(item.to_token_stream(), at);
            quote_spanned!(at=> #item)
        }
        None => quote!(_),
    };
    let mut chain = quote!(#rt::retry_stream::<#item, _, _>(#policy, move || { #(#rebinds)* #stmts }));
    if let Some(on) = &config.on {
        let test = types_test(rt, on);
        chain.extend(quote!(.on(#test)));
    }
    if let Some(unless) = &config.unless {
        let test = types_test(rt, unless);
        chain.extend(quote!(.unless(#test)));
    }
    for (method, given) in [("when", &config.when), ("retry_after", &config.retry_after), ("notify", &config.notify)] {
        if let Some(given) = given {
            chain.extend(hook(method, given));
        }
    }
    let durations = [("first_item_timeout", &config.first_item_timeout), ("idle_timeout", &config.idle_timeout)];
    for (method, given) in durations {
        if let Some(given) = given {
            let (secs, nanos) = (given.value.as_secs(), given.value.subsec_nanos());
            let method = Ident::new(method, given.key.span());
            chain.extend(quote!(.#method(#rt::duration(#secs, #nanos))));
        }
    }
    for (method, given) in [("breaker", &config.breaker), ("throttle", &config.throttle), ("budget", &config.budget)] {
        if let Some(given) = given {
            let expr = &given.value;
            let at = first_span(expr);
            let method = Ident::new(method, at);
            chain.extend(quote_spanned!(at=> .#method(&#expr)));
        }
    }
    if let Some(given) = &config.timer {
        let timer = &given.value;
        chain.extend(quote_spanned!(first_span(timer)=> .timer::<#timer>()));
    }
    let level = Ident::new(
        match config.level() {
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
    chain.extend(quote!(.log(#rt::Log::#level).named(#name)));
    // Last: a resume of the wrong shape is reported at the hook, with no method after it
    // to fail again.
    if let Some(given) = &config.resume {
        chain.extend(hook("resume", given));
    }
    chain
}

/// `.method(hook)`, spanned at the hook so that one of the wrong shape is reported there.
/// A closure is made `move`: the stream it is part of outlives the fn's locals.
fn hook(method: &str, given: &Given<Expr>) -> TokenStream {
    let mut expr = given.value.clone();
    if let Expr::Closure(closure) = &mut expr {
        if closure.capture.is_none() {
            closure.capture = Some(syn::Token![move](closure.or1_token.span));
        }
    }
    let at = first_span(&expr);
    let method = Ident::new(method, at);
    let expr = expr.into_token_stream();
    quote_spanned!(at=> .#method(#expr))
}
