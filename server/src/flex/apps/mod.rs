//! Apps (one per application using Latchkey, each with its WebAuthn settings)
//! and their API keys.

use std::{sync::Arc, time::Duration};

use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::{
    clock::Millis,
    events::{self, EventType},
    ids::{self, ApiKey, ApiKeyId, AppId},
    Flex, FlexError,
};
use crate::store::{AppRow, AppUpdateRow, NewAppRow, NewEvent};

mod policy;
mod settings;

pub use policy::{AaguidMode, AuthenticatorPolicy, MAX_AAGUIDS};
pub use settings::{Lifetimes, NewApp, Origin};

#[derive(Clone, Debug)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub rp_id: String,
    pub origins: Vec<String>,
    /// Web origins outside the RP ID whose ceremonies it accepts too
    /// (Related Origin Requests, listed by [`App::well_known_origins`]).
    pub related_origins: Vec<String>,
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
    /// How many passkeys one user may hold.
    pub max_passkeys_per_user: i64,
    pub is_builtin: bool,
    /// The console's own app: its users are the operators.
    pub is_console: bool,
    pub created_at: Millis,
    /// Finishes also answer a signed JWT (`signing`).
    pub signed_results: bool,
    /// Which authenticators may register a passkey.
    pub policy: AuthenticatorPolicy,
    /// The WebAuthn relying party of this app (its RP ID and exact origins),
    /// built once when the app is read.
    webauthn: Arc<Webauthn>,
}

impl App {
    pub fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// Whether a browser on this origin may call the app's client API (CORS):
    /// one of its origins or related origins.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins
            .iter()
            .chain(&self.related_origins)
            .any(|o| o == origin)
    }

    /// The origins of the `/.well-known/webauthn` document of the app's RP ID
    /// host (WebAuthn L3 §5.11): the app's own web origins, then its related
    /// origins. A browser fetches it only for an origin outside the RP ID, so
    /// listing the app's own origins changes nothing for them; it makes the
    /// document the whole list of web origins the app accepts.
    pub fn well_known_origins(&self) -> Vec<String> {
        let web = self.origins.iter().filter(|o| !o.starts_with("android:"));
        web.chain(&self.related_origins).cloned().collect()
    }

    /// The app's settings as `update_app` takes them, to change some and keep the rest.
    pub fn settings(&self) -> Result<NewApp, FlexError> {
        let new = NewApp::parse(&self.name, &self.origins, Some(&self.rp_id))?
            .with_related_origins(&self.related_origins)?;
        Ok(NewApp {
            lifetimes: Lifetimes {
                webauthn_timeout_ms: self.webauthn_timeout_ms,
                transaction_ttl_ms: self.transaction_ttl_ms,
                nonce_ttl_ms: self.nonce_ttl_ms,
            },
            max_passkeys_per_user: self.max_passkeys_per_user,
            signed_results: self.signed_results,
            policy: self.policy.clone(),
            ..new
        })
    }
}

impl TryFrom<AppRow> for App {
    type Error = FlexError;

    fn try_from(row: AppRow) -> Result<Self, FlexError> {
        let id = AppId::parse(&row.id)
            .ok_or_else(|| anyhow::anyhow!("stored app id {} is malformed", row.id))?;
        let origins = row.origins.0;
        let related_origins = row.related_origins.0;
        let policy =
            AuthenticatorPolicy::from_stored(&row.aaguid_policy, row.aaguids.0, row.attested_only)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "app {id} has an unknown AAGUID policy {}",
                        row.aaguid_policy
                    )
                })?;
        let webauthn = Arc::new(relying_party(
            &id,
            &row.name,
            &row.rp_id,
            &[&origins[..], &related_origins[..]].concat(),
            row.webauthn_timeout_ms,
        )?);
        Ok(App {
            id,
            name: row.name,
            rp_id: row.rp_id,
            origins,
            related_origins,
            webauthn_timeout_ms: row.webauthn_timeout_ms,
            transaction_ttl_ms: row.transaction_ttl_ms,
            nonce_ttl_ms: row.nonce_ttl_ms,
            max_passkeys_per_user: row.max_passkeys_per_user,
            is_builtin: row.is_builtin,
            is_console: row.is_console,
            created_at: row.created_at,
            signed_results: row.signed_results,
            policy,
            webauthn,
        })
    }
}

