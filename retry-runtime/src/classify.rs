//! Deciding whether an error is one the caller asked to retry (`on = T`, `unless = T`).
//!
//! An error matches `T` when it, or any error in its `source()` chain, *is* a `T`. The
//! error type only has to reach a `&dyn Error`: [`ErrorChain`] is implemented for every
//! sized `E: Error + 'static` and for the `dyn Error` objects, and [`view`] looks through
//! std pointers (`Box<dyn Error + Send + Sync>`, `Arc<E>`) and through types that deref to
//! `dyn Error` (`anyhow::Error`, `eyre::Report`). No feature flag, no type-name sniffing.

use std::error::Error;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;
use std::sync::Arc;

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

/// An error type `on`/`unless` can test: one with a `source()` chain, viewed as `&dyn Error`.
/// Implemented for every sized `E: Error + 'static` and for the `dyn Error` objects; the
/// types that deref to one of these reach it through [`view`].
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`on`/`unless` need an error type that implements `std::error::Error` or derefs to `dyn Error`; `{Self}` does neither",
    label = "`{Self}` has no `source()` chain to look for these types in",
    note = "implement `std::error::Error` for `{Self}`, or return `Box<dyn Error + Send + Sync>` or `anyhow::Error`",
    note = "or decide with a predicate, which takes any error type: `when = |e| …`"
)]
pub trait ErrorChain {
    #[doc(hidden)]
    fn as_chain(&self) -> &(dyn Error + 'static);
}

impl<E: Error + 'static> ErrorChain for E {
    fn as_chain(&self) -> &(dyn Error + 'static) {
        self
    }
}

macro_rules! dyn_error_chain {
    ($($ty:ty),*) => {$(
        // Not offered as "other types that implement it" beside the missing `Error` impl.
        #[diagnostic::do_not_recommend]
        impl ErrorChain for $ty {
            fn as_chain(&self) -> &(dyn Error + 'static) {
                self
            }
        }
    )*};
}
dyn_error_chain!(dyn Error + 'static, dyn Error + Send + 'static, dyn Error + Send + Sync + 'static);

/// The error `on`/`unless` test, as `&dyn Error`: `chain(view(err).pick())`. The bound is
/// here, on a plain function, so that an error type without a chain is an E0277 carrying
/// [`ErrorChain`]'s message, reported at the argument (the key).
#[doc(hidden)]
#[inline(always)]
pub fn chain<X: ErrorChain + ?Sized>(error: &X) -> &(dyn Error + 'static) {
    error.as_chain()
}

/// The std pointers whose `Error` impl, where they have one, forwards to their target's:
/// `is::<T>()` on the pointer is false even when its target is a `T`, so these are looked
/// through before the error is taken as it is. Only these: a user's type that is an error
/// and also derefs to another is tested as itself.
#[doc(hidden)]
pub trait Pointer: Deref {}

impl<T: ?Sized> Pointer for Box<T> {}
impl<T: ?Sized> Pointer for Arc<T> {}
impl<T: ?Sized> Pointer for Rc<T> {}
impl<T: ?Sized> Pointer for &T {}

/// Where `on`/`unless` find an error's chain: `view(err).pick()`. Each level of the `Deref`
/// chain below has an inherent `pick` whose impl bound either holds or lets method
/// resolution go on to the next level (as for [`Describer`]), so the first that fits wins,
/// in this order: the error behind two std pointers (`Arc<Box<dyn Error + Send + Sync>>`),
/// behind one (`Box<dyn Error>`, `Arc<E>`, `&E`), the error itself (`E: Error`), behind
/// one `Deref` (`anyhow::Error`, `eyre::Report`), behind two (`Arc<anyhow::Error>`); the
/// last level returns the error as it is, and [`chain`] reports that it has no chain.
#[doc(hidden)]
#[inline(always)]
pub fn view<E: ?Sized>(error: &E) -> PeelTwo<'_, E> {
    PeelTwo(PeelOne(AsIs(DerefOne(DerefTwo(NotAnError(error))))))
}

/// The levels of [`view`], each holding the next; the error is in the last.
macro_rules! levels {
    ($($level:ident => $next:ident),*) => {$(
        #[doc(hidden)]
        #[allow(missing_debug_implementations)]
        pub struct $level<'a, E: ?Sized>($next<'a, E>);

        impl<'a, E: ?Sized> Deref for $level<'a, E> {
            type Target = $next<'a, E>;

            #[inline(always)]
            fn deref(&self) -> &$next<'a, E> {
                &self.0
            }
        }
    )*};
}
levels!(PeelTwo => PeelOne, PeelOne => AsIs, AsIs => DerefOne, DerefOne => DerefTwo, DerefTwo => NotAnError);

#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct NotAnError<'a, E: ?Sized>(&'a E);

// Each `pick` reaches the error through `NotAnError::error`, the one method of that name
// on the levels, found by the same autoderef; its return type derefs it as far as needed.

