//! A `fn` returning `impl Stream<Item = Result<T, E>>`: its body becomes the `make` closure
//! of the runtime's `RetryStream`, called afresh for each attempt, and each key one of the
//! builder's methods.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Expr, ReturnType, Signature, Type, TypeParamBound};

use super::{builder, hooks, Ctx};
use crate::config::Given;
use crate::tokens::first_span;

/// Whether `sig` is a stream fn: not `async`, returning `impl … Stream<…>` (any path whose
/// last segment is `Stream`).
pub(crate) fn is_stream(sig: &Signature) -> bool {
    sig.asyncness.is_none() && stream_bound(sig).is_some()
}

/// The `Stream<…>` segment of the return type's `impl` bounds.
fn stream_bound(sig: &Signature) -> Option<&syn::PathSegment> {
    let ReturnType::Type(_, ty) = &sig.output else { return None };
    let Type::ImplTrait(impl_trait) = &**ty else { return None };
    impl_trait.bounds.iter().find_map(|bound| match bound {
        TypeParamBound::Trait(t) => t.path.segments.last().filter(|s| s.ident == "Stream"),
        _ => None,
    })
}

/// The `Item` a stream fn's return type names: `Result<T, E>` in `impl Stream<Item = …>`.
fn item(sig: &Signature) -> Option<&Type> {
    let syn::PathArguments::AngleBracketed(args) = &stream_bound(sig)?.arguments else { return None };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(&assoc.ty),
        _ => None,
    })
}

/// The body of a stream fn: the policy, `retry_stream(move || { body })`, then one method
/// per key.
pub(super) fn body(ctx: &Ctx<'_>, sig: &Signature, rebinds: Vec<TokenStream>, stmts: TokenStream) -> TokenStream {
    let Ctx { config, rt, .. } = ctx;
    let policy = builder::policy(ctx);
    let item = match item(sig) {
        Some(item) => {
            let at = first_span(item);
            let item = crate::tokens::respan(item.to_token_stream(), at);
            quote_spanned!(at=> #item)
        }
        None => quote!(_),
    };
    let mut chain = quote!(#rt::retry_stream::<#item, _, _>(#policy, move || { #(#rebinds)* #stmts }));
    chain.extend(hooks::on_unless(ctx));
    for (method, given) in [("when", &config.when), ("retry_after", &config.retry_after), ("notify", &config.notify)] {
        if let Some(given) = given {
            chain.extend(hook(method, given));
        }
    }
    let durations = [("first_item_timeout", &config.first_item_timeout), ("idle_timeout", &config.idle_timeout)];
    for (method, given) in durations {
        if let Some(given) = given {
            let method = Ident::new(method, given.key.span());
            let duration = super::duration(rt, &given.value);
            chain.extend(quote!(.#method(#duration)));
        }
    }
    chain.extend(builder::guards_and_timer(ctx));
    chain.extend(builder::log_named(ctx, sig));
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
