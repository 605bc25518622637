use steadfast::retry;

struct Client;

#[retry(attempts = 3)]
impl Client {
    fn call(&self) -> Result<(), std::io::Error> {
        Ok(())
    }
}

fn main() {
    let _ = Client.call();
}
