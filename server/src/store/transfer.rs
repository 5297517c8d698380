//! Export and import: an app's users and passkeys read page by page, and
//! written a batch at a time, each batch in one database transaction.

use super::{insert_event_query, on_pool, on_reader, Json, NewEvent, Store};
use crate::flex::ids::AppId;

/// A user as exported.
#[derive(Debug, sqlx::FromRow)]
pub struct ExportUserRow {
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub user_handle: Vec<u8>,
    pub created_at: i64,
}

/// A passkey as exported.
#[derive(Debug, sqlx::FromRow)]
pub struct ExportPasskeyRow {
    pub user_id: String,
    pub cred_id: Vec<u8>,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
    pub friendly_name: String,
    pub aaguid: String,
    pub transports: Json<Vec<String>>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Its own user handle, if not its user's (empty: unknown).
    pub user_handle: Option<Vec<u8>>,
}

/// A user to import.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub user_handle: Vec<u8>,
    /// Whether the source named the handle (a user without one only needs its
    /// external id to match to be a duplicate).
    pub handle_given: bool,
    pub created_at: i64,
}

/// A passkey to import, for the user of `external_id`.
#[derive(Debug, Clone)]
pub struct ImportPasskey {
    pub id: String,
    pub external_id: String,
    /// The user handle the passkey was made with when it is not its user's
    /// (empty: unknown, any is accepted); `None`: its user's.
    pub user_handle: Option<Vec<u8>>,
    pub cred_id: Vec<u8>,
    pub credential: String,
    pub friendly_name: String,
    pub aaguid: String,
    pub transports: Vec<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
    pub kind: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum ImportItem {
    User(ImportUser),
    Passkey(ImportPasskey),
}

/// What became of one imported item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported,
    Duplicate,
    Refused(String),
}

