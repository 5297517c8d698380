//! Webhooks: an app's endpoints, and the outbox of messages to deliver to them.
//! The outbox is filled by a trigger on `events` (migration 0011), in the
//! transaction of the event; workers claim a message with a lease (one
//! statement, so two instances never hold one message at once) and settle it.

use super::{events::with_event, on_pool, on_reader, EventRow, Json, NewEvent, Store};

/// An endpoint as stored (its secrets included: only the core reads them).
#[derive(Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: String,
    pub app_id: String,
    pub url: String,
    pub event_types: Json<Vec<String>>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A message a worker claimed: deliver it, then settle it with its lease.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedMessage {
    pub id: String,
    pub endpoint_id: String,
    pub event_seq: i64,
    /// This attempt's number (1 for the first).
    pub attempts: i64,
    /// The lease the claim took: only its holder settles the message.
    pub lease_until: i64,
}

/// A message as listed, with its event's id and type (if the event is still kept).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub seq: i64,
    pub id: String,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// One delivery attempt of a message.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub message_id: String,
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// How an attempt ended, and what becomes of its message.
#[derive(Clone, Debug)]
pub struct Settlement<'a> {
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
    /// `delivered`, `failed` (given up), or `pending` (tried again at `next_attempt_at`).
    pub status: &'static str,
    pub next_attempt_at: i64,
}

const WEBHOOK_COLUMNS: &str =
    "id, app_id, url, event_types, secret, previous_secret, previous_secret_until, created_at";

