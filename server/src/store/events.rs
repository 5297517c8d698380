//! The audit log: one append-only table. A change writes its event with
//! [`insert_event_query`] inside its own database transaction (no event
//! without the change, no change without its event); a refusal, which changes
//! nothing, writes its event alone ([`Store::insert_event`]).

use serde_json::Value;

use super::{ceremonies::Query, on_pool, on_reader, Json, Store};

/// An event to write, built by the core with the request's context.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub app_id: Option<String>,
    pub event_type: &'static str,
    pub outcome: &'static str,
    pub code: Option<&'static str>,
    pub external_id: Option<String>,
    pub device_id: Option<String>,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: Value,
    pub at: i64,
}

/// An event as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub app_id: Option<String>,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub outcome: String,
    pub code: Option<String>,
    pub external_id: Option<String>,
    pub device_id: Option<String>,
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: Json<Value>,
    pub created_at: i64,
}

/// Whose events a listing reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventScope<'a> {
    /// One app's.
    App(&'a str),
    /// The console's own (operators: no app).
    Console,
    /// Everyone's (the console's "all apps").
    All,
}

/// What a listing narrows to; every `Some` narrows.
#[derive(Clone, Debug, Default)]
pub struct EventSelection<'a> {
    pub event_type: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// At or after (Unix ms).
    pub since: Option<i64>,
    /// Before (Unix ms).
    pub until: Option<i64>,
    /// Older than this `seq` (the cursor).
    pub before_seq: Option<i64>,
}

/// How many events of one type, outcome and code.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventCount {
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub outcome: String,
    pub code: Option<String>,
    pub count: i64,
}

const EVENT_COLUMNS: &str = "seq, id, app_id, type, outcome, code, external_id, device_id, actor, \
     ip, user_agent, request_id, detail, created_at";

impl Store {
    /// Writes an event that records no change of its own (a refusal): one statement.
    pub async fn insert_event(&self, event: &NewEvent) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| insert_event_query(event)
            .execute(pool)
            .await
            .map(drop))
    }

    /// Events in `scope` matching `selection`, newest first, at most `limit`.
    pub async fn list_events(
        &self,
        scope: EventScope<'_>,
        selection: &EventSelection<'_>,
        limit: i64,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            let mut query =
                sqlx::QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE 1 = 1"));
            match scope {
                EventScope::App(app_id) => {
                    query.push(" AND app_id = ").push_bind(app_id);
                }
                EventScope::Console => {
                    query.push(" AND app_id IS NULL");
                }
                EventScope::All => {}
            }
            let s = selection;
            for (column, value) in [
                ("type", s.event_type),
                ("outcome", s.outcome),
                ("external_id", s.external_id),
                ("ip", s.ip),
            ] {
                if let Some(value) = value {
                    query.push(format!(" AND {column} = ")).push_bind(value);
                }
            }
            for (condition, value) in [
                (" AND created_at >= ", s.since),
                (" AND created_at < ", s.until),
                (" AND seq < ", s.before_seq),
            ] {
                if let Some(value) = value {
                    query.push(condition).push_bind(value);
                }
            }
            query.push(" ORDER BY seq DESC LIMIT ").push_bind(limit);
            query.build_query_as().fetch_all(pool).await
        })
    }

    /// The finished registrations and sign-ins of an app since `since`, counted
    /// by type, outcome and code (the console's overview).
    pub async fn count_finishes(
        &self,
        app_id: &str,
        since: i64,
    ) -> Result<Vec<EventCount>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT type, outcome, code, COUNT(*) AS count FROM events \
                 WHERE app_id = $1 AND created_at >= $2 \
                 AND type IN ('registration.finished', 'authentication.finished') \
                 GROUP BY type, outcome, code ORDER BY count DESC, type, code",
            )
            .bind(app_id)
            .bind(since)
            .fetch_all(pool)
            .await
        })
    }

    /// Deletes the events older than `before` (retention).
    pub async fn sweep_events_before(&self, before: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM events WHERE created_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }
}

/// Writes `event` and commits when the change before it touched exactly one
/// row; otherwise rolls back (nothing changed, nothing recorded). Whether it
/// was written.
pub(crate) async fn with_event<'c, DB: sqlx::Database>(
    mut tx: sqlx::Transaction<'c, DB>,
    changed: u64,
    event: &NewEvent,
) -> Result<bool, sqlx::Error>
where
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Json<&'q Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'t> &'t mut DB::Connection: sqlx::Executor<'t, Database = DB>,
{
    if changed != 1 {
        return Ok(false);
    }
    insert_event_query(event).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// The statement that writes `event`, to run inside the database transaction
/// of the change it records.
pub(crate) fn insert_event_query<'q, DB: sqlx::Database>(event: &'q NewEvent) -> Query<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Json<&'q Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO events (id, app_id, type, outcome, code, external_id, device_id, actor, ip, \
         user_agent, request_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(event.id.as_str())
    .bind(event.app_id.as_deref())
    .bind(event.event_type)
    .bind(event.outcome)
    .bind(event.code)
    .bind(event.external_id.as_deref())
    .bind(event.device_id.as_deref())
    .bind(event.actor.as_deref())
    .bind(event.ip.as_deref())
    .bind(event.user_agent.as_deref())
    .bind(event.request_id.as_deref())
    .bind(Json(&event.detail))
    .bind(event.at)
}
