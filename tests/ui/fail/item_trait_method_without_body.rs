use steadfast::retry;

#[derive(Debug)]
struct E;

trait Api {
    #[retry(attempts = 3)]
    async fn call(&self) -> Result<(), E>;
}

fn main() {}
