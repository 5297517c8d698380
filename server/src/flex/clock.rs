//! Time as a parameter: the system clock in production, a hand-moved one in tests.

use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Unix time in milliseconds, the unit every stored time uses.
pub type Millis = i64;

#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands still until `advance` moves it.
    pub fn manual() -> Self {
        Self(Some(Arc::new(AtomicI64::new(system_now()))))
    }

    pub fn now(&self) -> Millis {
        match &self.0 {
            None => system_now(),
            Some(now) => now.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        let now = self.0.as_ref().expect("only a manual clock can be moved");
        now.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

fn system_now() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or_default()
}

/// RFC 3339 in UTC, as the API shows times; `None` (never) as Go's zero time,
/// which is what Passage answered for "never".
pub fn rfc3339(at: Option<Millis>) -> String {
    let Some(at) = at else {
        return "0001-01-01T00:00:00Z".to_owned();
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = Clock::manual();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.now(), start + 61_000);
    }

    #[test]
    fn times_are_rfc3339_and_never_is_the_zero_time() {
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(1_700_000_000_123)), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
    }
}