impl Store {
    /// Adds an endpoint to an app, with its event (whose messages, if any,
    /// the trigger writes); `false` when there is no such app.
    pub async fn insert_webhook(
        &self,
        webhook: &WebhookRow,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO webhook_endpoints (id, app_id, url, event_types, secret, created_at) \
                 SELECT $1, id, $3, $4, $5, $6 FROM apps WHERE id = $2",
            )
            .bind(webhook.id.as_str())
            .bind(webhook.app_id.as_str())
            .bind(webhook.url.as_str())
            .bind(Json(&webhook.event_types.0))
            .bind(webhook.secret.as_str())
            .bind(webhook.created_at)
            .execute(&mut *tx)
            .await?;
            with_event(tx, inserted.rows_affected(), event).await
        })
    }

    /// An app's endpoints, oldest first.
    pub async fn list_webhooks(&self, app_id: &str) -> Result<Vec<WebhookRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhook_endpoints WHERE app_id = $1 \
                 ORDER BY created_at, id"
            ))
            .bind(app_id)
            .fetch_all(pool)
            .await
        })
    }

    /// An endpoint, whichever app it belongs to (the worker's read).
    pub async fn find_webhook(&self, id: &str) -> Result<Option<WebhookRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {WEBHOOK_COLUMNS} FROM webhook_endpoints WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Deletes an app's endpoint, its messages and their attempts, with its
    /// event; `false` when the app has no such endpoint.
    pub async fn delete_webhook(
        &self,
        app_id: &str,
        id: &str,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let deleted =
                sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND app_id = $2")
                    .bind(id)
                    .bind(app_id)
                    .execute(&mut *tx)
                    .await?;
            with_event(tx, deleted.rows_affected(), event).await
        })
    }

    /// Replaces an app's endpoint's secret, keeping the old one valid until
    /// `previous_until`, with its event; `false` when the app has no such endpoint.
    pub async fn rotate_webhook_secret(
        &self,
        app_id: &str,
        id: &str,
        secret: &str,
        previous_until: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let rotated = sqlx::query(
                "UPDATE webhook_endpoints SET previous_secret = secret, \
                 previous_secret_until = $1, secret = $2 WHERE id = $3 AND app_id = $4",
            )
            .bind(previous_until)
            .bind(secret)
            .bind(id)
            .bind(app_id)
            .execute(&mut *tx)
            .await?;
            with_event(tx, rotated.rows_affected(), event).await
        })
    }

    /// Whether any message may be claimed at `now` (a read, before the claim's write).
    pub async fn any_webhook_due(&self, now: i64) -> Result<bool, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_messages WHERE status = 'pending' \
                 AND next_attempt_at <= $1 AND lease_until <= $1 LIMIT 1) due",
            )
            .bind(now)
            .fetch_one(pool)
            .await
            .map(|n| n > 0)
        })
    }

    /// Claims up to `limit` messages that are due at `now`, each the oldest
    /// unsettled message of its endpoint (in order per endpoint: the next
    /// waits for the one before it), held by nobody: leases them until
    /// `lease_until` and counts the attempt. One statement: on PostgreSQL a
    /// second worker's update re-checks the lease of a row the first took
    /// and skips it, so no message is held twice.
    pub async fn claim_webhook_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE webhook_messages SET lease_until = $2, attempts = attempts + 1 \
                 WHERE seq IN ( \
                     SELECT m.seq FROM webhook_messages m \
                     WHERE m.status = 'pending' AND m.next_attempt_at <= $1 \
                     AND m.lease_until <= $1 \
                     AND NOT EXISTS (SELECT 1 FROM webhook_messages p \
                         WHERE p.endpoint_id = m.endpoint_id AND p.status = 'pending' \
                         AND p.seq < m.seq) \
                     ORDER BY m.seq LIMIT $3) \
                 AND status = 'pending' AND lease_until <= $1 \
                 RETURNING id, endpoint_id, event_seq, attempts, lease_until",
            )
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Records an attempt and settles its message, if the claim's lease still
    /// holds it; whether it did.
    pub async fn settle_webhook_message(
        &self,
        message: &ClaimedMessage,
        settlement: &Settlement<'_>,
    ) -> Result<bool, sqlx::Error> {
        let finished_at = (settlement.status != "pending").then_some(settlement.at);
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let settled = sqlx::query(
                "UPDATE webhook_messages SET status = $1, next_attempt_at = $2, lease_until = 0, \
                 finished_at = $3 WHERE id = $4 AND lease_until = $5 AND status = 'pending'",
            )
            .bind(settlement.status)
            .bind(settlement.next_attempt_at)
            .bind(finished_at)
            .bind(message.id.as_str())
            .bind(message.lease_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if settled != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO webhook_attempts (message_id, attempt, at, status_code, error, \
                 duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(message.id.as_str())
            .bind(message.attempts)
            .bind(settlement.at)
            .bind(settlement.status_code)
            .bind(settlement.error)
            .bind(settlement.duration_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The event a message reports, if retention has not swept it.
    pub async fn find_event_by_seq(&self, seq: i64) -> Result<Option<EventRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT seq, id, app_id, type, outcome, code, external_id, device_id, actor, \
                 ip, user_agent, request_id, detail, created_at FROM events WHERE seq = $1",
            )
            .bind(seq)
            .fetch_optional(pool)
            .await
        })
    }

    /// An endpoint's messages, newest first, at most `limit`.
    pub async fn list_webhook_messages(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT m.seq, m.id, e.id AS event_id, e.type AS event_type, m.status, \
                 m.attempts, m.next_attempt_at, m.created_at, m.finished_at \
                 FROM webhook_messages m LEFT JOIN events e ON e.seq = m.event_seq \
                 WHERE m.endpoint_id = $1 ORDER BY m.seq DESC LIMIT $2",
            )
            .bind(endpoint_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// The attempts of the newest `limit` messages of an endpoint, in order.
    pub async fn list_webhook_attempts(
        &self,
        endpoint_id: &str,
        limit: i64,
    ) -> Result<Vec<AttemptRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT a.message_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms \
                 FROM webhook_attempts a WHERE a.message_id IN ( \
                     SELECT id FROM webhook_messages WHERE endpoint_id = $1 \
                     ORDER BY seq DESC LIMIT $2) \
                 ORDER BY a.message_id, a.attempt",
            )
            .bind(endpoint_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}
