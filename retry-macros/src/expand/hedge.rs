//! A hedged `async fn` (`hedge = …`): its body becomes the operation of the runtime's
//! hedged builder, called afresh for each copy, and each key one of the builder's methods.
//! And `fallback = …`, for every fn: the call's error handed to it once the retries are
//! spent.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Signature;

use super::{builder, hooks, Ctx};
use crate::attr::Hedge;
use crate::tokens::{first_span, local, located};

/// The body of a hedged fn: `hedged(policy, || { clones; async move { body } })`, the
/// hooks, guards and timer, `.hedge(delay)`, awaited; through the fallback if there is one.
pub(super) fn body(ctx: &Ctx<'_>, sig: &Signature, rebinds: Vec<TokenStream>, stmts: TokenStream) -> TokenStream {
    let Ctx { config, rt, ret, ret_span, .. } = ctx;
    let policy = builder::policy(ctx);
    let (make, never) = if ctx.wrap {
        (quote!(wrapped_hedged), crate::tokens::respan(quote!(#rt::never_wrapped::<#ret>()), *ret_span))
    } else {
        (quote!(hedged), quote!(#rt::never::<#ret>()))
    };
    let make = crate::tokens::respan(quote!(#rt::#make::<#ret, _, _>), *ret_span);
    // Each copy gets its own clones of the owned arguments; `&` arguments are copied in.
    let op = quote!(|| { #(#rebinds)* async move { if false { return #never; } #stmts } });
    let mut chain = quote!(#make(#policy, #op));
    chain.extend(hooks::on_unless(ctx));
    for (method, given) in [
        ("when", &config.when),
        ("if_ok", &config.if_ok),
        ("retry_after", &config.retry_after),
        ("notify", &config.notify),
    ] {
        if let Some(given) = given {
            let expr = &given.value;
            let at = first_span(expr);
            let method = Ident::new(method, at);
            chain.extend(quote_spanned!(at=> .#method(#expr)));
        }
    }
    chain.extend(builder::guards_and_timer(ctx));
    if ctx.wrap {
        chain.extend(quote!(.wrap()));
    }
    match (&config.timeout, &config.policy) {
        (Some(given), _) => {
            let method = Ident::new("timeout", given.key.span());
            let timeout = super::duration(rt, &given.value);
            chain.extend(quote!(.#method(#timeout)));
        }
        // A run-time policy's own timeout, as for a retried fn.
        (None, Some(given)) if !ctx.wrap => {
            let method = Ident::new("timed", given.key.span());
            chain.extend(quote!(.#method()));
        }
        _ => {}
    }
    chain.extend(builder::log_named(ctx, sig));
    let mut statics = TokenStream::new();
    if let Some(given) = &config.hedge {
        let key = given.key.span();
        let delay = match given.value {
            Hedge::After(d) => super::duration(rt, &d),
            Hedge::Percentile(p) => {
                let latencies = Ident::new("__STEADFAST_LATENCIES", Span::call_site());
                let p = Literal::f64_suffixed(p);
                statics = quote!(static #latencies: #rt::Latencies = #rt::Latencies::percentile(#p););
                quote!(&#latencies)
            }
        };
        let method = Ident::new("hedge", key);
        chain.extend(quote!(.#method(#delay)));
    }
    if config.fallback.is_some() {
        let end = local("end");
        let at = config.fallback.as_ref().map_or_else(Span::call_site, |g| g.key.span());
        let ending = located(quote!(#rt::ending), at);
        let finish = finish(ctx, &end, true);
        quote! {
            #statics
            let #end = #ending(#chain).await;
            #finish
        }
    } else {
        quote! {
            #statics
            #chain.await
        }
    }
}

/// The caller's result from `end`, a `(result, spent)` pair: the fallback's when the
/// retries were spent with an error.
pub(super) fn finish(ctx: &Ctx<'_>, end: &Ident, is_async: bool) -> TokenStream {
    let Ctx { config, rt, ret, .. } = ctx;
    let Some(given) = &config.fallback else { return quote!(#end.0) };
    let expr = &given.value;
    let at = first_span(expr);
    let [error, result] = ["error", "result"].map(local);
    let call = if is_async {
        // The whole call at the fallback, so that a wrong shape is reported there only.
        let fallback = located(quote!(#rt::fallback::<#ret, _, _, _>), at);
        quote_spanned!(at=> #fallback(#expr, #error).await)
    } else {
        let fallback = located(quote!(#rt::fallback_blocking::<#ret, _>), at);
        quote_spanned!(at=> #fallback(#expr, #error))
    };
    quote! {
        match #end {
            (::core::result::Result::Err(#error), true) => #call,
            (#result, _) => #result,
        }
    }
}
