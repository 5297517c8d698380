//! Limits on the site's server functions (`/site/*`), counted *before* the
//! work, atomically (one lock, no await inside), so concurrent guesses beyond a
//! limit are refused at once instead of queued. Token buckets (GCRA: one time
//! per key, the moment its bucket is full again), on the injected clock:
//!
//! - per client address, every call: a burst of 120, one more every 500 ms; a
//!   password check (sign-in, sign-up) costs 6 (a burst of 20, then one per 3 s);
//! - per account and address (a call naming an email): a burst of 5, then one a
//!   minute; a successful sign-in starts it afresh;
//! - per account from all addresses: a burst of 20, then one every 6 s.
//!
//! So an attacker needs at least 4 addresses to empty an account's shared
//! bucket and 10 to keep it empty; a victim then waits at most 6 s after the
//! attack stops. Each map holds at most `MAX_KEYS`; full buckets are pruned (on
//! demand and by the sweeper), and a new key that finds its map still full is
//! refused rather than evicting someone else's count.

use std::{collections::HashMap, hash::Hash, net::IpAddr, sync::Mutex, time::Duration};

use crate::flex::{
    clock::{Clock, Millis},
    ids,
};

/// A token bucket: `burst` tokens, one more every `refill_ms`.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub burst: i64,
    pub refill_ms: i64,
}

pub const PER_IP: Rate = Rate {
    burst: 120,
    refill_ms: 500,
};
/// What a password check (one Argon2 run) costs from the per-address bucket.
pub const PASSWORD_COST: i64 = 6;
pub const PER_ACCOUNT_AND_IP: Rate = Rate {
    burst: 5,
    refill_ms: 60_000,
};
pub const PER_ACCOUNT: Rate = Rate {
    burst: 20,
    refill_ms: 6_000,
};
/// The most keys each map remembers.
pub const MAX_KEYS: usize = 100_000;

/// The SHA-256 of a normalised email (trimmed, lower-cased): fixed-size keys,
/// however long the input.
type AccountKey = Vec<u8>;

/// One limiter's buckets: per key, the time its bucket is full again.
struct Buckets<K> {
    rate: Rate,
    full_at: HashMap<K, Millis>,
    pruned_at: Millis,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            full_at: HashMap::new(),
            pruned_at: 0,
        }
    }

    /// Where the key's bucket would be after taking `cost`, or how long to wait.
    fn try_take(&mut self, key: &K, cost: i64, now: Millis) -> Result<Millis, Duration> {
        if !self.full_at.contains_key(key) && self.full_at.len() >= MAX_KEYS {
            // At most one pass a second, so a full map cannot make every call slow.
            if now - self.pruned_at >= 1000 {
                self.prune(now);
            }
            if self.full_at.len() >= MAX_KEYS {
                return Err(Duration::from_millis(self.rate.refill_ms as u64));
            }
        }
        let full_at = self.full_at.get(key).copied().unwrap_or(now).max(now);
        let next = full_at + cost * self.rate.refill_ms;
        let allowed_until = now + self.rate.burst * self.rate.refill_ms;
        if next > allowed_until {
            Err(Duration::from_millis((next - allowed_until) as u64))
        } else {
            Ok(next)
        }
    }

    fn prune(&mut self, now: Millis) {
        self.full_at.retain(|_, full_at| *full_at > now);
        self.pruned_at = now;
    }
}

struct Maps {
    ip: Buckets<IpAddr>,
    account_and_ip: Buckets<(AccountKey, IpAddr)>,
    account: Buckets<AccountKey>,
}

/// The site's limits, one per server.
pub struct SiteLimits {
    clock: Clock,
    maps: Mutex<Maps>,
}

/// One server function call, as the limits see it.
pub struct Call<'a> {
    pub ip: IpAddr,
    /// The email the call names, if any (as typed).
    pub email: Option<&'a str>,
    /// Whether it checks a password (one Argon2 run).
    pub password: bool,
}

fn account_key(email: &str) -> AccountKey {
    ids::hash(&email.trim().to_lowercase())
}

impl SiteLimits {
    pub fn new(clock: &Clock) -> Self {
        Self {
            clock: clock.clone(),
            maps: Mutex::new(Maps {
                ip: Buckets::new(PER_IP),
                account_and_ip: Buckets::new(PER_ACCOUNT_AND_IP),
                account: Buckets::new(PER_ACCOUNT),
            }),
        }
    }

