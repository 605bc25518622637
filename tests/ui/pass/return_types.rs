use std::fmt::Display;
use std::io;
use steadfast::retry;

#[derive(Debug)]
struct E;

impl From<io::Error> for E {
    fn from(_: io::Error) -> Self {
        E
    }
}

type MyResult<T> = Result<T, E>;

#[retry(attempts = 3, min = "1ms")]
async fn impl_trait_ok() -> Result<impl Display, E> {
    Ok(42)
}

#[retry(attempts = 3, min = "1ms")]
async fn alias() -> MyResult<u8> {
    Ok(1)
}

#[retry(attempts = 3, min = "1ms")]
async fn io_result() -> io::Result<u8> {
    Ok(1)
}

fn io_op() -> io::Result<u8> {
    Err(io::Error::other("x"))
}

/// `?` converts through `From`, and `return` ends the attempt.
#[retry(attempts = 3, min = "1ms")]
async fn question_mark(early: bool) -> Result<u8, E> {
    if early {
        return Ok(0);
    }
    let n = io_op()?;
    Ok(n)
}

#[retry(attempts = 3, min = "1ms")]
async fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

#[retry(attempts = 3, min = "1ms")]
fn sync_question_mark() -> Result<u8, E> {
    Ok(io_op()?)
}

pub fn main() {
    let _ = impl_trait_ok;
    let _ = alias;
    let _ = io_result;
    let _ = question_mark;
    let _ = boxed;
    let _ = sync_question_mark;
}
