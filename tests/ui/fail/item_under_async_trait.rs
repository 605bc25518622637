use async_trait::async_trait;
use steadfast::retry;

#[derive(Debug)]
struct E;

#[async_trait]
trait Api {
    async fn call(&self) -> Result<(), E>;
}

struct Real;

#[async_trait]
impl Api for Real {
    #[retry(attempts = 3)]
    async fn call(&self) -> Result<(), E> {
        Ok(())
    }
}

fn main() {}
