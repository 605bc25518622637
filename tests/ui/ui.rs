//! Compile-time behaviour of `#[retry]`: shapes that must compile (`ui/pass`) and mistakes
//! that must fail with the message recorded beside them (`ui/fail/*.stderr`).
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test -p steadfast-ui`, then read them.

// The snapshots are recorded with the stable toolchain of `.ci/run`; other compilers word
// their messages differently.
#[rustversion::attr(not(stable), ignore = "UI snapshots are recorded on stable")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
