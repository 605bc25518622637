use std::sync::Arc;
use steadfast::retry;

#[derive(Debug)]
struct E;

struct Client {
    calls: u32,
    log: Vec<u32>,
}

impl Client {
    #[retry(attempts = 3, min = "1ms")]
    async fn by_ref(&self) -> Result<u32, E> {
        Ok(self.calls)
    }

    #[retry(attempts = 3, min = "1ms")]
    async fn by_mut(&mut self) -> Result<u32, E> {
        self.calls += 1;
        self.log.push(self.calls);
        Ok(self.calls)
    }

    #[retry(attempts = 3, min = "1ms")]
    async fn by_arc(self: Arc<Self>) -> Result<u32, E> {
        Ok(self.calls)
    }

    #[retry(attempts = 3, min = "1ms")]
    async fn by_value_borrowing(self) -> Result<usize, E> {
        Ok(self.log.len())
    }

    #[retry(attempts = 3, min = "1ms")]
    fn sync_mut(&mut self, n: u32) -> Result<u32, E> {
        self.calls += n;
        Ok(self.calls)
    }

    #[retry(attempts = 3, min = "1ms")]
    async fn associated(n: u32) -> Result<u32, E> {
        Ok(n)
    }
}

pub fn main() {
    let _ = Client::by_ref;
    let _ = Client::by_mut;
    let _ = Client::by_arc;
    let _ = Client::by_value_borrowing;
    let _ = Client::sync_mut;
    let _ = Client::associated;
}
