#![no_implicit_prelude]
//! Generated code names everything by absolute path.

#[derive(Debug)]
struct E;

#[::steadfast::retry(attempts = 3, min = "1ms", max = "1s", jitter = "equal", log = "warn")]
async fn call(text: ::std::string::String) -> ::core::result::Result<usize, E> {
    ::core::result::Result::Ok(text.len())
}

#[::steadfast::retry(attempts = 3, min = "1ms")]
fn blocking(n: u32) -> ::core::result::Result<u32, E> {
    ::core::result::Result::Ok(n)
}

pub fn main() {
    ::core::mem::drop(call(::std::string::String::new()));
    let _ = blocking(1);
}
