//! Users (an app's external ids) and their passkeys.

use super::{insert_event_query, on_pool, on_reader, with_event, Json, NewEvent, Store};
use crate::flex::ids::{AppId, DeviceId};

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub login_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub cred_id: Vec<u8>,
    pub friendly_name: String,
    pub aaguid: String,
    pub transports: Json<Vec<String>>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
    pub kind: String,
    pub usage_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
}

/// A user's handle and name with one of their credential ids (`user_credentials`).
#[derive(Debug, sqlx::FromRow)]
pub struct UserCredentialRow {
    pub user_handle: Vec<u8>,
    pub display_name: String,
    pub cred_id: Option<Vec<u8>>,
}

/// A passkey to store.
pub struct NewPasskey<'a> {
    pub id: &'a DeviceId,
    pub user_id: &'a str,
    pub cred_id: &'a [u8],
    pub credential: &'a str,
    pub friendly_name: &'a str,
    pub aaguid: &'a str,
    pub transports: &'a [String],
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
    pub kind: &'a str,
}

const USER_COLUMNS: &str =
    "id, external_id, display_name, login_count, created_at, updated_at, last_login_at";
pub(super) const PASSKEY_COLUMNS: &str = "id, user_id, cred_id, friendly_name, aaguid, transports, \
    backup_eligible, backup_state, counter, kind, usage_count, created_at, updated_at, last_used_at, credential";

impl Store {
    /// The user with this external id, created if new (with `new_id`); its
    /// display name follows the latest call. Returns the user's id.
    pub async fn upsert_user(
        &self,
        app_id: &AppId,
        new_id: &str,
        external_id: &str,
        display_name: &str,
        now: i64,
    ) -> Result<String, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO users (id, app_id, external_id, display_name, created_at, updated_at, user_handle) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6) \
                 ON CONFLICT (app_id, external_id) DO UPDATE SET display_name = excluded.display_name, \
                 updated_at = excluded.updated_at RETURNING id",
            )
            .bind(new_id)
            .bind(app_id.as_str())
            .bind(external_id)
            .bind(display_name)
            .bind(now)
            .bind(handle_of_id(new_id))
            .fetch_one(pool)
            .await
        })
    }

    pub async fn find_user_by_external_id(
        &self,
        app_id: &AppId,
        external_id: &str,
    ) -> Result<Option<UserRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND external_id = $2"
            ))
            .bind(app_id.as_str())
            .bind(external_id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn find_user(
        &self,
        app_id: &AppId,
        id: &str,
    ) -> Result<Option<UserRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND id = $2"
            ))
            .bind(app_id.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// How many passkeys the user of this external id holds (0 for no such user).
    pub async fn count_passkeys_of(
        &self,
        app_id: &AppId,
        external_id: &str,
    ) -> Result<i64, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM passkeys WHERE user_id = \
                 (SELECT id FROM users WHERE app_id = $1 AND external_id = $2)",
            )
            .bind(app_id.as_str())
            .bind(external_id)
            .fetch_one(pool)
            .await
        })
    }

    /// One page of an app's users, newest first (only `external_id`'s, if
    /// given; only those whose external id starts with `prefix`, if given),
    /// and how many there are in all.
    pub async fn list_users(
        &self,
        app_id: &AppId,
        external_id: Option<&str>,
        prefix: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UserRow>, i64), sqlx::Error> {
        let condition = "app_id = $1 AND ($2 = '' OR external_id = $2) \
                         AND ($3 = '' OR external_id LIKE $3 ESCAPE '\\')";
        let filter = external_id.unwrap_or_default();
        let like = prefix
            .filter(|p| !p.is_empty())
            .map(|p| {
                let escaped = p
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("{escaped}%")
            })
            .unwrap_or_default();
        on_reader!(self, |pool| {
            let total =
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {condition}"))
                    .bind(app_id.as_str())
                    .bind(filter)
                    .bind(&like)
                    .fetch_one(pool)
                    .await?;
            let users = sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE {condition} \
                 ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
            ))
            .bind(app_id.as_str())
            .bind(filter)
            .bind(&like)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
            Ok((users, total))
        })
    }

    /// Removes every passkey of a user of this app, recording `event` in the
    /// same database transaction when there were any; returns how many.
    pub async fn delete_passkeys_of(
        &self,
        app_id: &AppId,
        user_id: &str,
        event: &NewEvent,
    ) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND app_id = $2")
                .bind(user_id)
                .bind(app_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                let event = NewEvent {
                    detail: serde_json::json!({ "all": true, "count": deleted }),
                    ..event.clone()
                };
                insert_event_query(&event).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// A user's WebAuthn user handle and display name, and the credential ids
    /// of their passkeys (one row per passkey; one row with no credential id
    /// when they have none; no row for no such user of this app).
    pub async fn user_credentials(
        &self,
        app_id: &AppId,
        user_id: &str,
    ) -> Result<Vec<UserCredentialRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT u.user_handle, u.display_name, p.cred_id FROM users u \
                 LEFT JOIN passkeys p ON p.user_id = u.id AND p.app_id = u.app_id \
                 WHERE u.app_id = $1 AND u.id = $2 ORDER BY p.created_at, p.id",
            )
            .bind(app_id.as_str())
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn list_passkeys(
        &self,
        app_id: &AppId,
        user_id: &str,
    ) -> Result<Vec<PasskeyRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE app_id = $1 AND user_id = $2 ORDER BY created_at, id"
            ))
            .bind(app_id.as_str())
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Removes a passkey of a user of this app, with its event; `false` when
    /// there is none.
    pub async fn delete_passkey(
        &self,
        app_id: &AppId,
        user_id: &str,
        id: &DeviceId,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let deleted =
                sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 AND app_id = $3")
                    .bind(id.as_str())
                    .bind(user_id)
                    .bind(app_id.as_str())
                    .execute(&mut *tx)
                    .await?;
            with_event(tx, deleted.rows_affected(), event).await
        })
    }

    /// Renames a passkey of a user of this app, with its event, and returns it.
    pub async fn rename_passkey(
        &self,
        app_id: &AppId,
        user_id: &str,
        id: &DeviceId,
        name: &str,
        now: i64,
        event: &NewEvent,
    ) -> Result<Option<PasskeyRow>, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let renamed: Option<PasskeyRow> = sqlx::query_as(&format!(
                "UPDATE passkeys SET friendly_name = $1, updated_at = $2 \
                 WHERE id = $3 AND user_id = $4 AND app_id = $5 RETURNING {PASSKEY_COLUMNS}"
            ))
            .bind(name)
            .bind(now)
            .bind(id.as_str())
            .bind(user_id)
            .bind(app_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if renamed.is_some() {
                insert_event_query(event).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok(renamed)
        })
    }
}

