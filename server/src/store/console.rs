//! The console's operators, their one-time invites and their sessions. Tokens
//! arrive here as SHA-256 hashes only.

use super::{insert_event_query, on_pool, on_reader, NewEvent, Store};
use crate::flex::ids::AppId;

/// An operator as stored, with how many passkeys they hold.
#[derive(Debug, sqlx::FromRow)]
pub struct OperatorRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub passkeys: i64,
}

/// A live invite: the name the operator will have.
#[derive(Debug, sqlx::FromRow)]
pub struct InviteRow {
    pub name: String,
    pub expires_at: i64,
}

/// A new console session.
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub now: i64,
    pub expires_at: i64,
}

/// The passkeys an operator holds in the console app (`$1`), for `o.id`.
const OPERATOR_COLUMNS: &str = "o.id, o.name, o.created_at, o.last_sign_in_at, o.revoked_at, \
     (SELECT COUNT(*) FROM passkeys p JOIN users u ON u.id = p.user_id \
      WHERE u.app_id = $1 AND u.external_id = o.id) AS passkeys";

impl Store {
    pub async fn insert_invite(
        &self,
        token_hash: &[u8],
        name: &str,
        now: i64,
        expires_at: i64,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO operator_invites (token_hash, name, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(name)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// The invite of this hash if it is unused and unexpired (read, not used up).
    pub async fn find_live_invite(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<InviteRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT name, expires_at FROM operator_invites \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Uses up a live invite, creates its operator (`operator_id`, the console
    /// app's external id whose passkey was just registered) and starts their
    /// session, in one database transaction. The invite is consumed by one
    /// conditional statement: of two concurrent uses, one gets `None`.
    pub async fn consume_invite(
        &self,
        token_hash: &[u8],
        operator_id: &str,
        session: &NewSession<'_>,
        event: &NewEvent,
    ) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let name: Option<String> = sqlx::query_scalar(
                "UPDATE operator_invites SET used_at = $1, operator_id = $2 \
                 WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $1 RETURNING name",
            )
            .bind(session.now)
            .bind(operator_id)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(name) = name else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO operators (id, name, created_at, last_sign_in_at) VALUES ($1, $2, $3, $3)",
            )
            .bind(operator_id)
            .bind(&name)
            .bind(session.now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO console_sessions (token_hash, operator_id, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $3, $4)",
            )
            .bind(session.token_hash)
            .bind(operator_id)
            .bind(session.now)
            .bind(session.expires_at)
            .execute(&mut *tx)
            .await?;
            let event = NewEvent {
                detail: serde_json::json!({ "operator_id": operator_id, "name": name }),
                ..event.clone()
            };
            insert_event_query(&event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(name))
        })
    }

    /// Starts a session for a live (unrevoked) operator; `None` when there is none.
    pub async fn start_console_session(
        &self,
        operator_id: &str,
        session: &NewSession<'_>,
        event: &NewEvent,
    ) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let name: Option<String> = sqlx::query_scalar(
                "UPDATE operators SET last_sign_in_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                 RETURNING name",
            )
            .bind(session.now)
            .bind(operator_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(name) = name else {
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO console_sessions (token_hash, operator_id, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $3, $4)",
            )
            .bind(session.token_hash)
            .bind(operator_id)
            .bind(session.now)
            .bind(session.expires_at)
            .execute(&mut *tx)
            .await?;
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(name))
        })
    }

    /// The operator of a live session: unrevoked, before its absolute end, and
    /// seen after `idle_since`. The session's last sight moves to `now` (at most
    /// once a minute, to keep reads cheap).
    pub async fn find_session_operator(
        &self,
        console_app: &AppId,
        token_hash: &[u8],
        now: i64,
        idle_since: i64,
    ) -> Result<Option<OperatorRow>, sqlx::Error> {
        let found: Option<OperatorRow> = on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {OPERATOR_COLUMNS} FROM console_sessions s JOIN operators o ON o.id = s.operator_id \
                 WHERE s.token_hash = $2 AND o.revoked_at IS NULL AND s.expires_at > $3 \
                 AND s.last_seen_at > $4"
            ))
            .bind(console_app.as_str())
            .bind(token_hash)
            .bind(now)
            .bind(idle_since)
            .fetch_optional(pool)
            .await
        })?;
        if found.is_some() {
            on_pool!(self, |pool| {
                sqlx::query(
                    "UPDATE console_sessions SET last_seen_at = $1 \
                     WHERE token_hash = $2 AND last_seen_at < $3",
                )
                .bind(now)
                .bind(token_hash)
                .bind(now - 60_000)
                .execute(pool)
                .await
                .map(drop)
            })?;
        }
        Ok(found)
    }

    pub async fn delete_console_session(&self, token_hash: &[u8]) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    pub async fn list_operators(
        &self,
        console_app: &AppId,
    ) -> Result<Vec<OperatorRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {OPERATOR_COLUMNS} FROM operators o ORDER BY o.created_at, o.id"
            ))
            .bind(console_app.as_str())
            .fetch_all(pool)
            .await
        })
    }

    /// Revokes an operator, ends their sessions and removes their passkeys, in
    /// one database transaction; `false` when there is no live operator of this id.
    pub async fn revoke_operator(
        &self,
        console_app: &AppId,
        operator_id: &str,
        now: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let revoked = sqlx::query(
                "UPDATE operators SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(operator_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !revoked {
                return Ok(false);
            }
            sqlx::query("DELETE FROM console_sessions WHERE operator_id = $1")
                .bind(operator_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM passkeys WHERE app_id = $1 AND user_id IN \
                 (SELECT id FROM users WHERE app_id = $1 AND external_id = $2)",
            )
            .bind(console_app.as_str())
            .bind(operator_id)
            .execute(&mut *tx)
            .await?;
            insert_event_query(event).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Deletes expired console sessions and invites past their end; returns how many.
    pub async fn sweep_console(&self, now: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            let sessions = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            let invites = sqlx::query(
                "DELETE FROM operator_invites WHERE expires_at <= $1 AND used_at IS NULL",
            )
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(sessions + invites)
        })
    }
}