fn relying_party(
    id: &AppId,
    name: &str,
    rp_id: &str,
    origins: &[String],
    timeout_ms: i64,
) -> Result<Webauthn, FlexError> {
    let urls = origins
        .iter()
        .map(|o| Url::parse(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("stored origin is not a URL: {e}"))?;
    let first_web = urls
        .iter()
        .find(|u| u.host_str().is_some())
        .ok_or_else(|| anyhow::anyhow!("app {id} has no web origin"))?;
    let mut builder = WebauthnBuilder::new(rp_id, first_web)
        .map_err(|e| anyhow::anyhow!("app {id} has an invalid RP configuration: {e}"))?
        .rp_name(name)
        .timeout(Duration::from_millis(timeout_ms as u64));
    for url in urls.iter().filter(|u| *u != first_web) {
        builder = builder.append_allowed_origin(url);
    }
    Ok(builder
        .build()
        .map_err(|e| anyhow::anyhow!("app {id}: {e}"))?)
}

/// An API key of an app, as the console lists it.
#[derive(Clone, Debug)]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub created_at: Millis,
    /// Written at most once a minute per key and instance.
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// An API key as created: the secret is shown once and never stored.
#[derive(Debug)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub key: ApiKey,
}

impl Flex {
    /// Creates an app and its first API key, in one database transaction.
    pub async fn create_app(&self, new: &NewApp) -> Result<(App, NewApiKey), FlexError> {
        let key = NewApiKey {
            id: ApiKeyId::generate(),
            key: ApiKey::generate(),
        };
        let id = AppId::generate();
        let now = self.now();
        let signing_key = match new.signed_results {
            true => Some(self.new_signing_key(&id)?),
            false => None,
        };
        let row = NewAppRow {
            signing_key: signing_key.as_ref(),
            ..new_app_row(&id, new, Kind::Customer, now)
        };
        let event = row.event(Some(&key.id));
        self.store
            .insert_app(&row, Some((&key.id, &key.key.hash())), &event)
            .await?;
        self.wrote(&event);
        Ok((self.app(&id).await?.as_ref().clone(), key))
    }

    /// The app with this id (cached: see [`CACHE_TTL_MS`](super::CACHE_TTL_MS)).
    pub async fn app(&self, id: &AppId) -> Result<Arc<App>, FlexError> {
        let now = self.now();
        if let Some(app) = self.cache.apps.get(id, now) {
            return Ok(app);
        }
        let row = self
            .store
            .find_app(id)
            .await?
            .ok_or(FlexError::AppNotFound)?;
        let app = Arc::new(App::try_from(row)?);
        self.cache.apps.put(id.clone(), app.clone(), now);
        Ok(app)
    }

    /// The app of an id as the caller wrote it; `AppNotFound` for an id of the wrong shape too.
    pub async fn find_app(&self, id: &str) -> Result<Arc<App>, FlexError> {
        self.app(&AppId::parse(id).ok_or(FlexError::AppNotFound)?)
            .await
    }

    pub async fn list_apps(&self) -> Result<Vec<App>, FlexError> {
        self.store
            .list_apps()
            .await?
            .into_iter()
            .map(App::try_from)
            .collect()
    }

    /// The app of the built-in site, created on first start (once, even when
    /// several instances start together: a unique index allows one).
    pub async fn ensure_builtin_app(&self, origin: &Origin) -> Result<App, FlexError> {
        if let Some(row) = self.store.find_builtin_app().await? {
            return App::try_from(row);
        }
        let new = NewApp::parse("Latchkey site", &[origin.as_str().to_owned()], None)?;
        let id = AppId::generate();
        // `false`: another instance won the race; its app is the one.
        let row = new_app_row(&id, &new, Kind::Builtin, self.now());
        let event = row.event(None);
        if self.store.insert_app(&row, None, &event).await? {
            self.wrote(&event);
        }
        let row = self.store.find_builtin_app().await?;
        App::try_from(row.ok_or_else(|| anyhow::anyhow!("the built-in app was not created"))?)
    }

    /// The console's own app (its users are the operators), created on first
    /// start like the site's: origin and RP ID are the public URL's.
    pub async fn ensure_console_app(&self, origin: &Origin) -> Result<App, FlexError> {
        if let Some(row) = self.store.find_console_app().await? {
            return App::try_from(row);
        }
        let new = NewApp::parse("Latchkey console", &[origin.as_str().to_owned()], None)?;
        let id = AppId::generate();
        let row = new_app_row(&id, &new, Kind::Console, self.now());
        let event = row.event(None);
        if self.store.insert_app(&row, None, &event).await? {
            self.wrote(&event);
        }
        let row = self.store.find_console_app().await?;
        App::try_from(row.ok_or_else(|| anyhow::anyhow!("the console's app was not created"))?)
    }

