//! Users (an app's external ids, as Latchkey knows them) and their passkeys.

use sqlx::{any::AnyRow, Row};

use super::{
    clock::Millis,
    ids::{DeviceId, DisplayName, ExternalId},
    FlexError,
};
use crate::{flex::apps::App, store::Store};

#[derive(Clone, Debug)]
pub struct User {
    /// A UUID: the WebAuthn user handle.
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub login_count: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_login_at: Option<Millis>,
}

/// How a passkey is kept: synced (`passkey`, backup eligible), or bound to one
/// device, either built in (`platform`) or removable (`security_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyKind {
    Passkey,
    Platform,
    SecurityKey,
}

impl PasskeyKind {
    pub fn classify(backup_eligible: bool, transports: &[String]) -> Self {
        if backup_eligible {
            Self::Passkey
        } else if transports.iter().any(|t| t == "internal") {
            Self::Platform
        } else {
            Self::SecurityKey
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::Platform => "platform",
            Self::SecurityKey => "security_key",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "passkey" => Self::Passkey,
            "platform" => Self::Platform,
            _ => Self::SecurityKey,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PasskeyRecord {
    pub id: DeviceId,
    pub user_id: String,
    pub cred_id: Vec<u8>,
    pub friendly_name: String,
    pub aaguid: String,
    pub transports: Vec<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub counter: i64,
    pub kind: PasskeyKind,
    pub usage_count: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_used_at: Option<Millis>,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
}

const USER_COLUMNS: &str =
    "id, external_id, display_name, login_count, created_at, updated_at, last_login_at";
pub(crate) const PASSKEY_COLUMNS: &str = "id, user_id, cred_id, friendly_name, aaguid, transports, \
    backup_eligible, backup_state, counter, kind, usage_count, created_at, updated_at, last_used_at, credential";

fn user_from_row(row: &AnyRow) -> Result<User, FlexError> {
    Ok(User {
        id: row.try_get("id")?,
        external_id: row.try_get("external_id")?,
        display_name: row.try_get("display_name")?,
        login_count: row.try_get("login_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_login_at: row.try_get("last_login_at")?,
    })
}

pub(crate) fn passkey_from_row(row: &AnyRow) -> Result<PasskeyRecord, FlexError> {
    let id: String = row.try_get("id")?;
    let transports: String = row.try_get("transports")?;
    Ok(PasskeyRecord {
        id: DeviceId::parse(&id)
            .ok_or_else(|| anyhow::anyhow!("stored passkey id {id} is malformed"))?,
        user_id: row.try_get("user_id")?,
        cred_id: row.try_get("cred_id")?,
        friendly_name: row.try_get("friendly_name")?,
        aaguid: row.try_get("aaguid")?,
        transports: serde_json::from_str(&transports)?,
        backup_eligible: row.try_get::<i64, _>("backup_eligible")? == 1,
        backup_state: row.try_get::<i64, _>("backup_state")? == 1,
        counter: row.try_get("counter")?,
        kind: PasskeyKind::parse(&row.try_get::<String, _>("kind")?),
        usage_count: row.try_get("usage_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_used_at: row.try_get("last_used_at")?,
        credential: row.try_get("credential")?,
    })
}

/// The user with this external id, created if new; its display name follows the
/// latest register transaction.
pub async fn upsert_user(
    store: &Store,
    app: &App,
    external_id: &ExternalId,
    display_name: &DisplayName,
    now: Millis,
) -> Result<User, FlexError> {
    sqlx::query(
        "INSERT INTO users (id, app_id, external_id, display_name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (app_id, external_id) DO UPDATE SET display_name = excluded.display_name, \
         updated_at = excluded.updated_at",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(app.id.as_str())
    .bind(external_id.as_str())
    .bind(display_name.as_str())
    .bind(now)
    .execute(store.pool())
    .await?;
    find_user_by_external_id(store, app, external_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the user just written is missing").into())
}

pub async fn find_user_by_external_id(
    store: &Store,
    app: &App,
    external_id: &ExternalId,
) -> Result<Option<User>, FlexError> {
    sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND external_id = $2"
    ))
    .bind(app.id.as_str())
    .bind(external_id.as_str())
    .fetch_optional(store.pool())
    .await?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

/// A user of this app; another app's user, and an id that is no user id (a
/// UUID, as `upsert_user` makes them), are not found.
pub async fn find_user(store: &Store, app: &App, user_id: &str) -> Result<User, FlexError> {
    let user_id = uuid::Uuid::try_parse(user_id).map_err(|_| FlexError::UserNotFound)?;
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND id = $2"
    ))
    .bind(app.id.as_str())
    .bind(user_id.to_string())
    .fetch_optional(store.pool())
    .await?
    .ok_or(FlexError::UserNotFound)?;
    user_from_row(&row)
}

/// The most users a page of `list_users` holds.
pub const MAX_LIMIT: i64 = 100;
/// The last page `list_users` serves: beyond it (offsets past 10^8 users) a
/// page is refused, so no page number can overflow the offset.
pub const MAX_PAGE: i64 = 1_000_000;

/// The offset of a 1-based page of `limit` users, for pages and limits in range.
fn page_offset(page: i64, limit: i64) -> Result<i64, FlexError> {
    let refused = || {
        FlexError::invalid(format!(
            "page must be from 1 to {MAX_PAGE} and limit from 1 to {MAX_LIMIT}"
        ))
    };
    if !(1..=MAX_PAGE).contains(&page) || !(1..=MAX_LIMIT).contains(&limit) {
        return Err(refused());
    }
    (page - 1).checked_mul(limit).ok_or_else(refused)
}

/// One page of an app's users, newest first, optionally only the one with an
/// external id; and how many there are in all.
pub async fn list_users(
    store: &Store,
    app: &App,
    identifier: Option<&str>,
    page: i64,
    limit: i64,
) -> Result<(Vec<User>, i64), FlexError> {
    let offset = page_offset(page, limit)?;
    let identifier = identifier.map(ExternalId::parse).transpose()?;
    let filter = identifier
        .as_ref()
        .map(ExternalId::as_str)
        .unwrap_or_default();
    let condition = "app_id = $1 AND ($2 = '' OR external_id = $2)";
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM users WHERE {condition}"
    ))
    .bind(app.id.as_str())
    .bind(filter)
    .fetch_one(store.pool())
    .await?
    .try_get("n")?;
    let users = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {condition} \
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
    ))
    .bind(app.id.as_str())
    .bind(filter)
    .bind(limit)
    .bind(offset)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(user_from_row)
    .collect::<Result<_, _>>()?;
    Ok((users, total))
}

