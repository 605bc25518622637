use steadfast::retry;

#[derive(Debug)]
struct E;

struct Client {
    name: String,
}

impl Client {
    // `self` by value is given to every attempt: a body that moves out of it cannot run
    // twice. Reported at `self`.
    #[retry(attempts = 3)]
    async fn into_name(self) -> Result<String, E> {
        Ok(self.name)
    }

    #[retry(attempts = 3)]
    fn into_name_blocking(self) -> Result<String, E> {
        Ok(self.name)
    }

    // Borrowing from it is fine.
    #[retry(attempts = 3)]
    async fn name_len(self) -> Result<usize, E> {
        Ok(self.name.len())
    }
}

fn main() {}
