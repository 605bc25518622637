//! Small token helpers shared by the code generators.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// A generated local: `__steadfast_{name}`, a name no user writes by accident.
///
/// Call-site, not mixed-site: hygienic locals made a crate of 200 retried functions check
/// 40% slower (each mixed-site span is a syntax context of its own to resolve), and the
/// prefix keeps generated and user names apart as well (tracing-attributes and serde do
/// the same). It also lets calls on generated locals be spanned at the user's tokens.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(&format!("__steadfast_{}", name.trim_start_matches('_')), Span::call_site())
}

/// `tokens` with every span set to `span`, so that an error about them (a missing trait,
/// a wrong type) points at the user's token instead of the attribute.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The span of the first token of `node`: where rustc should point when `node` as a whole
/// is at fault (a multi-token span cannot be joined on stable).
pub(crate) fn first_span(node: &impl ToTokens) -> Span {
    node.to_token_stream().into_iter().next().map_or_else(Span::call_site, |token| token.span())
}

/// Generated `tokens` shown at `span`, each resolved as before: a call whose unmet bound
/// should be reported at the user's token. rustc reports a call at its own span only when
/// its first and last tokens share a hygiene context (else at the whole attribute), so
/// the receivers of such calls are call-site idents, as the delimiters made here are.
pub(crate) fn located(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), located(group.stream(), span));
                inner.set_span(Span::call_site().located_at(span));
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(tree.span().located_at(span));
            }
            tree
        })
        .collect()
}

/// `(args)`, the parentheses at `span` and the arguments as they are: a call on a user's
/// expression, reported at it.
pub(crate) fn parens_at(args: TokenStream, span: Span) -> TokenStream {
    let mut group = Group::new(proc_macro2::Delimiter::Parenthesis, args);
    group.set_span(Span::call_site().located_at(span));
    TokenTree::Group(group).into()
}