impl Store {
    /// A page of an app's users, in (created_at, external_id) order (the same
    /// in every store), after `after`.
    pub async fn export_users_page(
        &self,
        app_id: &AppId,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<ExportUserRow>, sqlx::Error> {
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, external_id, display_name, user_handle, created_at FROM users \
                 WHERE app_id = $1 AND (created_at, external_id) > ($2, $3) \
                 ORDER BY created_at, external_id LIMIT $4",
            )
            .bind(app_id.as_str())
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// The passkeys of these users of an app, each user's in (created_at,
    /// cred_id) order (the same in every store).
    pub async fn export_passkeys_of(
        &self,
        app_id: &AppId,
        user_ids: &[&str],
    ) -> Result<Vec<ExportPasskeyRow>, sqlx::Error> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        on_reader!(self, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT user_id, cred_id, credential, friendly_name, aaguid, transports, \
                 backup_eligible, backup_state, counter, created_at, last_used_at, user_handle \
                 FROM passkeys WHERE app_id = ",
            );
            query.push_bind(app_id.as_str()).push(" AND user_id IN (");
            let mut ids = query.separated(", ");
            for id in user_ids {
                ids.push_bind(*id);
            }
            query.push(") ORDER BY user_id, created_at, cred_id");
            query.build_query_as().fetch_all(pool).await
        })
    }

    /// Imports a batch in one database transaction: each item is imported,
    /// found already there (a duplicate), or refused with a reason; every
    /// item is one statement, so a refused item leaves nothing behind. With
    /// `commit` false (a dry run) the transaction is rolled back. A batch that
    /// imported anything writes `event`, with how many users and passkeys it
    /// imported in its detail, in the same transaction.
    pub async fn import_batch(
        &self,
        app_id: &AppId,
        max_passkeys_per_user: i64,
        items: &[ImportItem],
        now: i64,
        commit: bool,
        mut event: NewEvent,
    ) -> Result<Vec<ImportOutcome>, sqlx::Error> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut outcomes = Vec::with_capacity(items.len());
            for item in items {
                let outcome = match item {
                    ImportItem::User(u) => {
                        let inserted = sqlx::query(
                            "INSERT INTO users (id, app_id, external_id, display_name, created_at, updated_at, user_handle) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        )
                        .bind(&u.id)
                        .bind(app_id.as_str())
                        .bind(&u.external_id)
                        .bind(&u.display_name)
                        .bind(u.created_at)
                        .bind(now)
                        .bind(&u.user_handle)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if inserted == 1 {
                            ImportOutcome::Imported
                        } else {
                            let held: Option<Vec<u8>> = sqlx::query_scalar(
                                "SELECT user_handle FROM users WHERE app_id = $1 AND external_id = $2",
                            )
                            .bind(app_id.as_str())
                            .bind(&u.external_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            match held {
                                Some(held) if !u.handle_given || held == u.user_handle => {
                                    ImportOutcome::Duplicate
                                }
                                Some(_) => ImportOutcome::Refused(
                                    "a user with this external id exists with another user handle"
                                        .into(),
                                ),
                                None => ImportOutcome::Refused(
                                    "another user of this app has this user handle".into(),
                                ),
                            }
                        }
                    }
                    ImportItem::Passkey(p) => {
                        // Its user, and how many passkeys that user holds.
                        let user: Option<(String, i64)> = sqlx::query_as(
                            "SELECT u.id, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) \
                             FROM users u WHERE u.app_id = $1 AND u.external_id = $2",
                        )
                        .bind(app_id.as_str())
                        .bind(&p.external_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((user_id, held)) = user else {
                            outcomes.push(ImportOutcome::Refused(
                                "no user with this external id (its user line must come first)"
                                    .into(),
                            ));
                            continue;
                        };
                        let inserted = if held >= max_passkeys_per_user {
                            0
                        } else {
                            sqlx::query(
                                "INSERT INTO passkeys (id, app_id, user_id, cred_id, credential, friendly_name, \
                                 aaguid, transports, backup_eligible, backup_state, counter, kind, created_at, \
                                 updated_at, last_used_at, user_handle) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                                 ON CONFLICT DO NOTHING",
                            )
                            .bind(&p.id)
                            .bind(app_id.as_str())
                            .bind(&user_id)
                            .bind(&p.cred_id)
                            .bind(&p.credential)
                            .bind(&p.friendly_name)
                            .bind(&p.aaguid)
                            .bind(Json(&p.transports))
                            .bind(p.backup_eligible)
                            .bind(p.backup_state)
                            .bind(p.counter)
                            .bind(&p.kind)
                            .bind(p.created_at)
                            .bind(now)
                            .bind(p.last_used_at)
                            .bind(p.user_handle.as_deref())
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                        };
                        if inserted == 1 {
                            ImportOutcome::Imported
                        } else {
                            // Not written: already there, someone else's, or over the cap.
                            let taken: Option<(String, String)> = sqlx::query_as(
                                "SELECT app_id, user_id FROM passkeys WHERE cred_id = $1",
                            )
                            .bind(&p.cred_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            match taken {
                                Some((app, user)) if app == app_id.as_str() && user == user_id => {
                                    ImportOutcome::Duplicate
                                }
                                Some(_) => ImportOutcome::Refused(
                                    "this credential id is registered to another user".into(),
                                ),
                                None => ImportOutcome::Refused(format!(
                                    "the user already holds {held} passkeys, the most this app allows"
                                )),
                            }
                        }
                    }
                };
                outcomes.push(outcome);
            }
            let imported = |passkeys: bool| {
                items
                    .iter()
                    .zip(&outcomes)
                    .filter(|(item, outcome)| {
                        matches!(item, ImportItem::Passkey(_)) == passkeys
                            && **outcome == ImportOutcome::Imported
                    })
                    .count()
            };
            let (users, passkeys) = (imported(false), imported(true));
            if users + passkeys > 0 {
                event.detail = serde_json::json!({ "users": users, "passkeys": passkeys });
                insert_event_query(&event).execute(&mut *tx).await?;
            }
            if commit {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(outcomes)
        })
    }
}