    /// The console's own app, if the server has started once.
    pub async fn console_app(&self) -> Result<Arc<App>, FlexError> {
        let row = self
            .store
            .find_console_app()
            .await?
            .ok_or(FlexError::AppNotFound)?;
        let id = AppId::parse(&row.id)
            .ok_or_else(|| anyhow::anyhow!("stored app id {} is malformed", row.id))?;
        self.app(&id).await
    }

    /// Changes an app's settings, checked as `create_app` checks them (the same
    /// parsers), in one database transaction; this instance sees the change at
    /// once, others within [`CACHE_TTL_MS`](super::CACHE_TTL_MS). The console's
    /// app is not changed here. Turning signed results on makes the app's first
    /// signing key (refused without a secret key), or checks that the secret key
    /// opens the one it has.
    pub async fn update_app(&self, id: &AppId, new: &NewApp) -> Result<App, FlexError> {
        let current = self.app(id).await?;
        let now = self.now();
        let signing_key = match (new.signed_results, current.signed_results) {
            (true, false) => match self.store.find_current_signing_key(id).await? {
                None => Some(self.new_signing_key(id)?),
                Some(_) => {
                    self.current_signing_key(id)
                        .await
                        .map_err(|problem| problem.refusal(id))?;
                    None
                }
            },
            _ => None,
        };
        let origins: Vec<&str> = new.origins.iter().map(Origin::as_str).collect();
        let related_origins: Vec<&str> = new.related_origins.iter().map(Origin::as_str).collect();
        let event = NewEvent {
            detail: serde_json::json!({
                "name": new.name.as_str(),
                "rp_id": new.rp_id,
                "origins": origins,
                "related_origins": related_origins,
                "webauthn_timeout_ms": new.lifetimes.webauthn_timeout_ms,
                "transaction_ttl_ms": new.lifetimes.transaction_ttl_ms,
                "nonce_ttl_ms": new.lifetimes.nonce_ttl_ms,
                "max_passkeys_per_user": new.max_passkeys_per_user,
                "signed_results": new.signed_results,
                "signing_key_id": signing_key.as_ref().map(|key| key.id.as_str()),
                "authenticator_policy": new.policy.json(),
            }),
            ..events::success(Some(id), EventType::AppUpdated, now)
        };
        let updated = self
            .store
            .update_app(
                id,
                &AppUpdateRow {
                    name: new.name.as_str(),
                    rp_id: &new.rp_id,
                    origins,
                    related_origins,
                    webauthn_timeout_ms: new.lifetimes.webauthn_timeout_ms,
                    transaction_ttl_ms: new.lifetimes.transaction_ttl_ms,
                    nonce_ttl_ms: new.lifetimes.nonce_ttl_ms,
                    max_passkeys_per_user: new.max_passkeys_per_user,
                    signed_results: new.signed_results,
                    signing_key: signing_key.as_ref(),
                    policy: &new.policy,
                },
                now,
                &event,
            )
            .await?;
        self.cache.apps.forget(|app_id, _| app_id == id);
        if !updated {
            return Err(FlexError::AppNotFound);
        }
        self.wrote(&event);
        Ok(self.app(id).await?.as_ref().clone())
    }

    /// An app's API keys, newest first, revoked ones included.
    pub async fn list_api_keys(&self, app_id: &AppId) -> Result<Vec<ApiKeyInfo>, FlexError> {
        self.store
            .list_api_keys(app_id)
            .await?
            .into_iter()
            .map(|row| {
                Ok(ApiKeyInfo {
                    id: ApiKeyId::parse(&row.id).ok_or_else(|| {
                        anyhow::anyhow!("stored API key id {} is malformed", row.id)
                    })?,
                    created_at: row.created_at,
                    last_used_at: row.last_used_at,
                    revoked_at: row.revoked_at,
                })
            })
            .collect()
    }

    pub async fn create_api_key(&self, app_id: &AppId) -> Result<NewApiKey, FlexError> {
        let key = NewApiKey {
            id: ApiKeyId::generate(),
            key: ApiKey::generate(),
        };
        let now = self.now();
        let event = key_event(app_id, &key.id, EventType::ApiKeyCreated, now);
        let added = self
            .store
            .insert_api_key(app_id, &key.id, &key.key.hash(), now, &event)
            .await?;
        if !added {
            return Err(FlexError::AppNotFound);
        }
        self.wrote(&event);
        Ok(key)
    }

