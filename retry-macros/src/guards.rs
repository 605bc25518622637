//! Code for the shared guards: `throttle`, `breaker`, `budget`.
//!
//! Before each attempt the breaker lets it through (or the call ends with `E::from(Open)`),
//! then the throttle gives it a permit; after it is classified, the breaker and the budget
//! hear how it went and may forbid the retry. Each guard is passed by reference to a
//! runtime function bounded by `AsGuard<Guard>`, spanned at the user's path, so a path to
//! the wrong thing is reported there.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};

use crate::attr::{self, Args};

/// The generated locals a guard may read.
pub(crate) struct Locals<'a> {
    /// `#krate::__private`.
    pub(crate) rt: &'a TokenStream,
    /// The attempt's outcome, the function's `Result`.
    pub(crate) result: &'a Ident,
    /// Whether the classification (`on`/`unless`/`when`/`if_ok`, timeouts) wants a retry.
    pub(crate) retry: &'a Ident,
    /// The return type with `impl Trait` erased to `_`.
    pub(crate) ret: &'a syn::Type,
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
    let Locals { rt, result, retry, ret, is_async } = *locals;
    let mut before = TokenStream::new();
    // Each guard's verdict in its own local, so that every guard hears of every attempt.
    let mut verdicts = Vec::new();

    if let Some(path) = args.expr(attr::BREAKER) {
        let permit = local("__breaker_permit");
        let at_path = first_span(path);
        let admit = respan(quote!(#rt::breaker), at_path);
        let at_key = args.get(attr::BREAKER).map_or(at_path, attr::arg_span);
        let open = respan(quote!(#rt::open::<#ret>), at_key);
        let turned_away = local("__open");
        before.extend(quote! {
            let #permit = match #admit(&#path) {
                ::core::result::Result::Ok(#permit) => #permit,
                ::core::result::Result::Err(#turned_away) => return #open(#turned_away),
            };
        });
        let verdict = local("__breaker_verdict");
        verdicts.push((verdict, quote!(#rt::breaker_record(#permit, &#result, #retry))));
    }

    if let Some(path) = args.expr(attr::THROTTLE) {
        let at_path = first_span(path);
        if is_async {
            let acquire = respan(quote!(#rt::throttle), at_path);
            before.extend(quote!(#acquire(&#path).await;));
        } else {
            let acquire = respan(quote!(#rt::throttle_blocking), at_path);
            before.extend(quote!(#acquire(&#path);));
        }
    }

    if let Some(path) = args.expr(attr::BUDGET) {
        let record = respan(quote!(#rt::budget_record), first_span(path));
        let verdict = local("__budget_verdict");
        verdicts.push((verdict, quote!(#record(&#path, &#result, #retry))));
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

fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// `tokens` with every span set to `span`, so that an unmet bound is reported at the
/// user's token.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn first_span(node: &impl ToTokens) -> Span {
    node.to_token_stream().into_iter().next().map_or_else(Span::call_site, |token| token.span())
}
