//! Deciding whether an error is one the caller asked to retry (`on = T`, `unless = T`).
//!
//! An error matches `T` when it, or any error in its `source()` chain, *is* a `T`. The
//! error type only has to reach a `&dyn Error`: [`ErrorChain`] is implemented for every
//! sized `E: Error + 'static` and for the `dyn Error` objects, and method-call autoderef
//! takes `Box<dyn Error + Send + Sync>`, `anyhow::Error` and `eyre::Report` (which deref to
//! `dyn Error + Send + Sync`) to the latter. No feature flag, no type-name sniffing.

use std::error::Error;
use std::fmt;
use std::marker::PhantomData;

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

/// How an error is shown in events: `Display` when it has one, else `Debug`, else not at
/// all. Chosen where the error's type is concrete: `Describer::<E>::new().pick()` is the
/// function to call. Each step of the `Deref` chain has an inherent `pick` whose bound
/// either holds or lets method resolution go on to the next step, so no trait needs to be
/// in scope where it is called.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Describer<E>(ByDebug<E>);

#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct ByDebug<E>(ByNothing<E>);

#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct ByNothing<E>(PhantomData<fn(&E)>);

impl<E> Describer<E> {
    pub const fn new() -> Self {
        Describer(ByDebug(ByNothing(PhantomData)))
    }
}

impl<E> Default for Describer<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> std::ops::Deref for Describer<E> {
    type Target = ByDebug<E>;

    fn deref(&self) -> &ByDebug<E> {
        &self.0
    }
}

impl<E> std::ops::Deref for ByDebug<E> {
    type Target = ByNothing<E>;

    fn deref(&self) -> &ByNothing<E> {
        &self.0
    }
}

/// How an event shows an error.
#[doc(hidden)]
pub type Describe<E> = for<'e> fn(&'e E) -> Option<ErrorField<'e>>;

impl<E: fmt::Display> Describer<E> {
    pub fn pick(&self) -> Describe<E> {
        |e| Some(ErrorField::Display(e))
    }
}

impl<E: fmt::Debug> ByDebug<E> {
    pub fn pick(&self) -> Describe<E> {
        |e| Some(ErrorField::Debug(e))
    }
}

impl<E> ByNothing<E> {
    pub fn pick(&self) -> Describe<E> {
        |_| None
    }
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
    fn describe_prefers_display_then_debug() {
        #[derive(Debug)]
        struct OnlyDebug;
        struct Neither;
        let shown = |f: Option<ErrorField<'_>>| f.map(|f| f.to_string());
        let display = Describer::<Outer>::new().pick();
        assert_eq!(shown(display(&Outer(io::Error::other("x")))), Some("outer".into()));
        let debug = Describer::<OnlyDebug>::new().pick();
        assert_eq!(shown(debug(&OnlyDebug)), Some("OnlyDebug".into()));
        let nothing = Describer::<Neither>::new().pick();
        assert_eq!(shown(nothing(&Neither)), None);
    }
}
