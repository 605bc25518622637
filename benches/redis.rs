//! One acquire of a distributed guard: a Lua script's round-trip to a `redis-server` on
//! loopback, beside a bare `PING` on the same connection. Starts its own server on a free
//! port (`REDIS_SERVER` names another binary) and skips with a message when it cannot.
//!
//! `cargo bench --bench redis`

use std::hint::black_box;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use steadfast::distributed::{Budget, FailMode, Redis, Throttle};

/// A `redis-server` on a loopback port, killed on drop.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start() -> io::Result<Server> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = Server { port, child };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Some(status) = server.child.try_wait()? {
                return Err(io::Error::other(format!("redis-server exited: {status}")));
            }
            if server.ping().is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(io::Error::other("redis-server did not answer within 3s"))
    }

    fn ping(&self) -> io::Result<()> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        if line.starts_with("+PONG") {
            Ok(())
        } else {
            Err(io::Error::other(line))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let server = match Server::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("\n*** SKIPPED benches/redis.rs: cannot start redis-server ({e}); install it with `apt-get install -y redis-server` ***\n");
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // A generous limit: a run on a loaded machine measures the round-trip, not timeouts.
    let redis = Redis::open(&format!("redis://127.0.0.1:{}/", server.port)).unwrap().timeout(Duration::from_secs(1));
    // Faster than any round-trip, so every check is a permit: the script's write path.
    let throttle = Throttle::per_second(&redis, "bench", 1_000_000).fail_mode(FailMode::Closed);
    // Drained to 0 by the first calls, so each failure writes the key again.
    let draining = Budget::new(&redis, "bench-failures", 10, 0.1).fail_mode(FailMode::Closed);
    // Full, so each success reads the (missing) key and writes nothing.
    let full = Budget::new(&redis, "bench-successes", 10, 0.1).fail_mode(FailMode::Closed);
    runtime.block_on(redis.ping()).expect("the bench's redis-server answers");

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("redis");
    group.bench_function("ping", |b| b.to_async(&runtime).iter(|| async { redis.ping().await.unwrap() }));
    group.bench_function("throttle_try_acquire", |b| {
        b.to_async(&runtime).iter(|| async { assert!(black_box(throttle.try_acquire().await.unwrap())) })
    });
    group.bench_function("budget_record_failure", |b| {
        b.to_async(&runtime).iter(|| async { black_box(draining.record_failure().await) })
    });
    group.bench_function("budget_record_success", |b| {
        b.to_async(&runtime).iter(|| async { full.record_success().await })
    });
    group.finish();
    c.final_summary();
    drop(server);
}
