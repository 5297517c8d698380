//! What an operator scrapes from `GET /metrics`: one Prometheus registry per
//! instance (a value owned by the [`Flex`](crate::flex::Flex) core, not a
//! global, so two servers in one process count apart), encoded in the
//! Prometheus text format by `prometheus-client`.
//!
//! Every label value comes from a fixed set, never from a request as sent:
//! ceremony kinds and error codes are Latchkey's own, routes are the router's
//! templates (`/v1/apps/{app_id}/users/{user_id}`, not the ids), methods
//! outside the usual few are `other`. Counters start at zero for every kind and
//! limit, so a dashboard sees them before the first ceremony.

use std::sync::Arc;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::store::Store;

/// The `Content-Type` of a scrape: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The ceremony kinds [`Metrics::ceremony`] counts.
pub const CEREMONY_KINDS: [&str; 4] = ["register", "authenticate", "discoverable", "nonce"];

/// The rate limits [`Metrics::rate_limit_refused`] counts: the API's
/// (`traffic::limits`) and the site's server functions' (`site::limits`).
pub const LIMITS: [&str; 5] = ["client_ip", "app", "management_ip", "key", "site"];

/// Upper bounds of the request latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CeremonyLabels {
    kind: &'static str,
    outcome: &'static str,
    /// The `FlexError::code()` of a failure; empty for a success.
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    r#type: String,
    outcome: String,
}

type RequestFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The instance's metrics: cheap to clone, every clone counts into one registry.
#[derive(Clone, Debug)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    ceremonies: Family<CeremonyLabels, Counter>,
    requests: RequestFamily,
    refusals: Family<LimitLabels, Counter>,
    events: Family<EventLabels, Counter>,
}

impl Metrics {
    /// A registry of Latchkey's metrics; the pool gauge reads `store`'s pools
    /// at each scrape.
    pub fn new(store: Store) -> Self {
        let mut registry = Registry::with_prefix("latchkey");
        let ceremonies = Family::<CeremonyLabels, Counter>::default();
        registry.register(
            "ceremonies",
            "Finished ceremonies (register, authenticate, discoverable sign-in, nonce verification) by outcome; a failure carries its error code",
            ceremonies.clone(),
        );
        let requests: RequestFamily =
            Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS.iter().copied()));
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by method, matched route template and status, with their latency",
            requests.clone(),
        );
        let refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limit_refusals",
            "Requests refused by a rate limit (429), by limit",
            refusals.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events_written",
            "Audit log events written, by event type and outcome",
            events.clone(),
        );
        registry.register_collector(Box::new(PoolCollector(store)));
        for kind in CEREMONY_KINDS {
            ceremonies.get_or_create_owned(&CeremonyLabels {
                kind,
                outcome: "success",
                code: "",
            });
        }
        for limit in LIMITS {
            refusals.get_or_create_owned(&LimitLabels { limit });
        }
        Self(Arc::new(Inner {
            registry,
            ceremonies,
            requests,
            refusals,
            events,
        }))
    }

    /// Counts one finished ceremony. `kind` is one of [`CEREMONY_KINDS`];
    /// `code` is the failure's `FlexError::code()` (`None` for a success).
    pub fn ceremony(&self, kind: &'static str, code: Option<&'static str>) {
        let labels = CeremonyLabels {
            kind,
            outcome: if code.is_some() { "failure" } else { "success" },
            code: code.unwrap_or_default(),
        };
        self.0.ceremonies.get_or_create(&labels).inc();
    }

    /// Counts one audit log event written (or not: `outcome` says, such as
    /// `written` or `failed`). The audit log's writer calls this; its event
    /// types and outcomes must be a fixed set, as every label value here.
    pub fn events_written(&self, event_type: &str, outcome: &str) {
        let labels = EventLabels {
            r#type: event_type.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.0.events.get_or_create(&labels).inc();
    }

    /// Counts one request refused by a rate limit, one of [`LIMITS`].
    pub fn rate_limit_refused(&self, limit: &'static str) {
        self.0.refusals.get_or_create(&LimitLabels { limit }).inc();
    }

    /// Records one answered request: `route` is the matched route's template
    /// (`None` when no route matched: `other`).
    pub fn request(
        &self,
        method: &axum::http::Method,
        route: Option<&str>,
        status: u16,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.unwrap_or("other").to_owned(),
            status,
        };
        self.0.requests.get_or_create(&labels).observe(seconds);
    }

    /// Everything, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.0.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// A request's method as a label: the methods Latchkey serves, else `other`
