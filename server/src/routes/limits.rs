//! Rate limits: per client IP and per app on the client API, per API key on the
//! management API. By default each instance keeps them in memory (GCRA, a burst
//! of one second's worth); with `shared`, hits are counted per one-second
//! window in the database, so instances behind a load balancer share one budget
//! and alternating between them gains nothing.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{clock::Clock as _, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{flex::clock::Clock, store::Store};

/// Requests per second allowed (a burst of as many); 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_ip: u32,
    pub per_app: u32,
    pub per_key: u32,
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
            shared: false,
        }
    }
}

pub struct Limits {
    config: RateLimitConfig,
    /// Set when the limits are shared through the database.
    shared: Option<(Store, Clock)>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_app: Option<DefaultKeyedRateLimiter<String>>,
    per_key: Option<DefaultKeyedRateLimiter<Vec<u8>>>,
}

fn limiter<K: Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_second).map(|n| RateLimiter::keyed(Quota::per_second(n)))
}

fn check<K: Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), Duration> {
    match limiter {
        Some(limiter) => limiter.check_key(key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        }),
        None => Ok(()),
    }
}

impl Limits {
    pub fn new(config: RateLimitConfig, store: &Store, clock: &Clock) -> Self {
        if config.shared {
            return Self {
                config,
                shared: Some((store.clone(), clock.clone())),
                per_ip: None,
                per_app: None,
                per_key: None,
            };
        }
        Self {
            config,
            shared: None,
            per_ip: limiter(config.per_ip),
            per_app: limiter(config.per_app),
            per_key: limiter(config.per_key),
        }
    }

    /// A client API request from `ip` for `app_id`; `Err` holds how long to wait.
    pub async fn client(&self, ip: IpAddr, app_id: &str) -> Result<(), Duration> {
        if self.shared.is_some() {
            self.hit(&format!("ip:{ip}"), self.config.per_ip).await?;
            return self
                .hit(&format!("app:{app_id}"), self.config.per_app)
                .await;
        }
        check(&self.per_ip, &ip)?;
        check(&self.per_app, &app_id.to_owned())
    }

    /// A management API request with this key (hashed: the key itself is not kept).
    pub async fn key(&self, key_hash: Vec<u8>) -> Result<(), Duration> {
        if self.shared.is_some() {
            let hex: String = key_hash.iter().map(|b| format!("{b:02x}")).collect();
            return self.hit(&format!("key:{hex}"), self.config.per_key).await;
        }
        check(&self.per_key, &key_hash)
    }

    /// One hit in the shared one-second window; a database error lets the request through.
    async fn hit(&self, key: &str, limit: u32) -> Result<(), Duration> {
        let Some((store, clock)) = &self.shared else {
            return Ok(());
        };
        if limit == 0 {
            return Ok(());
        }
        let now = clock.now();
        match store.count_hit(key, now / 1000).await {
            Ok(hits) if hits > i64::from(limit) => {
                Err(Duration::from_millis((1000 - now % 1000) as u64))
            }
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(%error, "shared rate limit not counted");
                Ok(())
            }
        }
    }
}
