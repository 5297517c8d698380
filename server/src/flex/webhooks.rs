//! Webhooks, per the Standard Webhooks specification: an app's endpoints
//! (URL, event types, secret), and the worker that delivers the outbox.
//!
//! Every event of an app is written with one message per endpoint that takes
//! its type, in the event's own database transaction (a trigger on `events`,
//! migration 0011). The worker ([`Flex::run_webhook_worker`], started by
//! `serve`) claims due messages with a lease, one statement, so several
//! instances on one database never hold one message at once; it delivers the
//! oldest unsettled message of each endpoint only (in order per endpoint),
//! at least once, and backs off exponentially (5 s doubling to 1 h) until
//! [`MAX_ATTEMPTS`] attempts, then gives the message up as `failed`. All of
//! its state is in the database: a restart, or a kill, resumes where it was.
//!
//! A request carries `webhook-id` (the message's id, the same on every
//! attempt), `webhook-timestamp` (Unix seconds of the attempt) and
//! `webhook-signature`: `v1,` and the base64 of HMAC-SHA256, keyed with the
//! secret's bytes, of `{id}.{timestamp}.{body}`; after a rotation, a second
//! signature with the old secret for [`ROTATION_GRACE_MS`]. The body is
//! `{"type", "timestamp", "data"}`, `data` being the event as the events API
//! shows it (never a secret).
//!
//! SSRF: unless allowed (`--webhook-allow-private`), a URL whose host is, or
//! resolves to, a private, loopback, link-local, unique-local, unspecified,
//! shared or metadata address is refused when it is added, and again at
//! every delivery against the addresses actually connected to.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

pub use app::wire::webhooks::{
    CreateWebhookRequest, Webhook, WebhookAttempt, WebhookList, WebhookMessage, WebhookMessageList,
    WebhookWithSecret,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use rand::{rngs::OsRng, RngCore};
use sha2::Sha256;

use super::{
    clock::{rfc3339, Millis},
    events::{event_of, success, EventType},
    ids::{AppId, WebhookId},
    Flex, FlexError,
};
use crate::store::{ClaimedMessage, Json, NewEvent, Settlement, WebhookRow};

/// Attempts before a message is given up as `failed`: with the back-off
/// below, about two and a half hours after the first.
pub const MAX_ATTEMPTS: i64 = 12;
/// The first retry's delay; each next one doubles, up to [`MAX_DELAY_MS`].
pub const FIRST_DELAY_MS: Millis = 5_000;
pub const MAX_DELAY_MS: Millis = 60 * 60 * 1000;
/// How long the secret before a rotation keeps signing too.
pub const ROTATION_GRACE_MS: Millis = 24 * 60 * 60 * 1000;
/// Messages one worker claims at a time (each of a different endpoint).
const BATCH: i64 = 16;
/// A URL is at most this long.
const MAX_URL_CHARS: usize = 2048;
/// Messages a listing shows at most, and by default.
pub const MAX_MESSAGES: i64 = 200;
pub const DEFAULT_MESSAGES: i64 = 50;

/// How the worker delivers (`serve`'s options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Deliver to (and accept) private and loopback addresses too.
    pub allow_private: bool,
    /// How often the worker looks for due messages (real time).
    pub poll_interval: Duration,
    /// How long one attempt may take, connecting included.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// An endpoint's secret: `whsec_` and the base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(format!("whsec_{}", STANDARD.encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under
/// `secret` (`whsec_…`: its bytes are the base64 after the prefix).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header of an endpoint at `now`: the current
/// secret's signature, and the previous one's during its grace period.
fn signature_header(row: &WebhookRow, now: Millis, id: &str, timestamp: i64, body: &str) -> String {
    let mut header = sign(&row.secret, id, timestamp, body);
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_secret_until) {
        if now < until {
            header.push(' ');
            header.push_str(&sign(previous, id, timestamp, body));
        }
    }
    header
}

/// Whether an address is one a webhook may not reach without
/// `--webhook-allow-private`: private, loopback, link-local (the cloud
/// metadata address among them), unique-local, unspecified, shared (CGNAT),
/// multicast, broadcast, reserved or documentation; IPv4 inside IPv6 as IPv4.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (a == 100 && (b & 0xc0) == 64) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking, 198.18/15
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96): the IPv4 address it reaches.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[..6] == [0; 6] // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7 (fd00:ec2::254, the metadata)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
}