    /// Revokes a key of an app: at once on this instance, within
    /// [`CACHE_TTL_MS`](super::CACHE_TTL_MS) on the others.
    pub async fn revoke_api_key(&self, app_id: &AppId, key_id: &ApiKeyId) -> Result<(), FlexError> {
        self.app(app_id).await?;
        let now = self.now();
        let event = key_event(app_id, key_id, EventType::ApiKeyRevoked, now);
        let revoked = self
            .store
            .revoke_api_key(app_id, key_id, now, &event)
            .await?;
        self.cache.keys.forget(|_, (_, id)| id == key_id);
        if !revoked {
            return Err(FlexError::invalid(
                "no such API key for this app, or already revoked",
            ));
        }
        self.wrote(&event);
        Ok(())
    }

    /// The app a management request acts for, and the id of the key: the key must
    /// be a live key of the app in the path. Keys are looked up by their SHA-256
    /// hash, so the secret is never compared byte by byte.
    pub async fn authorize(
        &self,
        app_id: &AppId,
        bearer: Option<&str>,
    ) -> Result<(Arc<App>, ApiKeyId), FlexError> {
        let app = self.app(app_id).await?;
        let key = bearer
            .and_then(ApiKey::parse)
            .ok_or(FlexError::InvalidAccessToken)?;
        let hash = ids::hash(key.as_str());
        let now = self.now();
        let (key_app, key_id) = match self.cache.keys.get(&hash, now) {
            Some(live) => live,
            None => {
                let row = self
                    .store
                    .find_live_api_key(&hash)
                    .await?
                    .ok_or(FlexError::InvalidAccessToken)?;
                let live = (
                    AppId::parse(&row.app_id).ok_or_else(|| {
                        anyhow::anyhow!("stored app id {} is malformed", row.app_id)
                    })?,
                    ApiKeyId::parse(&row.id).ok_or_else(|| {
                        anyhow::anyhow!("stored API key id {} is malformed", row.id)
                    })?,
                );
                self.cache.keys.put(hash, live.clone(), now);
                live
            }
        };
        if key_app != app.id {
            return Err(FlexError::InvalidAccessToken);
        }
        events::Context::set_actor(format!("api_key:{}", key_id.as_str()));
        if self.cache.key_uses.due(&key_id, now) {
            // Best effort: a failed note of use never refuses the request.
            if let Err(error) = self.store.touch_api_key(&key_id, now).await {
                tracing::warn!(%error, "could not note an API key's use");
            }
        }
        Ok((app, key_id))
    }
}

/// Whose an app is: an operator's, the built-in site's, or the console's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customer,
    Builtin,
    Console,
}

/// The event of a change to an API key of an app (its id in the detail).
fn key_event(app_id: &AppId, key_id: &ApiKeyId, event_type: EventType, now: Millis) -> NewEvent {
    NewEvent {
        detail: serde_json::json!({ "key_id": key_id.as_str() }),
        ..events::success(Some(app_id), event_type, now)
    }
}

impl NewAppRow<'_> {
    /// The event of this app's creation (with its first key, if any).
    fn event(&self, first_key: Option<&ApiKeyId>) -> NewEvent {
        NewEvent {
            detail: serde_json::json!({
                "name": self.name,
                "rp_id": self.rp_id,
                "origins": self.origins,
                "related_origins": self.related_origins,
                "key_id": first_key.map(ApiKeyId::as_str),
                "signed_results": self.signed_results,
                "signing_key_id": self.signing_key.map(|key| key.id.as_str()),
                "authenticator_policy": self.policy.json(),
            }),
            ..events::success(Some(self.id), EventType::AppCreated, self.created_at)
        }
    }
}

fn new_app_row<'a>(id: &'a AppId, new: &'a NewApp, kind: Kind, now: Millis) -> NewAppRow<'a> {
    NewAppRow {
        id,
        name: new.name.as_str(),
        rp_id: &new.rp_id,
        origins: new.origins.iter().map(Origin::as_str).collect(),
        related_origins: new.related_origins.iter().map(Origin::as_str).collect(),
        webauthn_timeout_ms: new.lifetimes.webauthn_timeout_ms,
        transaction_ttl_ms: new.lifetimes.transaction_ttl_ms,
        nonce_ttl_ms: new.lifetimes.nonce_ttl_ms,
        max_passkeys_per_user: new.max_passkeys_per_user,
        is_builtin: kind == Kind::Builtin,
        is_console: kind == Kind::Console,
        created_at: now,
        signed_results: new.signed_results,
        signing_key: None,
        policy: &new.policy,
    }
}
