//! The `#[retry]` attribute of [`steadfast`](https://docs.rs/steadfast). Depend on
//! `steadfast`, which re-exports it together with the runtime it expands to.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod config;
mod duration;
mod errors;
mod expand;
#[cfg(test)]
mod fuzz;
mod tokens;
mod valid;

// Documented where it is re-exported, on `steadfast::retry`: rustdoc would show a doc
// comment here after that one, repeating its first sentence.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn retry(args: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::retry(args.into(), item.into()).into()
}
