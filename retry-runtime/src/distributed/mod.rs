//! A [`Throttle`] and a [`Budget`] shared by every process of a fleet through Redis
//! (feature `redis`).
//!
//! ```no_run
//! use std::sync::LazyLock;
//! use steadfast::distributed::{Redis, Throttle};
//!
//! static REDIS: LazyLock<Redis> =
//!     LazyLock::new(|| Redis::open("redis://127.0.0.1:6379/").expect("a valid url"));
//!
//! // The API allows 20 requests a second for the whole fleet, however many processes run.
//! static API_LIMIT: LazyLock<Throttle> = LazyLock::new(|| Throttle::per_second(&REDIS, "openai", 20).burst(5));
//!
//! # async fn complete(_: &str) -> Result<String, std::io::Error> { Ok(String::new()) }
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     for prompt in ["a", "b", "c"] {
//!         API_LIMIT.acquire().await?;
//!         println!("{}", complete(prompt).await?);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Each guard is one key on the server, `steadfast:{name}:throttle` or
//! `steadfast:{name}:budget` (the prefix is [`Redis::prefix`]), changed by one Lua script
//! per call, so every process that names the same key shares one limit. The throttle is
//! GCRA, the budget gRPC's retry throttling (proposal A6), as in the in-process
//! [`crate::Throttle`] and [`crate::Budget`].
//!
//! # Time
//!
//! The throttle's schedule is kept on the Redis server's clock (`TIME`), the one place in
//! steadfast that does not read tokio's: the processes of a fleet run on machines whose
//! clocks disagree, and a schedule shared through one key needs one clock. The waits
//! between permits are tokio timers of the length the server names. So a distributed guard
//! needs real time: under a paused test clock, tokio would fire the per-call timeout at
//! once, while the server's clock does not pause.
//!
//! # When Redis is down
//!
//! Every call to the server has its own time limit ([`Redis::timeout`], 100ms by
//! default), so a guard never hangs and never panics. A call that cannot reach the server
//! or runs out of time marks the server down for [`Redis::recheck`] (1s): meanwhile calls
//! do not try it, so an unreachable server costs one timeout per second, not one per call;
//! then one call tries again while the others carry on without it, and a success brings
//! the server back. An error about one key (a wrong type) fails that call only. What a
//! guard does without the server is its [`FailMode`]:
//!
//! - [`FailMode::Open`] (the default): the guard acts as its in-process twin, with the same
//!   settings unless told otherwise ([`Throttle::local`]), and logs at `warn` (target
//!   `steadfast::distributed`). Each process then keeps its own limit, so the fleet as a
//!   whole may go faster than the shared one.
//! - [`FailMode::Closed`]: the throttle refuses the permit with [`Unavailable`] (convert it
//!   into your error with `From`); the budget refuses retries (the call's own error is
//!   returned, first attempts still go through).
//!
//! Each distributed guard needs a tokio runtime; the connection it opens belongs to the
//! runtime that first uses it.

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisError, ScriptInvocation};

use tokio::time::Instant;

mod budget;
mod throttle;

pub use budget::Budget;
pub use throttle::Throttle;

/// The `redis` crate this module is built on, for a [`redis::Client`] configured by hand
/// (TLS, authentication, RESP3) and passed to [`Redis::from`].
pub use redis;

/// Where log events of the distributed guards go.
const TARGET: &str = "steadfast::distributed";

/// What a distributed guard does while Redis is unreachable, slow or failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailMode {
    /// Fall back to an in-process guard in each process and log at `warn` (the default):
    /// the work goes on, each process under its own limit.
    #[default]
    Open,
    /// Refuse: a throttle returns [`Unavailable`], a budget refuses retries.
    Closed,
}

