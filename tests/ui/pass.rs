//! Shapes of `#[retry]` that must compile and run: each file of `pass/` is a module here,
//! built with the workspace's own test build (so `cargo clippy --all-targets` holds the
//! generated code to `-D warnings` too) instead of by trybuild, whose separate build of
//! every dependency was most of the UI test's time. `pass/crate_rename.rs` needs to be a
//! crate root (`crate::` and `extern crate` paths) and is a test target of its own.

#[path = "pass/afit.rs"]
mod afit;
#[path = "pass/args.rs"]
mod args;
#[path = "pass/every_key.rs"]
mod every_key;
#[path = "pass/generics.rs"]
mod generics;
#[path = "pass/instrument_order.rs"]
mod instrument_order;
#[path = "pass/no_prelude.rs"]
mod no_prelude;
#[path = "pass/receivers.rs"]
mod receivers;
#[path = "pass/return_types.rs"]
mod return_types;
#[path = "pass/send.rs"]
mod send;

/// The modules above, by file name, and what runs each.
const CASES: &[(&str, fn())] = &[
    ("afit", afit::main),
    ("args", args::main),
    ("every_key", every_key::main),
    ("generics", generics::main),
    ("instrument_order", instrument_order::main),
    ("no_prelude", no_prelude::main),
    ("receivers", receivers::main),
    ("return_types", return_types::main),
    ("send", send::main),
];

/// Its own crate root: see `Cargo.toml`.
const OWN_TARGETS: &[&str] = &["crate_rename"];

#[test]
fn every_case_runs() {
    for (name, main) in CASES {
        println!("pass/{name}.rs");
        main();
    }
}

/// A file added to `pass/` and not to this list would be compiled by nothing.
#[test]
fn every_file_in_pass_is_a_case() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pass");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/ui/pass")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().expect("a file name").to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> =
        CASES.iter().map(|(name, _)| name.to_string()).chain(OWN_TARGETS.iter().map(|name| name.to_string())).collect();
    listed.sort();
    assert_eq!(files, listed, "every file of tests/ui/pass is a module of pass.rs or a target of its own");
}
