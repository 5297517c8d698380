//! The console (`/console`): operators sign in with a passkey and manage
//! apps, API keys, users and their passkeys. Pages render on the server and
//! post forms (`ActionForm`), so they work without JavaScript; only the
//! passkey ceremonies and the copy button need it, each a small component
//! with serializable props. The server side is reached through
//! `backend::ConsoleBackend`, provided as Leptos context.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod ceremony;
mod pages;

pub use pages::{
    AppPage, AppsPage, ConsoleLayout, EventsPage, InvitePage, OverviewPage, SignInPage, UserPage,
    UsersPage,
};

use serde::{Deserialize, Serialize};

/// The signed-in operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub id: String,
    pub name: String,
}

/// An app, with every setting the console can change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView {
    pub id: String,
    pub name: String,
    pub rp_id: String,
    pub origins: Vec<String>,
    /// Web origins outside the RP ID it accepts too (Related Origin Requests).
    pub related_origins: Vec<String>,
    pub webauthn_timeout_secs: i64,
    pub transaction_ttl_secs: i64,
    pub nonce_ttl_secs: i64,
    pub max_passkeys_per_user: i64,
    /// The built-in reference site's app.
    pub builtin: bool,
    /// RFC 3339.
    pub created_at: String,
    /// Finishes answer a signed JWT beside the nonce.
    pub signed_results: bool,
    /// Which authenticators may register passkeys.
    pub policy: PolicyView,
}

/// An app's authenticator policy (README "Authenticator policy").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// `none`, `allow` or `deny`.
    pub mode: String,
    pub aaguids: Vec<AaguidView>,
    pub attested_only: bool,
}

/// An AAGUID and the name the bundled list gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AaguidView {
    pub aaguid: String,
    pub name: Option<String>,
}

/// What an app is created or changed with, as the form sends it: origins one
/// a line, numbers as typed (blank: the default), parsed by the core as the
/// CLI's options are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppForm {
    pub name: String,
    pub origins: String,
    /// One a line, like `origins`; blank: none.
    pub related_origins: String,
    pub rp_id: String,
    pub webauthn_timeout: String,
    pub transaction_ttl: String,
    pub nonce_ttl: String,
    pub max_passkeys: String,
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new API key: the secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKeyView {
    pub app_id: String,
    pub key_id: String,
    pub api_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub login_count: i64,
}

/// One page of an app's users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPageView {
    pub users: Vec<UserView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

/// A passkey, with what an operator needs to judge it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsolePasskey {
    pub id: String,
    pub name: String,
    pub provider: Option<String>,
    pub icon: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// Backup eligible (a synced passkey) rather than bound to one device.
    pub synced: bool,
    pub counter: i64,
    pub usage_count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserView,
    pub passkeys: Vec<ConsolePasskey>,
}

/// An app's last 24 hours, for the overview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppOverview {
    pub app: AppView,
    pub summary: crate::wire::events::EventSummary,
}

/// What the events page filters by, as its form sends it (blank: any). `app`
/// is an app id, `console` (the operators' own events) or blank (all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsFilter {
    pub app: String,
    pub event_type: String,
    pub outcome: String,
    pub user: String,
    pub ip: String,
    pub since: String,
    pub until: String,
    pub cursor: String,
}

/// What the browser needs to register an invited operator's passkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteCeremony {
    pub app_id: String,
    pub transaction_id: String,
}

/// `2026-11-26T05:40:39.123Z` → `2026-11-26 05:40 UTC`.
pub fn when(rfc3339: &str) -> String {
    let minutes: String = rfc3339.chars().take(16).collect();
    format!("{} UTC", minutes.replace('T', " "))
}
