use steadfast::retry;

#[derive(Debug)]
struct E;

struct Client {
    calls: u32,
}

impl Client {
    #[retry(attempts = 3, min = "1ms", timeout = "1s", deadline = "5s", notify = |_| {})]
    async fn call(&mut self, prompt: String) -> Result<usize, E> {
        self.calls += 1;
        tokio::task::yield_now().await;
        Ok(prompt.len())
    }
}

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E
    }
}

#[retry(attempts = 3, min = "1ms", on = std::io::Error)]
async fn free(text: String) -> Result<usize, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(text.len())
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::main]
pub async fn main() {
    let mut client = Client { calls: 0 };
    tokio::spawn(async move { client.call("hi".into()).await }).await.unwrap().unwrap();
    let future = free("hi".into());
    assert_send(&future);
    tokio::spawn(future).await.unwrap().unwrap();
}
