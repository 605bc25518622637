//! Code for the shared guards: `throttle`, `breaker`, `budget`.
//!
//! Before each attempt the breaker lets it through (or the call ends with `E::from(Open)`),
//! then the throttle gives it a permit; after it is classified, the breaker and the budget
//! hear how it went and may forbid the retry. Each guard is passed by reference to a
//! runtime function bounded by `AsGuard<Guard>`: the call is spanned at the key and the
//! reference at the user's path, so a path to the wrong thing is reported at the path.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

use crate::attr::{self, Args};
use crate::tokens::{first_span, local, respan};

/// What the loop has already built that a guard reads.
pub(crate) struct Locals<'a> {
    /// `#krate::__private`.
    pub(crate) rt: &'a TokenStream,
    /// The attempt's outcome as `Result<&T, &E>`, the loop's one read of the return type.
    pub(crate) outcome: &'a Ident,
    /// Whether the classification (`on`/`unless`/`when`/`if_ok`, timeouts) wants a retry.
    pub(crate) retry: &'a Ident,
    /// The return type with `impl Trait` erased to `_`, every token at `ret_span`.
    pub(crate) ret_at_ret: &'a TokenStream,
    /// The first token of the return type: where a return type that is not a `Result` is
    /// reported, once.
    pub(crate) ret_span: Span,
    pub(crate) is_async: bool,
}

/// What the guards add to the retry loop.
#[derive(Default)]
pub(crate) struct GuardCode {
    /// Statements run before each attempt; they may `return` a result early.
    pub(crate) before: TokenStream,
    /// A `bool` expression run after each attempt is classified: whether a retry may still
    /// happen. `None` when no guard is configured.
    pub(crate) after: Option<TokenStream>,
}

pub(crate) fn guards(args: &Args, locals: &Locals<'_>) -> GuardCode {
    let Locals { rt, outcome, retry, ret_at_ret, ret_span, is_async } = *locals;
    let mut before = TokenStream::new();
    let is_ok = quote!(#outcome.is_ok());
    // Each guard's verdict in its own local, so that every guard hears of every attempt.
    let mut verdicts = Vec::new();

    if let Some(Guard { key, arg }) = guard(args, attr::BREAKER) {
        let permit = local("__breaker_permit");
        let turned_away = local("__open");
        let admit = respan(quote!(#rt::breaker), key);
        // Every token of each call at one span, parentheses included: rustc reports an
        // unmet bound of an inferred call at the span of the whole call. `open` asks for
        // `From<Open>` at the key; `turned_away` names the return type at the return type,
        // as the loop's outcome does, so that one that is not a `Result` is reported once.
        let open = respan(quote!(#rt::open), key);
        let error = local("__open_error");
        let open_error = quote_spanned!(key=> #open(#turned_away));
        let result_fn = respan(quote!(#rt::turned_away::<#ret_at_ret, _>), ret_span);
        let turned_away_result = quote_spanned!(ret_span=> #result_fn(#error));
        before.extend(quote! {
            let #permit = match #admit(#arg) {
                ::core::result::Result::Ok(#permit) => #permit,
                ::core::result::Result::Err(#turned_away) => {
                    let #error = #open_error;
                    return #turned_away_result;
                }
            };
        });
        let verdict = local("__breaker_verdict");
        verdicts.push((verdict, quote!(#rt::breaker_record(#permit, #is_ok, #retry))));
    }

    if let Some(Guard { key, arg }) = guard(args, attr::THROTTLE) {
        if is_async {
            // In process or through Redis; a permit that can be refused (Redis down, failing
            // closed) ends the call with `E::from(refusal)`, asked for at the key.
            // The whole expression at the path: rustc reports a wrong type both for the
            // argument and for the awaited permit, and identical spans merge the two.
            let at_path = first_span(&arg);
            let permit = respan(quote!(#rt::throttle_permit), at_path);
            let refused_fn = respan(quote!(#rt::refused::<#ret_at_ret, _>), key);
            let wait = quote_spanned!(at_path=> #refused_fn(#permit(#arg).await));
            let refused = local("__refused");
            before.extend(quote! {
                if let ::core::option::Option::Some(#refused) = #wait {
                    return #refused;
                }
            });
        } else {
            // The bound is on `throttle` alone, whose result names no generic: one error.
            let throttle = respan(quote!(#rt::throttle), key);
            before.extend(quote!(#throttle(#arg).acquire_blocking();));
        }
    }

    if let Some(Guard { key, arg }) = guard(args, attr::BUDGET) {
        let verdict = local("__budget_verdict");
        if is_async {
            // A budget shared through Redis answers asynchronously; in process at once.
            let record = respan(quote!(#rt::budget_verdict), key);
            verdicts.push((verdict, quote!(#record(#arg, #is_ok, #retry).await)));
        } else {
            let record = respan(quote!(#rt::budget_record), key);
            verdicts.push((verdict, quote!(#record(#arg, #is_ok, #retry))));
        }
    }

    let after = (!verdicts.is_empty()).then(|| {
        let names = verdicts.iter().map(|(name, _)| name);
        let lets = verdicts.iter().map(|(name, expr)| quote!(let #name: bool = #expr;));
        quote!({
            #(#lets)*
            #(#names)&&*
        })
    });
    GuardCode { before, after }
}

/// A guard key's value, ready to pass to the runtime.
struct Guard {
    /// The key's span: a call the runtime's bound rejects is labelled there.
    key: Span,
    /// `&path`, the `&` at the path too, so that a guard of the wrong type is reported at
    /// the user's path.
    arg: TokenStream,
}

fn guard(args: &Args, name: &str) -> Option<Guard> {
    let path = args.expr(name)?;
    let key = args.get(name).map_or_else(|| first_span(path), |arg| arg.ident.span());
    let borrow = respan(quote!(&), first_span(path));
    Some(Guard { key, arg: quote!(#borrow #path) })
}
