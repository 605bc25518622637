//! Code for the shared guards: `throttle`, `breaker`, `budget`.

use proc_macro2::{Ident, TokenStream};

use crate::attr::Args;

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

pub(crate) fn guards(_args: &Args, _locals: &Locals<'_>) -> GuardCode {
    GuardCode::default()
}