pub async fn list_passkeys(
    store: &Store,
    app: &App,
    user_id: &str,
) -> Result<Vec<PasskeyRecord>, FlexError> {
    sqlx::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE app_id = $1 AND user_id = $2 ORDER BY created_at, id"
    ))
    .bind(app.id.as_str())
    .bind(user_id)
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(passkey_from_row)
    .collect()
}

/// Removes a passkey of a user of this app.
pub async fn revoke_passkey(
    store: &Store,
    app: &App,
    user_id: &str,
    device_id: &str,
) -> Result<(), FlexError> {
    let user = find_user(store, app, user_id).await?;
    let device_id = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound)?;
    let deleted =
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 AND app_id = $3")
            .bind(device_id.as_str())
            .bind(&user.id)
            .bind(app.id.as_str())
            .execute(store.pool())
            .await?;
    if deleted.rows_affected() == 0 {
        return Err(FlexError::DeviceNotFound);
    }
    Ok(())
}

/// Renames a passkey of a user of this app, and returns it.
pub async fn rename_passkey(
    store: &Store,
    app: &App,
    user_id: &str,
    device_id: &str,
    name: &DisplayName,
    now: Millis,
) -> Result<PasskeyRecord, FlexError> {
    let user = find_user(store, app, user_id).await?;
    let device_id = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound)?;
    let row = sqlx::query(&format!(
        "UPDATE passkeys SET friendly_name = $1, updated_at = $2 \
         WHERE id = $3 AND user_id = $4 AND app_id = $5 RETURNING {PASSKEY_COLUMNS}"
    ))
    .bind(name.as_str())
    .bind(now)
    .bind(device_id.as_str())
    .bind(&user.id)
    .bind(app.id.as_str())
    .fetch_optional(store.pool())
    .await?
    .ok_or(FlexError::DeviceNotFound)?;
    passkey_from_row(&row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_offsets_stay_in_range_or_are_refused() {
        assert_eq!(page_offset(1, 20).unwrap(), 0);
        assert_eq!(page_offset(3, 20).unwrap(), 40);
        assert_eq!(
            page_offset(MAX_PAGE, MAX_LIMIT).unwrap(),
            (MAX_PAGE - 1) * MAX_LIMIT
        );
        for (page, limit) in [
            (0, 20),
            (-1, 20),
            (MAX_PAGE + 1, 20),
            (i64::MAX, 20),
            (i64::MIN, 20),
            (1, 0),
            (1, MAX_LIMIT + 1),
            (1, i64::MAX),
        ] {
            assert!(
                matches!(page_offset(page, limit), Err(FlexError::InvalidRequest(_))),
                "{page} {limit}"
            );
        }
    }
}
