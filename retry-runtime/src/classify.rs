//! Deciding whether an error is one the caller asked to retry (`on = T`, `unless = T`).
//!
//! An error matches `T` when it, or any error in its `source()` chain, *is* a `T`. The
//! error type only has to reach a `&dyn Error`: [`ErrorChain`] is implemented for every
//! sized `E: Error + 'static` and for the `dyn Error` objects, and method-call autoderef
//! takes `Box<dyn Error + Send + Sync>`, `anyhow::Error` and `eyre::Report` (which deref to
//! `dyn Error + Send + Sync`) to the latter. No feature flag, no type-name sniffing.

use std::error::Error;
use std::fmt;

pub(crate) use crate::observe::ErrorField;

/// The longest `source()` chain walked; only a cyclic chain can be longer.
const MAX_CHAIN: usize = 1024;

/// True when `err`, or an error in its `source()` chain, is a `T`.
///
/// The runtime form of `on = T`, for [`Retry::when`](crate::builder::Retry::when):
///
/// ```
/// use std::io;
/// let err: Box<dyn std::error::Error + Send + Sync> = Box::new(io::Error::other("reset"));
/// assert!(steadfast::caused_by::<io::Error>(err.as_ref()));
/// assert!(!steadfast::caused_by::<std::fmt::Error>(err.as_ref()));
/// ```
pub fn caused_by<T: Error + 'static>(err: &(dyn Error + 'static)) -> bool {
    let mut current = Some(err);
    for _ in 0..MAX_CHAIN {
        match current {
            Some(e) if e.is::<T>() => return true,
            Some(e) => current = e.source(),
            None => return false,
        }
    }
    false
}

/// Views an error as `&dyn Error`, for `on`/`unless`. Called as a method so that autoderef
/// reaches the `dyn Error` impls through `Box`, `Arc`, `anyhow::Error` and the like.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`on`/`unless` need an error type that is, or derefs to, `dyn std::error::Error`; `{Self}` is not",
    label = "this error type has no `source()` chain to match against",
    note = "implement `std::error::Error` for it, or return `Box<dyn Error + Send + Sync>` or `anyhow::Error`"
)]
pub trait ErrorChain {
    #[doc(hidden)]
    fn __steadfast_dyn_error(&self) -> &(dyn Error + 'static);
}

impl<E: Error + 'static> ErrorChain for E {
    fn __steadfast_dyn_error(&self) -> &(dyn Error + 'static) {
        self
    }
}

macro_rules! dyn_error_chain {
    ($($ty:ty),*) => {$(
        impl ErrorChain for $ty {
            fn __steadfast_dyn_error(&self) -> &(dyn Error + 'static) {
                self
            }
        }
    )*};
}
dyn_error_chain!(dyn Error + 'static, dyn Error + Send + 'static, dyn Error + Send + Sync + 'static);

/// How an error is shown in log events: `Display` when it has one, else `Debug`, else
/// nothing. Chosen at compile time by autoref specialisation on [`Describe`].
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Describe<'a, E>(pub &'a E);

#[doc(hidden)]
pub trait DescribeDisplay<'a> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>>;
}

impl<'a, E: fmt::Display> DescribeDisplay<'a> for &&Describe<'a, E> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>> {
        Some(ErrorField::Display(self.0))
    }
}

#[doc(hidden)]
pub trait DescribeDebug<'a> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>>;
}

impl<'a, E: fmt::Debug> DescribeDebug<'a> for &Describe<'a, E> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>> {
        Some(ErrorField::Debug(self.0))
    }
}

#[doc(hidden)]
pub trait DescribeNothing<'a> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>>;
}

impl<'a, E> DescribeNothing<'a> for Describe<'a, E> {
    fn __steadfast_describe(&self) -> Option<ErrorField<'a>> {
        None
    }
}

/// The `error` field of an event: `Display` where the error has it, else `Debug`, else
/// nothing, chosen by autoref specialisation where the error's type is concrete.
#[doc(hidden)]
#[macro_export]
macro_rules! __describe_error {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{DescribeDebug as _, DescribeDisplay as _, DescribeNothing as _};
        $error.and_then(|e| (&&&$crate::__private::Describe(e)).__steadfast_describe())
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Debug)]
    struct Outer(io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn walks_the_source_chain() {
        let e = Outer(io::Error::other("inner"));
        assert!(caused_by::<Outer>(e.__steadfast_dyn_error()));
        assert!(caused_by::<io::Error>(e.__steadfast_dyn_error()));
        assert!(!caused_by::<fmt::Error>(e.__steadfast_dyn_error()));
    }

    #[test]
    fn boxed_errors_deref_to_their_chain() {
        let e: Box<dyn Error + Send + Sync> = Box::new(Outer(io::Error::other("inner")));
        assert!(caused_by::<io::Error>(e.__steadfast_dyn_error()));
        let e: Box<dyn Error> = Box::new(fmt::Error);
        assert!(caused_by::<fmt::Error>(e.__steadfast_dyn_error()));
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows select the impl: that is the test
    fn describe_prefers_display_then_debug() {
        #[derive(Debug)]
        struct OnlyDebug;
        struct Neither;
        let shown = |f: Option<ErrorField<'_>>| f.map(|f| f.to_string());
        assert_eq!(shown((&&&Describe(&Outer(io::Error::other("x")))).__steadfast_describe()), Some("outer".into()));
        assert_eq!(shown((&&&Describe(&OnlyDebug)).__steadfast_describe()), Some("OnlyDebug".into()));
        assert_eq!(shown((&&&Describe(&Neither)).__steadfast_describe()), None);
    }
}