    /// Counts the call against every limit it falls under, all or none;
    /// `Err` holds how long to wait before the next call can pass.
    pub fn admit(&self, call: &Call) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let cost = if call.password { PASSWORD_COST } else { 1 };
        let ip = maps.ip.try_take(&call.ip, cost, now)?;
        let Some(email) = call.email else {
            maps.ip.full_at.insert(call.ip, ip);
            return Ok(());
        };
        let account = account_key(email);
        let pair_key = (account.clone(), call.ip);
        let pair = maps.account_and_ip.try_take(&pair_key, 1, now)?;
        let shared = maps.account.try_take(&account, 1, now)?;
        maps.ip.full_at.insert(call.ip, ip);
        maps.account_and_ip.full_at.insert(pair_key, pair);
        maps.account.full_at.insert(account, shared);
        Ok(())
    }

    /// A successful sign-in: the account's budget from this address starts afresh.
    pub fn signed_in(&self, ip: IpAddr, email: &str) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.account_and_ip
            .full_at
            .remove(&(account_key(email), ip));
    }

    /// Forgets the buckets that are full again (the sweeper calls this).
    pub fn prune(&self) {
        let now = self.clock.now();
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.ip.prune(now);
        maps.account_and_ip.prune(now);
        maps.account.prune(now);
    }

    /// How many keys the limits remember, all maps together.
    pub fn key_count(&self) -> usize {
        let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.ip.full_at.len() + maps.account_and_ip.full_at.len() + maps.account.full_at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn sign_in<'a>(last: u8, email: &'a str) -> Call<'a> {
        Call {
            ip: ip(last),
            email: Some(email),
            password: true,
        }
    }

    #[test]
    fn guesses_are_counted_before_the_work_and_refused_beyond_the_burst() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        // Nothing is recorded after the attempt: the sixth guess is refused
        // even while the first five are still being checked.
        let answers: Vec<_> = (0..6)
            .map(|_| limits.admit(&sign_in(1, " Ada@Example.com")).is_ok())
            .collect();
        assert_eq!(answers, [true, true, true, true, true, false]);
        let wait = limits.admit(&sign_in(1, "ada@example.com")).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        clock.advance(wait);
        assert!(limits.admit(&sign_in(1, "ada@example.com")).is_ok());
        assert!(limits.admit(&sign_in(1, "ada@example.com")).is_err());
    }

    #[test]
    fn an_attacker_from_one_address_cannot_lock_out_the_victim() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        for _ in 0..100 {
            let _ = limits.admit(&sign_in(1, "ada@example.com"));
        }
        assert!(limits.admit(&sign_in(2, "ada@example.com")).is_ok());
    }

    #[test]
    fn many_addresses_hold_an_account_only_while_they_attack_plus_six_seconds() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        for attacker in 10..40 {
            for _ in 0..5 {
                let _ = limits.admit(&sign_in(attacker, "ada@example.com"));
            }
        }
        let wait = limits.admit(&sign_in(2, "ada@example.com")).unwrap_err();
        assert!(wait <= Duration::from_secs(6), "{wait:?}");
        clock.advance(wait);
        assert!(limits.admit(&sign_in(2, "ada@example.com")).is_ok());
    }

    #[test]
    fn an_address_gets_twenty_password_checks_and_a_hundred_twenty_calls() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        let emails: Vec<String> = (0..21).map(|n| format!("user{n}@example.com")).collect();
        let passed = emails
            .iter()
            .filter(|email| limits.admit(&sign_in(1, email)).is_ok())
            .count();
        assert_eq!(passed, 20);
        let cheap = Call {
            ip: ip(3),
            email: None,
            password: false,
        };
        assert_eq!(
            (0..121).filter(|_| limits.admit(&cheap).is_ok()).count(),
            120
        );
    }

    #[test]
    fn a_successful_sign_in_starts_the_address_afresh() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        for _ in 0..5 {
            limits.admit(&sign_in(1, "ada@example.com")).unwrap();
        }
        limits.signed_in(ip(1), "ADA@example.com ");
        assert!(limits.admit(&sign_in(1, "ada@example.com")).is_ok());
    }

    #[test]
    fn full_buckets_are_pruned_and_the_maps_are_bounded() {
        let clock = Clock::manual();
        let limits = SiteLimits::new(&clock);
        let mut buckets = Buckets::new(PER_ACCOUNT);
        let now = clock.now();
        for n in 0..MAX_KEYS {
            let next = buckets.try_take(&n, 1, now).unwrap();
            buckets.full_at.insert(n, next);
        }
        assert!(
            buckets.try_take(&MAX_KEYS, 1, now).is_err(),
            "full: refused"
        );
        assert!(
            buckets.try_take(&0, 1, now).is_ok(),
            "known keys still count"
        );
        assert!(
            buckets.try_take(&MAX_KEYS, 1, now + 6_000).is_ok(),
            "pruned"
        );
        assert_eq!(buckets.full_at.len(), 0);

        limits.admit(&sign_in(1, "ada@example.com")).unwrap();
        assert_eq!(limits.key_count(), 3);
        clock.advance(Duration::from_secs(59));
        limits.prune();
        assert_eq!(limits.key_count(), 1, "the pair refills in a minute");
        clock.advance(Duration::from_secs(1));
        limits.prune();
        assert_eq!(limits.key_count(), 0);
    }
}