/// A webhook URL, parsed: http(s), a host, no credentials, at most 2048 characters.
fn parse_url(text: &str) -> Result<url::Url, FlexError> {
    let refuse = |why: &str| FlexError::invalid(format!("url {why}, not `{text}`"));
    if text.len() > MAX_URL_CHARS {
        return Err(FlexError::invalid(format!(
            "url must be at most {MAX_URL_CHARS} characters"
        )));
    }
    let url = url::Url::parse(text).map_err(|_| refuse("must be an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("must start with https:// or http://"));
    }
    if url.host().is_none() {
        return Err(refuse("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("must not hold credentials"));
    }
    if url.fragment().is_some() {
        return Err(refuse("must not have a fragment"));
    }
    Ok(url)
}

/// Why a URL's host, if it is an address, may not be reached; `None` for a
/// name (checked as it resolves) or an allowed address.
fn refused_literal(url: &url::Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    is_forbidden(ip).then(|| format!("{ip} is a private or reserved address"))
}

/// Refuses a URL whose host is, or resolves to, a forbidden address.
async fn check_target(url: &url::Url) -> Result<(), FlexError> {
    let refuse = |why: String| {
        FlexError::invalid(format!(
            "url must reach a public address: {why} (the server allows private ones with \
             --webhook-allow-private)"
        ))
    };
    if let Some(why) = refused_literal(url) {
        return Err(refuse(why));
    }
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| FlexError::invalid(format!("url's host `{name}` does not resolve")))?
            .collect();
        if let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
            return Err(refuse(format!("{name} resolves to {}", bad.ip())));
        }
    }
    Ok(())
}

/// A resolver that answers only public addresses: the worker's, unless private
/// ones are allowed, so that the address connected to is the one checked.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let name = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
                return Err(format!(
                    "{name} resolves to {}, a private or reserved address",
                    bad.ip()
                )
                .into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// The worker's HTTP client: a timeout, no redirects, no proxy from the
/// environment, and (unless allowed) public addresses only.
fn http_client(settings: &WebhookSettings) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().expect("the webhook HTTP client builds")
}

