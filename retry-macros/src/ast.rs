//! The item under the attribute: a function whose body is kept as raw tokens, so a syntax
//! error in the body is reported by rustc, not by us, and the macro never has to look inside.

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{braced, token, Attribute, Signature, Token, Visibility};

pub(crate) struct RetryFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    /// `{ #![inner] stmts }`
    Block { brace: token::Brace, inner: Vec<Attribute>, stmts: TokenStream },
    /// A trait method declaration: `fn f(&self) -> R;`
    Missing(Token![;]),
}

impl Parse for RetryFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = braced!(content in input);
            let inner = content.call(Attribute::parse_inner)?;
            Body::Block { brace, inner, stmts: content.parse()? }
        };
        Ok(RetryFn { attrs, vis, sig, body })
    }
}

impl ToTokens for RetryFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        match &self.body {
            Body::Block { brace, inner, stmts } => brace.surround(tokens, |tokens| {
                tokens.append_all(inner);
                tokens.extend(stmts.clone());
            }),
            Body::Missing(semi) => semi.to_tokens(tokens),
        }
    }
}