/// (a client may send any token as a method).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The bearer token a scrape must show (`serve --metrics-token`), kept only as
/// its SHA-256, compared in constant time, never printed.
#[derive(Clone)]
pub struct MetricsToken(Vec<u8>);

impl MetricsToken {
    /// A token as configured; an empty one is refused (it would look set and
    /// let anyone in).
    pub fn parse(token: &str) -> Result<Self, String> {
        if token.trim().is_empty() {
            return Err("the metrics token is empty".into());
        }
        Ok(Self(crate::flex::ids::hash(token)))
    }

    /// Whether an `Authorization` header is `Bearer <this token>`.
    pub fn admits(&self, authorization: Option<&axum::http::HeaderValue>) -> bool {
        use subtle::ConstantTimeEq as _;
        let Some(bearer) = authorization
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
        else {
            return false;
        };
        // Both sides are SHA-256 digests: equal lengths, whatever was sent.
        crate::flex::ids::hash(bearer).ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// `latchkey_db_pool_connections{pool,state}`, read from the pools at each scrape.
#[derive(Debug)]
struct PoolCollector(Store);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let family = Family::<PoolLabels, Gauge>::default();
        for usage in self.0.pool_usage() {
            let idle = i64::from(usage.idle);
            let in_use = i64::from(usage.size) - idle;
            for (state, value) in [("in_use", in_use), ("idle", idle)] {
                family
                    .get_or_create(&PoolLabels {
                        pool: usage.pool,
                        state,
                    })
                    .set(value);
            }
        }
        let metric = encoder.encode_descriptor(
            "db_pool_connections",
            "Database connections by pool (SQLite: reader and writer; PostgreSQL: postgres) and state (in_use, idle)",
            None,
            family.metric_type(),
        )?;
        family.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn metrics() -> Metrics {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        Metrics::new(store)
    }

    /// The sample line of `name` with exactly these labels, and its value.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
    }

    #[tokio::test]
    async fn events_written_counts_by_type_and_outcome() {
        let metrics = metrics().await;
        metrics.events_written("passkey.registered", "written");
        metrics.events_written("passkey.registered", "written");
        metrics.events_written("user.deleted", "failed");
        let text = metrics.encode();
        assert!(text.contains("# TYPE latchkey_events_written_total counter"));
        let written =
            r#"latchkey_events_written_total{type="passkey.registered",outcome="written"}"#;
        assert_eq!(sample(&text, written), Some(2.0));
        let failed = r#"latchkey_events_written_total{type="user.deleted",outcome="failed"}"#;
        assert_eq!(sample(&text, failed), Some(1.0));
    }

    #[tokio::test]
    async fn ceremonies_start_at_zero_and_failures_carry_their_code() {
        let metrics = metrics().await;
        let success = r#"latchkey_ceremonies_total{kind="nonce",outcome="success",code=""}"#;
        assert_eq!(sample(&metrics.encode(), success), Some(0.0));
        metrics.ceremony("nonce", None);
        metrics.ceremony("nonce", Some("invalid_nonce"));
        let text = metrics.encode();
        assert_eq!(sample(&text, success), Some(1.0));
        let failure =
            r#"latchkey_ceremonies_total{kind="nonce",outcome="failure",code="invalid_nonce"}"#;
        assert_eq!(sample(&text, failure), Some(1.0));
    }

    #[tokio::test]
    async fn the_pools_are_read_at_each_scrape() {
        let text = metrics().await.encode();
        assert!(text.contains("# TYPE latchkey_db_pool_connections gauge"));
        for pool in ["reader", "writer"] {
            for state in ["in_use", "idle"] {
                let series =
                    format!(r#"latchkey_db_pool_connections{{pool="{pool}",state="{state}"}}"#);
                assert!(sample(&text, &series).is_some(), "no {series} in {text}");
            }
        }
    }

    #[test]
    fn the_token_admits_only_its_own_bearer_and_never_prints() {
        let token = MetricsToken::parse("s3cret-scrape").unwrap();
        let header = |text: &str| Some(axum::http::HeaderValue::from_str(text).unwrap());
        assert!(token.admits(header("Bearer s3cret-scrape").as_ref()));
        assert!(!token.admits(header("Bearer s3cret-scrapE").as_ref()));
        assert!(!token.admits(header("Bearer ").as_ref()));
        assert!(!token.admits(header("s3cret-scrape").as_ref()));
        assert!(!token.admits(None));
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(MetricsToken::parse(" ").is_err());
    }

    #[test]
    fn unknown_methods_are_one_label() {
        let made_up = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }
}