/// The delay before attempt `attempts + 1`, after `attempts` failed.
pub fn retry_delay(attempts: i64) -> Millis {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

fn view(row: &WebhookRow, now: Millis) -> Webhook {
    Webhook {
        id: row.id.clone(),
        url: row.url.clone(),
        event_types: row.event_types.0.clone(),
        created_at: rfc3339(Some(row.created_at)),
        previous_secret_expires_at: row
            .previous_secret_until
            .filter(|until| *until > now)
            .map(|until| rfc3339(Some(until))),
    }
}

/// A URL as the audit log records it: without its query (which may carry a token).
fn url_for_log(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

fn webhook_event(
    app: &AppId,
    event_type: EventType,
    id: &str,
    detail: serde_json::Value,
    at: Millis,
) -> NewEvent {
    let mut detail = detail;
    detail["webhook_id"] = serde_json::Value::String(id.to_owned());
    NewEvent {
        detail,
        ..success(Some(app), event_type, at)
    }
}

/// The event types a list names, each checked against the audit log's vocabulary.
fn parse_event_types(types: &[String]) -> Result<Vec<String>, FlexError> {
    let mut parsed: Vec<String> = Vec::new();
    for text in types {
        let event_type = EventType::parse(text).ok_or_else(|| {
            let names: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            FlexError::invalid(format!(
                "event_types must each be one of {}, not `{text}`",
                names.join(", ")
            ))
        })?;
        if !parsed.iter().any(|t| t == event_type.as_str()) {
            parsed.push(event_type.as_str().to_owned());
        }
    }
    Ok(parsed)
}

impl Flex {
    /// This core, accepting (and delivering to) private addresses or not.
    pub fn allowing_private_webhooks(mut self, allow: bool) -> Self {
        self.webhook_allow_private = allow;
        self
    }

    /// Adds an endpoint to an app: its secret is in the answer, and only there.
    pub async fn create_webhook(
        &self,
        app: &AppId,
        url: &str,
        event_types: &[String],
    ) -> Result<WebhookWithSecret, FlexError> {
        let parsed = parse_url(url)?;
        let event_types = parse_event_types(event_types)?;
        self.app(app).await?;
        if !self.webhook_allow_private {
            check_target(&parsed).await?;
        }
        let secret = WebhookSecret::generate();
        let now = self.now();
        let row = WebhookRow {
            id: WebhookId::generate().as_str().to_owned(),
            app_id: app.as_str().to_owned(),
            url: parsed.to_string(),
            event_types: Json(event_types.clone()),
            secret: secret.as_str().to_owned(),
            previous_secret: None,
            previous_secret_until: None,
            created_at: now,
        };
        let event = webhook_event(
            app,
            EventType::WebhookCreated,
            &row.id,
            serde_json::json!({ "url": url_for_log(&parsed), "event_types": event_types }),
            now,
        );
        if !self.store.insert_webhook(&row, &event).await? {
            return Err(FlexError::AppNotFound);
        }
        self.wrote(&event);
        Ok(WebhookWithSecret {
            webhook: view(&row, now),
            secret: secret.0,
        })
    }

    /// An app's endpoints, oldest first (no secret).
    pub async fn list_webhooks(&self, app: &AppId) -> Result<Vec<Webhook>, FlexError> {
        let now = self.now();
        Ok(self
            .store
            .list_webhooks(app.as_str())
            .await?
            .iter()
            .map(|row| view(row, now))
            .collect())
    }

    /// Removes an app's endpoint, its messages with it.
    pub async fn remove_webhook(&self, app: &AppId, id: &str) -> Result<(), FlexError> {
        let id = WebhookId::parse(id).ok_or(FlexError::WebhookNotFound)?;
        let event = webhook_event(
            app,
            EventType::WebhookRemoved,
            id.as_str(),
            serde_json::json!({}),
            self.now(),
        );
        if !self
            .store
            .delete_webhook(app.as_str(), id.as_str(), &event)
            .await?
        {
            return Err(FlexError::WebhookNotFound);
        }
        self.wrote(&event);
        Ok(())
    }

    /// Gives an app's endpoint a new secret (in the answer, and only there);
    /// the old one signs too for [`ROTATION_GRACE_MS`].
    pub async fn rotate_webhook_secret(
        &self,
        app: &AppId,
        id: &str,
    ) -> Result<WebhookWithSecret, FlexError> {
        let id = WebhookId::parse(id).ok_or(FlexError::WebhookNotFound)?;
        let secret = WebhookSecret::generate();
        let now = self.now();
        let until = now + ROTATION_GRACE_MS;
        let event = webhook_event(
            app,
            EventType::WebhookSecretRotated,
            id.as_str(),
            serde_json::json!({ "previous_secret_expires_at": rfc3339(Some(until)) }),
            now,
        );
        if !self
            .store
            .rotate_webhook_secret(app.as_str(), id.as_str(), secret.as_str(), until, &event)
            .await?
        {
            return Err(FlexError::WebhookNotFound);
        }
        self.wrote(&event);
        let row = self
            .store
            .find_webhook(id.as_str())
            .await?
            .ok_or(FlexError::WebhookNotFound)?;
        Ok(WebhookWithSecret {
            webhook: view(&row, now),
            secret: secret.0,
        })
    }

    /// An app's endpoint's newest `limit` messages, with their attempts.
    pub async fn webhook_messages(
        &self,
        app: &AppId,
        id: &str,
        limit: Option<i64>,
    ) -> Result<Vec<WebhookMessage>, FlexError> {
        let limit = limit.unwrap_or(DEFAULT_MESSAGES);
        if !(1..=MAX_MESSAGES).contains(&limit) {
            return Err(FlexError::invalid(format!(
                "limit must be between 1 and {MAX_MESSAGES}, not {limit}"
            )));
        }
        let id = WebhookId::parse(id).ok_or(FlexError::WebhookNotFound)?;
        let row = self.store.find_webhook(id.as_str()).await?;
        if row.is_none_or(|row| row.app_id != app.as_str()) {
            return Err(FlexError::WebhookNotFound);
        }
        let messages = self.store.list_webhook_messages(id.as_str(), limit).await?;
        let attempts = self.store.list_webhook_attempts(id.as_str(), limit).await?;
        Ok(messages
            .into_iter()
            .map(|m| WebhookMessage {
                attempts: attempts
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| WebhookAttempt {
                        attempt: a.attempt,
                        at: rfc3339(Some(a.at)),
                        status_code: a.status_code,
                        error: a.error.clone(),
                        duration_ms: a.duration_ms,
                    })
                    .collect(),
                next_attempt_at: (m.status == "pending").then(|| rfc3339(Some(m.next_attempt_at))),
                finished_at: m.finished_at.map(|at| rfc3339(Some(at))),
                created_at: rfc3339(Some(m.created_at)),
                id: m.id,
                event_id: m.event_id,
                event_type: m.event_type,
                status: m.status,
                attempt_count: m.attempts,
            })
            .collect())
    }

    /// Delivers the outbox until the task is dropped: started by `serve`.
    pub async fn run_webhook_worker(self, settings: WebhookSettings) {
        let client = http_client(&settings);
        loop {
            match self.deliver_due_webhooks(&client, &settings).await {
                Ok(0) => tokio::time::sleep(settings.poll_interval).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not deliver webhooks");
                    tokio::time::sleep(settings.poll_interval).await;
                }
            }
        }
    }

    /// Claims the messages due now and delivers them (each of another
    /// endpoint, so at once); how many it claimed.
    async fn deliver_due_webhooks(
        &self,
        client: &reqwest::Client,
        settings: &WebhookSettings,
    ) -> Result<usize, FlexError> {
        let now = self.now();
        if !self.store.any_webhook_due(now).await? {
            return Ok(0);
        }
        // Held past the attempt's timeout, so it cannot be claimed again mid-attempt.
        let lease = now + 2 * settings.timeout.as_millis() as Millis + 30_000;
        let claimed = self.store.claim_webhook_messages(now, lease, BATCH).await?;
        let count = claimed.len();
        futures::future::join_all(
            claimed
                .into_iter()
                .map(|message| self.deliver(client, settings, message)),
        )
        .await;
        Ok(count)
    }

    async fn deliver(
        &self,
        client: &reqwest::Client,
        settings: &WebhookSettings,
        message: ClaimedMessage,
    ) {
        if let Err(error) = self.try_deliver(client, settings, &message).await {
            tracing::warn!(%error, message = message.id, "could not settle a webhook message");
        }
    }

    async fn try_deliver(
        &self,
        client: &reqwest::Client,
        settings: &WebhookSettings,
        message: &ClaimedMessage,
    ) -> Result<(), FlexError> {
        // Removed since: its messages went with it.
        let Some(endpoint) = self.store.find_webhook(&message.endpoint_id).await? else {
            return Ok(());
        };
        let now = self.now();
        let started = Instant::now();
        let outcome: Result<u16, String> =
            match self.store.find_event_by_seq(message.event_seq).await? {
                None => Err("the event is no longer in the audit log (retention)".to_owned()),
                Some(event) => {
                    let event = event_of(event)?;
                    let body = serde_json::to_string(&serde_json::json!({
                        "type": event.event_type,
                        "timestamp": event.created_at,
                        "data": event,
                    }))?;
                    self.post(client, settings, &endpoint, &message.id, now, body)
                        .await
                }
            };
        let duration_ms = started.elapsed().as_millis() as i64;
        let gave_up = message.attempts >= MAX_ATTEMPTS;
        let (status, status_code, error) = match &outcome {
            Ok(code) if (200..300).contains(code) => ("delivered", Some(i64::from(*code)), None),
            Ok(code) => (
                if gave_up { "failed" } else { "pending" },
                Some(i64::from(*code)),
                Some(format!("the receiver answered {code}")),
            ),
            Err(error) => (
                if gave_up { "failed" } else { "pending" },
                None,
                Some(error.clone()),
            ),
        };
        let settlement = Settlement {
            at: now,
            status_code,
            error: error.as_deref(),
            duration_ms,
            status,
            next_attempt_at: now + retry_delay(message.attempts),
        };
        tracing::info!(
            message = message.id,
            webhook = endpoint.id,
            attempt = message.attempts,
            status,
            status_code,
            error = error.as_deref(),
            "webhook delivery attempt"
        );
        if !self
            .store
            .settle_webhook_message(message, &settlement)
            .await?
        {
            tracing::warn!(
                message = message.id,
                "a webhook message's lease ran out mid-attempt"
            );
        }
        Ok(())
    }

    /// One attempt: the receiver's status, or why there was none.
    async fn post(
        &self,
        client: &reqwest::Client,
        settings: &WebhookSettings,
        endpoint: &WebhookRow,
        id: &str,
        now: Millis,
        body: String,
    ) -> Result<u16, String> {
        let url = url::Url::parse(&endpoint.url).map_err(|e| e.to_string())?;
        if !settings.allow_private {
            if let Some(why) = refused_literal(&url) {
                return Err(format!("refused: {why}"));
            }
        }
        let timestamp = now.div_euclid(1000);
        let signature = signature_header(endpoint, now, id, timestamp, &body);
        client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map(|response| response.status().as_u16())
            .map_err(|error| {
                crate::doctor::error_chain(&error)
                    .chars()
                    .take(500)
                    .collect()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_specifications() {
        // The example of the Standard Webhooks specification's reference libraries.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn private_and_reserved_addresses_are_forbidden_and_public_ones_are_not() {
        for forbidden in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_forbidden(forbidden.parse().unwrap()), "{forbidden}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_back_off_from_five_seconds_doubling_to_an_hour() {
        assert_eq!(retry_delay(1), 5_000);
        assert_eq!(retry_delay(2), 10_000);
        assert_eq!(retry_delay(5), 80_000);
        assert_eq!(retry_delay(11), MAX_DELAY_MS);
        assert_eq!(retry_delay(40), MAX_DELAY_MS);
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes_of_base64() {
        let secret = WebhookSecret::generate();
        let bytes = STANDARD
            .decode(secret.as_str().strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
    }

    #[test]
    fn a_url_must_be_http_with_a_host_and_no_credentials() {
        for bad in [
            "",
            "example.com/hook",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com/#x",
        ] {
            assert_eq!(
                parse_url(bad).unwrap_err().code(),
                "invalid_request",
                "{bad}"
            );
        }
        assert!(parse_url("https://example.com/hook?x=1").is_ok());
    }
}
