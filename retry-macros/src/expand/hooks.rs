//! The hooks of each attempt: `on` and `unless` as type tests on the error's `source()`
//! chain, `when`, `if_ok`, `retry_after` and `notify` as the user wrote them.
//!
//! They are built afresh for each attempt, where the attempt's types are known, so a
//! closure needs no annotations and a hook may borrow what the body borrows mutably.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::Ctx;
use crate::config::Given;
use crate::tokens::{first_span, local, located, parens_at};

/// `.on(…).unless(…).when(…)…`, one call per key given, to follow `__sig.hooks()`.
pub(super) fn hooks(ctx: &Ctx<'_>, sig: &Ident) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let mut hooks = on_unless(ctx);
    if let Some(unless) = &config.unless {
        if ctx.wrap {
            // With `wrap` a timeout has no body error: `unless` tests the `Elapsed` itself.
            let tests = unless.value.iter().map(|ty| {
                let is = located(quote!(#rt::elapsed_is), ty.span());
                quote_spanned!(ty.span()=> #is::<#ty>())
            });
            hooks.extend(quote!(.never_elapsed(#(#tests)||*)));
        }
    }
    for (method, given) in [
        ("when", &config.when),
        ("if_ok", &config.if_ok),
        ("retry_after", &config.retry_after),
        ("notify", &config.notify),
    ] {
        if let Some(given) = given {
            let expr = &given.value;
            // A hook of the wrong shape is reported once, at the hook: `__sig`'s check gives
            // it the parameter types and returns it as a type that passes every later bound.
            let method = Ident::new(method, Span::call_site());
            let at = first_span(expr);
            let check = located(quote!(#sig.#method), at);
            // By value (a block, so a field is moved, not borrowed mutably), as a temporary
            // for the attempt's step; the coercion to `dyn FnMut` types a closure's parameters.
            let borrow = located(quote!(&mut), at);
            let mut value = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, expr.to_token_stream());
            value.set_span(at);
            let args = parens_at(quote!(#borrow #value), at);
            hooks.extend(quote!(.#method(#check #args)));
        }
    }
    hooks
}

/// `.on(…)` and `.unless(…)`, for the keys given.
pub(super) fn on_unless(ctx: &Ctx<'_>) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let mut calls = TokenStream::new();
    for (method, given) in [("on", &config.on), ("unless", &config.unless)] {
        if let Some(given) = given {
            let method = Ident::new(method, Span::call_site());
            let test = types_test(rt, given);
            calls.extend(quote!(.#method(#test)));
        }
    }
    calls
}

/// A closure testing whether an error is, or has in its `source()` chain, one of `types`.
pub(super) fn types_test(rt: &TokenStream, given: &Given<Vec<Type>>) -> TokenStream {
    let [err, chain] = ["__err", "__chain"].map(local);
    // `view(…).pick()` finds the `dyn Error` by autoderef; `chain`'s bound then reports an
    // error type without one at the key (E0277 with `ErrorChain`'s message).
    let view_of = located(quote!(#rt::view), given.span());
    let chain_of = located(quote!(#rt::chain), given.span());
    let view = quote_spanned!(given.span()=> #chain_of(#view_of(#err).pick()));
    let tests = given.value.iter().map(|ty| {
        let caused_by = located(quote!(#rt::caused_by), ty.span());
        quote_spanned!(ty.span()=> #caused_by::<#ty>(#chain))
    });
    quote!(|#err| {
        let #chain = #view;
        #(#tests)||*
    })
}
