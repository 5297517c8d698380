//! Rate limits, each counted before the work it protects: per client IP first
//! (before any database work) on the client and on the management API, then
//! per app once the app is found, and per API key once the key is authorised.
//! Buckets are keyed only on what was checked (a [`ClientIp`], an app id that
//! exists, a key that is live), so made-up ids and bearers add no key; IPv6
//! clients are counted per /64, the block one subscriber gets.
//!
//! By default each instance keeps them in memory (GCRA, a burst of one
//! second's worth, on the injected clock) and [`Limits::prune`] forgets idle
//! keys (the sweeper calls it every minute); with `shared`, hits are counted
//! per one-second window in the database, so instances behind a load balancer
//! share one budget and alternating between them gains nothing.
//!
//! [`ClientIp`]: super::client_ip::ClientIp

use std::{
    fmt::Display,
    hash::Hash,
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{
    middleware::NoOpMiddleware, nanos::Nanos, state::keyed::DefaultKeyedStateStore, Quota,
    RateLimiter,
};

use crate::{
    flex::{
        clock::Clock,
        ids::{ApiKeyId, AppId},
    },
    metrics::Metrics,
    store::Store,
};

/// Requests per second allowed (a burst of as many); 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Client API requests per client IP.
    pub per_ip: u32,
    /// Client API requests per app.
    pub per_app: u32,
    /// Management API requests per API key.
    pub per_key: u32,
    /// Management API requests per client IP (a backend's address).
    pub per_management_ip: u32,
    /// Count in the database (shared by every instance) instead of in memory.
    pub shared: bool,
}

impl RateLimitConfig {
    /// No limits at all (load tests, or a proxy that limits in front).
    pub const fn off() -> Self {
        Self {
            per_ip: 0,
            per_app: 0,
            per_key: 0,
            per_management_ip: 0,
            shared: false,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_ip: 100,
            per_app: 2000,
            per_key: 2000,
            per_management_ip: 2000,
            shared: false,
        }
    }
}

/// The injected [`Clock`] as governor's clock, in nanoseconds since 1970.
#[derive(Clone, Debug)]
struct LimiterClock(Clock);

impl governor::clock::Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(u64::try_from(self.0.now()).unwrap_or_default() * 1_000_000)
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, LimiterClock, NoOpMiddleware<Nanos>>;

/// One limit: off, counted in memory, or counted in the database under `name:key`.
enum Bucket<K: Hash + Eq + Clone> {
    Off,
    Memory(Keyed<K>),
    Shared { name: &'static str, per_second: u32 },
}

impl<K: Hash + Eq + Clone + Display> Bucket<K> {
    fn new(name: &'static str, per_second: u32, shared: bool, clock: &Clock) -> Self {
        match NonZeroU32::new(per_second) {
            None => Self::Off,
            Some(_) if shared => Self::Shared { name, per_second },
            Some(n) => Self::Memory(RateLimiter::dashmap_with_clock(
                Quota::per_second(n),
                LimiterClock(clock.clone()),
            )),
        }
    }

    /// One request for `key`; `Err` holds how long to wait.
    async fn hit(&self, key: K, store: &Store, clock: &Clock) -> Result<(), Duration> {
        match self {
            Self::Off => Ok(()),
            Self::Memory(limiter) => limiter.check_key(&key).map_err(|not_until| {
                not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()))
            }),
            Self::Shared { name, per_second } => {
                shared_hit(store, clock, &format!("{name}:{key}"), *per_second).await
            }
        }
    }

    fn prune(&self) {
        if let Self::Memory(limiter) = self {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Memory(limiter) => limiter.len(),
            _ => 0,
        }
    }
}

pub struct Limits {
    store: Store,
    clock: Clock,
    /// Where refusals are counted (`latchkey_rate_limit_refusals_total`).
    metrics: Metrics,
    client_ip: Bucket<IpAddr>,
    management_ip: Bucket<IpAddr>,
    app: Bucket<AppId>,
    key: Bucket<ApiKeyId>,
}

impl Limits {
    pub fn new(config: RateLimitConfig, store: &Store, clock: &Clock, metrics: &Metrics) -> Self {
        let shared = config.shared;
        Self {
            store: store.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            client_ip: Bucket::new("ip", config.per_ip, shared, clock),
            management_ip: Bucket::new("mip", config.per_management_ip, shared, clock),
            app: Bucket::new("app", config.per_app, shared, clock),
            key: Bucket::new("key", config.per_key, shared, clock),
        }
    }

    /// A client API request from this client IP, before anything else.
    pub async fn client_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        let bucket = &self.client_ip;
        let hit = bucket.hit(ip_key(ip), &self.store, &self.clock).await;
        self.counted("client_ip", hit)
    }

    /// A client API request for an app that exists.
    pub async fn app(&self, app: &AppId) -> Result<(), Duration> {
        let hit = self.app.hit(app.clone(), &self.store, &self.clock).await;
        self.counted("app", hit)
    }

    /// A management API request from this client IP, before its key is looked up.
    pub async fn management_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        let bucket = &self.management_ip;
        let hit = bucket.hit(ip_key(ip), &self.store, &self.clock).await;
        self.counted("management_ip", hit)
    }

    /// A management API request with a live API key (by its id, not its secret).
    pub async fn key(&self, key: &ApiKeyId) -> Result<(), Duration> {
        let hit = self.key.hit(key.clone(), &self.store, &self.clock).await;
        self.counted("key", hit)
    }

    /// Counts a refusal by `limit` in the metrics, and passes the hit on.
    fn counted(&self, limit: &'static str, hit: Result<(), Duration>) -> Result<(), Duration> {
        if hit.is_err() {
            self.metrics.rate_limit_refused(limit);
        }
        hit
    }

    /// Forgets the keys whose budget is full again, and frees their memory.
    pub fn prune(&self) {
        self.client_ip.prune();
        self.management_ip.prune();
        self.app.prune();
        self.key.prune();
    }

    /// How many keys the in-memory limiters hold (a test hook and a gauge).
    pub fn key_count(&self) -> usize {
        self.client_ip.len() + self.management_ip.len() + self.app.len() + self.key.len()
    }
}

/// What a per-IP limit counts: an IPv4 address, or an IPv6 address's /64.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

/// One hit in the shared one-second window; a database error lets the request through.
async fn shared_hit(store: &Store, clock: &Clock, key: &str, limit: u32) -> Result<(), Duration> {
    let now = clock.now();
    match store.count_hit(key, now.div_euclid(1000)).await {
        Ok(hits) if hits > i64::from(limit) => {
            Err(Duration::from_millis((1000 - now.rem_euclid(1000)) as u64))
        }
        Ok(_) => Ok(()),
        Err(error) => {
            tracing::warn!(%error, "shared rate limit not counted");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(ip_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(ip_key(ip("2001:db8:1:2:ffff::9")), ip("2001:db8:1:2::"));
        assert_ne!(ip_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(ip_key(ip("192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(ip_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