/// A Redis server shared by distributed guards: the address, the per-call time limit, the
/// key prefix, and one multiplexed connection that reconnects by itself.
///
/// Cheap to clone: clones share the connection and the server's health. Opening does no
/// I/O; the first guard call connects.
///
/// ```
/// use std::time::Duration;
/// use steadfast::distributed::Redis;
///
/// let redis = Redis::open("redis://127.0.0.1:6379/")?
///     .timeout(Duration::from_millis(50))
///     .prefix("billing");
/// assert_eq!(redis.key("openai", "throttle"), "billing:openai:throttle");
/// # Ok::<(), steadfast::distributed::redis::RedisError>(())
/// ```
#[derive(Clone)]
pub struct Redis {
    shared: Arc<Shared>,
    timeout: Duration,
    recheck: Duration,
    prefix: Arc<str>,
}

struct Shared {
    client: redis::Client,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Built on first use, inside the runtime; dropped after a timeout, so that a
    /// connection to a server that stopped answering is not kept for ever.
    connection: Option<ConnectionManager>,
    /// While set and in the future, calls do not try the server.
    down_until: Option<Instant>,
}

impl Redis {
    /// A server at `url`, such as `redis://127.0.0.1:6379/` or
    /// `redis://:password@cache.internal:6379/2`. Does no I/O; fails only on a malformed
    /// url.
    pub fn open(url: &str) -> Result<Self, RedisError> {
        redis::Client::open(url).map(Redis::from)
    }

    /// The limit of each call to the server (100ms by default): connecting, sending the
    /// script, reading the reply. A call past it counts as the server being down.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// How long calls leave the server alone after one failed or timed out (1s by default);
    /// meanwhile guards act on their [`FailMode`] at once. Then one call tries the server
    /// again while the others go on without it.
    pub fn recheck(mut self, interval: Duration) -> Self {
        self.recheck = interval;
        self
    }

    /// The first part of every key (`steadfast` by default).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The key of the guard `name` of `kind` (`throttle` or `budget`): `{prefix}:{name}:{kind}`.
    pub fn key(&self, name: &str, kind: &str) -> String {
        format!("{}:{name}:{kind}", self.prefix)
    }

    /// Asks the server for `PING`, as a guard's call would: under [`Redis::timeout`], and
    /// not at all while the server is marked down. To check the server at start-up.
    pub async fn ping(&self) -> Result<(), Unavailable> {
        let ping = &redis::cmd("PING");
        self.call("PING", |mut conn| async move { ping.query_async::<()>(&mut conn).await }).await
    }

    /// Runs `script` (one round-trip; the script is sent again by itself if the server
    /// lost it, e.g. after a restart).
    pub(crate) async fn eval<T>(&self, key: &str, script: &ScriptInvocation<'_>) -> Result<T, Unavailable>
    where
        T: FromRedisValue,
    {
        self.call(key, |mut conn| async move { script.invoke_async(&mut conn).await }).await
    }

    /// One call to the server, bounded in time, with the server's health kept up to date.
    async fn call<T, F, Fut>(&self, key: &str, op: F) -> Result<T, Unavailable>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let conn = {
            let mut state = self.state();
            if let Some(until) = state.down_until {
                let now = Instant::now();
                if now < until {
                    return Err(Unavailable::new(key, Cause::Down));
                }
                // This call tries the server again; the others go on without it meanwhile.
                state.down_until = Some(now + self.recheck);
            }
            match &state.connection {
                Some(conn) => conn.clone(),
                None => {
                    let conn = self.connect().map_err(|e| Unavailable::new(key, Cause::Redis(Arc::new(e))))?;
                    state.connection = Some(conn.clone());
                    conn
                }
            }
        };
        let attempt = async {
            match op(conn.clone()).await {
                // The connection broke (the server restarted, or went away): the manager
                // has started to reconnect, and a second try waits for that.
                Err(e) if e.is_io_error() || e.is_unrecoverable_error() => op(conn).await,
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                self.up();
                Ok(value)
            }
            Ok(Err(e)) => {
                // A broken connection concerns every guard; a refused script or a
                // wrong-typed key concerns that key only, and the server did answer.
                if e.is_io_error() || e.is_unrecoverable_error() {
                    self.down(false);
                } else {
                    self.up();
                }
                Err(Unavailable::new(key, Cause::Redis(Arc::new(e))))
            }
            Err(_) => {
                self.down(true);
                Err(Unavailable::new(key, Cause::Timeout(self.timeout)))
            }
        }
    }

