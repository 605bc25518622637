use std::future::Future;
use steadfast::retry;

#[derive(Debug)]
struct E;

trait Api {
    async fn call(&self, n: u32) -> Result<u32, E>;

    fn call_send(&self) -> impl Future<Output = Result<u32, E>> + Send;

    /// A default body can be retried too.
    #[retry(attempts = 2, min = "1ms")]
    async fn provided(&self) -> Result<u32, E> {
        Ok(7)
    }
}

struct Real;

impl Api for Real {
    #[retry(attempts = 3, min = "1ms")]
    async fn call(&self, n: u32) -> Result<u32, E> {
        Ok(n)
    }

    #[retry(attempts = 3, min = "1ms")]
    async fn call_send(&self) -> Result<u32, E> {
        Ok(1)
    }
}

pub fn main() {
    drop(Real.call(1));
    drop(Real.call_send());
    drop(Real.provided());
}
