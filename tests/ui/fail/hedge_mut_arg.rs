use steadfast::retry;

#[derive(Debug)]
struct E;

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

// Copies of a hedged call run at the same time: none can hold a `&mut` argument.
#[retry(attempts = 3, hedge = "300ms")]
async fn count(counter: &mut u32, name: &str) -> Result<usize, E> {
    *counter += 1;
    Ok(name.len())
}

struct Client {
    sent: u32,
}

impl Client {
    #[retry(attempts = 3, hedge = "p95")]
    async fn send(&mut self) -> Result<u32, E> {
        self.sent += 1;
        Ok(self.sent)
    }
}

fn main() {}
