use std::time::Duration;
use steadfast::{retry, Policy};

#[derive(Debug)]
struct E;

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

struct Client {
    policy: Policy,
}

impl Client {
    #[retry(policy = self.policy, attempts = 3, max = "1s")]
    async fn call(&self) -> Result<(), E> {
        Ok(())
    }
}

fn main() {
    let client = Client { policy: Policy::exponential(Duration::from_millis(1), Duration::from_secs(1)) };
    let _ = client.call();
}