    fn connect(&self) -> Result<ConnectionManager, RedisError> {
        // One connection attempt per call: reconnecting is paced by `recheck`, not by the
        // manager's own backoff, which would hold calls for seconds.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(None);
        ConnectionManager::new_lazy_with_config(self.shared.client.clone(), config)
    }

    fn up(&self) {
        let mut state = self.state();
        if state.down_until.take().is_some() {
            drop(state);
            tracing::info!(target: TARGET, "redis is reachable again");
        }
    }

    fn down(&self, timed_out: bool) {
        let mut state = self.state();
        state.down_until = Some(Instant::now() + self.recheck);
        if timed_out {
            // A server that stopped answering may never close the socket: start afresh.
            state.connection = None;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.shared.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl From<redis::Client> for Redis {
    /// A server reached through `client`, configured by hand.
    fn from(client: redis::Client) -> Self {
        Redis {
            shared: Arc::new(Shared { client, state: Mutex::default() }),
            timeout: Duration::from_millis(100),
            recheck: Duration::from_secs(1),
            prefix: "steadfast".into(),
        }
    }
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info may hold a password: show the address only.
        f.debug_struct("Redis")
            .field("addr", &self.shared.client.get_connection_info().addr())
            .field("timeout", &self.timeout)
            .field("recheck", &self.recheck)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Redis could not answer a distributed guard: unreachable, too slow, or refusing the
/// script. Returned only by guards that [`FailMode::Closed`]; a function whose throttle is
/// distributed reports it through `E: From<Unavailable>`.
///
/// ```
/// use steadfast::distributed::Unavailable;
///
/// #[derive(Debug)]
/// enum ApiError {
///     Unavailable(Unavailable),
///     // ...
/// }
///
/// impl From<Unavailable> for ApiError {
///     fn from(e: Unavailable) -> Self {
///         ApiError::Unavailable(e)
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Unavailable {
    key: Arc<str>,
    cause: Cause,
}

#[derive(Debug, Clone)]
enum Cause {
    Timeout(Duration),
    Redis(Arc<RedisError>),
    /// A recent call failed; the server is left alone until `recheck` has passed.
    Down,
}

impl Unavailable {
    fn new(key: &str, cause: Cause) -> Self {
        Unavailable { key: key.into(), cause }
    }

    /// The key the guard could not reach.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the server did not answer within [`Redis::timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause, Cause::Timeout(_))
    }

    /// Whether a recent call failed and this one did not try the server.
    pub(crate) fn is_skipped(&self) -> bool {
        matches!(self.cause, Cause::Down)
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Timeout(limit) => write!(f, "redis did not answer for `{}` within {limit:?}", self.key),
            Cause::Redis(e) => write!(f, "redis failed for `{}`: {e}", self.key),
            Cause::Down => write!(f, "redis is down; `{}` was not tried", self.key),
        }
    }
}

impl Error for Unavailable {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::Redis(e) => Some(&**e),
            Cause::Timeout(_) | Cause::Down => None,
        }
    }
}

impl<E: From<Unavailable>> crate::guard::Report<Unavailable> for E {
    fn report(refusal: Unavailable) -> Self {
        refusal.into()
    }
}

#[diagnostic::do_not_recommend]
impl<X> crate::guard::Report<Unavailable> for crate::Error<X> {
    fn report(refusal: Unavailable) -> Self {
        crate::Error::Unavailable(refusal)
    }
}
