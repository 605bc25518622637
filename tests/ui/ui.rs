//! Compile-time behaviour of `#[retry]`: mistakes that must fail with the message recorded
//! beside them (`ui/fail/*.stderr`). The shapes that must compile are `pass.rs`: with only
//! failing cases, trybuild runs `cargo check`, so its own build of the dependencies makes
//! no code.
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test -p steadfast-ui`, then read them.

// The snapshots are recorded with the stable toolchain of `.ci/run`; other compilers word
// their messages differently.
#[rustversion::attr(not(stable), ignore = "UI snapshots are recorded on stable")]
#[test]
fn ui() {
    // trybuild colours its report whenever TERM allows, into a file or a CI log too; its
    // terminal library honours NO_COLOR. Set for this test's process alone, which runs
    // this one test.
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        std::env::set_var("NO_COLOR", "1");
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*.rs");
}