impl<'a, E: Pointer + ?Sized> PeelTwo<'a, E>
where
    E::Target: Pointer,
    <E::Target as Deref>::Target: ErrorChain,
{
    #[inline(always)]
    pub fn pick(&self) -> &'a <E::Target as Deref>::Target {
        self.error()
    }
}

impl<'a, E: Pointer + ?Sized> PeelOne<'a, E>
where
    E::Target: ErrorChain,
{
    #[inline(always)]
    pub fn pick(&self) -> &'a E::Target {
        self.error()
    }
}

impl<'a, E: ErrorChain + ?Sized> AsIs<'a, E> {
    #[inline(always)]
    pub fn pick(&self) -> &'a E {
        self.error()
    }
}

impl<'a, E: Deref + ?Sized> DerefOne<'a, E>
where
    E::Target: ErrorChain,
{
    #[inline(always)]
    pub fn pick(&self) -> &'a E::Target {
        self.error()
    }
}

impl<'a, E: Deref + ?Sized> DerefTwo<'a, E>
where
    E::Target: Deref,
    <E::Target as Deref>::Target: ErrorChain,
{
    #[inline(always)]
    pub fn pick(&self) -> &'a <E::Target as Deref>::Target {
        self.error()
    }
}

impl<'a, E: ?Sized> NotAnError<'a, E> {
    /// No level fits: the error as it is, for [`chain`] to refuse.
    #[inline(always)]
    pub fn pick(&self) -> &'a E {
        self.0
    }

    #[inline(always)]
    fn error(&self) -> &'a E {
        self.0
    }
}

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

impl<E> Deref for Describer<E> {
    type Target = ByDebug<E>;

    fn deref(&self) -> &ByDebug<E> {
        &self.0
    }
}

impl<E> Deref for ByDebug<E> {
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

    /// What the expansion does: `view` picks by autoderef at the concrete type, so this is
    /// a macro, not a generic function.
    macro_rules! caused {
        ($ty:ty, $err:expr) => {
            caused_by::<$ty>(chain(view(&$err).pick()))
        };
    }

    /// Derefs to `dyn Error` without being an `Error`, as `anyhow::Error` does.
    struct Report(Box<dyn Error + Send + Sync>);
    impl Deref for Report {
        type Target = dyn Error + Send + Sync + 'static;
        fn deref(&self) -> &Self::Target {
            &*self.0
        }
    }

    fn outer() -> Outer {
        Outer(io::Error::other("inner"))
    }

    #[test]
    fn walks_the_source_chain() {
        assert!(caused!(Outer, outer()));
        assert!(caused!(io::Error, outer()));
        assert!(!caused!(fmt::Error, outer()));
    }

    // Each case tests the head of the chain, which only the picked error itself shows:
    // `Arc<E>`, `Box<E>` and `&E` are errors too, whose `is` is false and whose `source()`
    // skips the target.

    #[test]
    fn std_pointers_are_looked_through() {
        let e: Box<dyn Error + Send + Sync> = Box::new(outer());
        assert!(caused!(Outer, e) && caused!(io::Error, e) && !caused!(fmt::Error, e));
        let e: Box<dyn Error> = Box::new(fmt::Error);
        assert!(caused!(fmt::Error, e));
        let e: Arc<dyn Error> = Arc::new(outer());
        assert!(caused!(Outer, e) && caused!(io::Error, e) && !caused!(fmt::Error, e));
        let e: Arc<dyn Error + Send + Sync> = Arc::new(fmt::Error);
        assert!(caused!(fmt::Error, e));
        let e: Rc<dyn Error> = Rc::new(fmt::Error);
        assert!(caused!(fmt::Error, e));
        assert!(caused!(Outer, Box::new(outer())));
        assert!(caused!(Outer, Arc::new(outer())));
        assert!(caused!(Outer, &outer()));
        let e: Arc<Box<dyn Error + Send + Sync>> = Arc::new(Box::new(outer()));
        assert!(caused!(Outer, e) && caused!(io::Error, e));
    }

    #[test]
    fn a_type_that_derefs_to_dyn_error_is_looked_through() {
        let e = Report(Box::new(outer()));
        assert!(caused!(Outer, e) && caused!(io::Error, e) && !caused!(fmt::Error, e));
        let e = Arc::new(Report(Box::new(outer())));
        assert!(caused!(Outer, e) && caused!(io::Error, e));
        assert!(caused!(Outer, &Report(Box::new(outer()))));
    }

    #[test]
    fn an_error_that_derefs_to_another_is_tested_as_itself() {
        #[derive(Debug)]
        struct Context(io::Error);
        impl fmt::Display for Context {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("context")
            }
        }
        impl Error for Context {}
        impl Deref for Context {
            type Target = io::Error;
            fn deref(&self) -> &io::Error {
                &self.0
            }
        }
        assert!(caused!(Context, Context(io::Error::other("x"))));
        assert!(!caused!(io::Error, Context(io::Error::other("x"))));
    }

    #[test]
    fn a_generic_error_type() {
        fn is_io<E: Error + 'static>(e: E) -> bool {
            caused!(io::Error, e)
        }
        assert!(is_io(outer()));
        assert!(!is_io(fmt::Error));
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
