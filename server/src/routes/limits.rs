//! Rate limits (GCRA, in memory, per instance): per client IP and per app on
//! the client API, per API key on the management API. Several instances each
//! enforce their own limits; behind a load balancer the effective limit is the
//! per-instance limit times the instances (see README).

use std::{hash::Hash, net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{clock::Clock as _, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Requests per second allowed (a burst of as many); 0 turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_ip: u32,
    pub per_app: u32,
    pub per_key: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_ip: 100,
            per_app: 2000,
            per_key: 2000,
        }
    }
}

pub struct Limits {
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
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            per_ip: limiter(config.per_ip),
            per_app: limiter(config.per_app),
            per_key: limiter(config.per_key),
        }
    }

    /// A client API request from `ip` for `app_id`; `Err` holds how long to wait.
    pub fn client(&self, ip: IpAddr, app_id: &str) -> Result<(), Duration> {
        check(&self.per_ip, &ip)?;
        check(&self.per_app, &app_id.to_owned())
    }

    /// A management API request with this key (hashed: the key itself is not kept).
    pub fn key(&self, key_hash: Vec<u8>) -> Result<(), Duration> {
        check(&self.per_key, &key_hash)
    }
}