impl Store {
    /// Changes a user's display name, with its event; `false` when this app
    /// has no such user.
    pub async fn rename_user(
        &self,
        app_id: &AppId,
        user_id: &str,
        display_name: &str,
        now: i64,
        event: &NewEvent,
    ) -> Result<bool, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3 AND app_id = $4",
            )
            .bind(display_name)
            .bind(now)
            .bind(user_id)
            .bind(app_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            with_event(tx, changed, event).await
        })
    }
}

/// The WebAuthn user handle of a user Latchkey made: its id's 16 bytes (the
/// id is a UUID); an id that is not one is its own bytes.
pub(super) fn handle_of_id(id: &str) -> Vec<u8> {
    uuid::Uuid::parse_str(id)
        .map(|id| id.as_bytes().to_vec())
        .unwrap_or_else(|_| id.as_bytes().to_vec())
}

/// A user to store with its passkeys in bulk.
pub struct NewUser<'a> {
    pub id: &'a str,
    pub external_id: &'a str,
    pub display_name: &'a str,
    pub passkeys: Vec<NewPasskey<'a>>,
}

impl Store {
    /// Stores users with their passkeys, many per statement, in one database
    /// transaction (what `make bench` seeds 200,000 passkeys with).
    pub async fn insert_users_with_passkeys(
        &self,
        app_id: &AppId,
        users: &[NewUser<'_>],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if users.is_empty() {
            return Ok(());
        }
        let passkeys = users.iter().flat_map(|user| &user.passkeys);
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::QueryBuilder::new(
                "INSERT INTO users (id, app_id, external_id, display_name, created_at, updated_at, user_handle) ",
            )
            .push_values(users, |mut row, user| {
                row.push_bind(user.id)
                    .push_bind(app_id.as_str())
                    .push_bind(user.external_id)
                    .push_bind(user.display_name)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(handle_of_id(user.id));
            })
            .build()
            .execute(&mut *tx)
            .await?;
            sqlx::QueryBuilder::new(
                "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, aaguid, \
                 transports, backup_eligible, backup_state, counter, kind, created_at, updated_at) ",
            )
            .push_values(passkeys.clone(), |mut row, p| {
                row.push_bind(p.id.as_str())
                    .push_bind(app_id.as_str())
                    .push_bind(p.user_id)
                    .push_bind(p.cred_id)
                    .push_bind(p.credential)
                    .push_bind(p.friendly_name)
                    .push_bind(p.aaguid)
                    .push_bind(Json(p.transports))
                    .push_bind(p.backup_eligible)
                    .push_bind(p.backup_state)
                    .push_bind(p.counter)
                    .push_bind(p.kind)
                    .push_bind(now)
                    .push_bind(now);
            })
            .build()
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
    }
}
