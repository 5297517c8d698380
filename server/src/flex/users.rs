//! Users (an app's external ids, as Latchkey knows them) and their passkeys.

use uuid::Uuid;

use super::{
    apps::App,
    clock::Millis,
    events::{self, EventType},
    ids::{DeviceId, DisplayName, ExternalId},
    Flex, FlexError,
};
use crate::store::{NewEvent, PasskeyRow, UserRow};

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

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            external_id: row.external_id,
            display_name: row.display_name,
            login_count: row.login_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_login_at: row.last_login_at,
        }
    }
}

impl TryFrom<PasskeyRow> for PasskeyRecord {
    type Error = FlexError;

    fn try_from(row: PasskeyRow) -> Result<Self, FlexError> {
        Ok(Self {
            id: DeviceId::parse(&row.id)
                .ok_or_else(|| anyhow::anyhow!("stored passkey id {} is malformed", row.id))?,
            user_id: row.user_id,
            cred_id: row.cred_id,
            friendly_name: row.friendly_name,
            aaguid: row.aaguid,
            transports: row.transports.0,
            backup_eligible: row.backup_eligible,
            backup_state: row.backup_state,
            counter: row.counter,
            kind: PasskeyKind::parse(&row.kind),
            usage_count: row.usage_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_used_at: row.last_used_at,
            credential: row.credential,
        })
    }
}

impl Flex {
    pub async fn find_user_by_external_id(
        &self,
        app: &App,
        external_id: &ExternalId,
    ) -> Result<Option<User>, FlexError> {
        Ok(self
            .store
            .find_user_by_external_id(&app.id, external_id.as_str())
            .await?
            .map(User::from))
    }

    /// A user of this app; another app's user is not found.
    pub async fn find_user(&self, app: &App, user_id: &Uuid) -> Result<User, FlexError> {
        self.store
            .find_user(&app.id, &user_id.to_string())
            .await?
            .map(User::from)
            .ok_or(FlexError::UserNotFound)
    }

    /// One page of an app's users, newest first, optionally only the one with an
    /// external id; and how many there are in all.
    pub async fn list_users(
        &self,
        app: &App,
        identifier: Option<&ExternalId>,
        page: i64,
        limit: i64,
    ) -> Result<(Vec<User>, i64), FlexError> {
        let offset = page_offset(page, limit)?;
        let (users, total) = self
            .store
            .list_users(
                &app.id,
                identifier.map(ExternalId::as_str),
                None,
                limit,
                offset,
            )
            .await?;
        Ok((users.into_iter().map(User::from).collect(), total))
    }

    /// One page of an app's users whose external id starts with `prefix` (all
    /// for an empty one), newest first; and how many match.
    pub async fn search_users(
        &self,
        app: &App,
        prefix: &str,
        page: i64,
        limit: i64,
    ) -> Result<(Vec<User>, i64), FlexError> {
        let offset = page_offset(page, limit)?;
        if prefix.chars().count() > 255 {
            return Err(FlexError::invalid(
                "an external id is at most 255 characters",
            ));
        }
        let (users, total) = self
            .store
            .list_users(&app.id, None, Some(prefix), limit, offset)
            .await?;
        Ok((users.into_iter().map(User::from).collect(), total))
    }

    /// Removes every passkey of a user of this app; returns how many there were.
    /// One `passkey.revoked` event (detail `{"all": true, "count": n}`) records it.
    pub async fn revoke_all_passkeys(&self, app: &App, user: &User) -> Result<u64, FlexError> {
        let event = NewEvent {
            external_id: Some(user.external_id.clone()),
            ..events::success(Some(&app.id), EventType::PasskeyRevoked, self.now())
        };
        let revoked = self
            .store
            .delete_passkeys_of(&app.id, &user.id, &event)
            .await?;
        if revoked > 0 {
            self.wrote(&event);
        }
        Ok(revoked)
    }

    pub async fn list_passkeys(
        &self,
        app: &App,
        user: &User,
    ) -> Result<Vec<PasskeyRecord>, FlexError> {
        self.store
            .list_passkeys(&app.id, &user.id)
            .await?
            .into_iter()
            .map(PasskeyRecord::try_from)
            .collect()
    }

    /// Removes a passkey of a user of this app.
    pub async fn revoke_passkey(
        &self,
        app: &App,
        user: &User,
        device_id: &DeviceId,
    ) -> Result<(), FlexError> {
        let event = user.event(app, device_id, EventType::PasskeyRevoked, self.now());
        if !self
            .store
            .delete_passkey(&app.id, &user.id, device_id, &event)
            .await?
        {
            return Err(FlexError::DeviceNotFound);
        }
        self.wrote(&event);
        Ok(())
    }

    /// Renames a passkey of a user of this app, and returns it.
    pub async fn rename_passkey(
        &self,
        app: &App,
        user: &User,
        device_id: &DeviceId,
        name: &DisplayName,
    ) -> Result<PasskeyRecord, FlexError> {
        let now = self.now();
        let event = NewEvent {
            detail: serde_json::json!({ "friendly_name": name.as_str() }),
            ..user.event(app, device_id, EventType::PasskeyRenamed, now)
        };
        let renamed = self
            .store
            .rename_passkey(&app.id, &user.id, device_id, name.as_str(), now, &event)
            .await?
            .ok_or(FlexError::DeviceNotFound)?;
        self.wrote(&event);
        renamed.try_into()
    }
}

impl Flex {
    /// Changes the name a user's passkeys show (`passkey_display_name`): the
    /// `name` and `display_name` of their signals from now on. The audit log
    /// records that it changed, not the name.
    pub async fn rename_user(
        &self,
        app: &App,
        user: &User,
        name: &DisplayName,
    ) -> Result<User, FlexError> {
        let now = self.now();
        let event = NewEvent {
            external_id: Some(user.external_id.clone()),
            ..events::success(Some(&app.id), EventType::UserRenamed, now)
        };
        if !self
            .store
            .rename_user(&app.id, &user.id, name.as_str(), now, &event)
            .await?
        {
            return Err(FlexError::UserNotFound);
        }
        self.wrote(&event);
        Ok(User {
            display_name: name.as_str().to_owned(),
            updated_at: now,
            ..user.clone()
        })
    }
}

impl User {
    /// The successful event of a change to one of this user's passkeys.
    fn event(
        &self,
        app: &App,
        device_id: &DeviceId,
        event_type: EventType,
        now: Millis,
    ) -> NewEvent {
        NewEvent {
            external_id: Some(self.external_id.clone()),
            device_id: Some(device_id.as_str().to_owned()),
            ..events::success(Some(&app.id), event_type, now)
        }
    }
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
