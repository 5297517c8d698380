//! The console's backend, in process: each call parses its input, makes one
//! or two core calls, and maps the core's refusals to what the console says.
//! The operator acting is named on every call (the audit log records it).

use std::sync::Arc;

use app::{
    console::{
        backend::{Console, ConsoleBackend, ConsoleError},
        AaguidView, ApiKeyView, AppForm, AppOverview, AppView, ConsolePasskey, EventsFilter,
        InviteCeremony, NewKeyView, OperatorView, PolicyView, UserDetail, UserView, UsersPageView,
    },
    wire::events::{EventPage, EventQuery},
};
use async_trait::async_trait;

use crate::{
    config::PublicUrl,
    flex::{
        aaguid,
        apps::{App, AuthenticatorPolicy, Lifetimes, NewApp},
        clock::rfc3339,
        events::{EventFilter, Scope},
        ids::{ApiKeyId, DeviceId, DisplayName},
        operators::{Operator, OperatorError},
        users::{PasskeyRecord, User},
        Flex, FlexError,
    },
};

/// Users on one page of the console's list.
const USERS_PER_PAGE: i64 = 25;
/// Events on one page of the console's list.
const EVENTS_PER_PAGE: i64 = 50;
/// The overview's window.
const OVERVIEW_MS: i64 = 24 * 60 * 60 * 1000;

/// The console, wired to this server's core.
pub fn console(flex: &Flex, public_url: &PublicUrl) -> Console {
    Console {
        backend: Arc::new(InProcess { flex: flex.clone() }),
        secure_cookies: public_url.origin().starts_with("https://"),
    }
}

pub struct InProcess {
    flex: Flex,
}

impl From<FlexError> for ConsoleError {
    fn from(error: FlexError) -> Self {
        match error {
            FlexError::InvalidRequest(message) => Self::Invalid(message),
            FlexError::AppNotFound => Self::NotFound("There is no such app.".into()),
            FlexError::UserNotFound => Self::NotFound("This app has no such user.".into()),
            FlexError::DeviceNotFound => {
                Self::NotFound("This user has no such passkey (any more).".into())
            }
            FlexError::InvalidNonce => {
                Self::Invalid("That passkey confirmation is no longer valid. Try again.".into())
            }
            FlexError::TooManyPasskeys(_) => Self::Invalid(error.to_string()),
            FlexError::WebhookNotFound => Self::NotFound("This app has no such webhook.".into()),
            other => Self::internal(Unexpected(other)),
        }
    }
}

impl From<OperatorError> for ConsoleError {
    fn from(error: OperatorError) -> Self {
        match error {
            OperatorError::NotSignedIn => Self::NotSignedIn,
            OperatorError::InviteInvalid
            | OperatorError::NotAnOperator
            | OperatorError::NoSuchOperator => Self::Invalid(error.to_string()),
            OperatorError::Flex(error) => error.into(),
        }
    }
}

/// A core error the console has no answer for, with its code, for the log.
#[derive(Debug)]
struct Unexpected(FlexError);

impl std::fmt::Display for Unexpected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.0.code(), self.0)?;
        match self.0.cause() {
            Some(cause) => write!(f, ": {cause}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Unexpected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

fn operator_view(operator: Operator) -> OperatorView {
    OperatorView {
        id: operator.id,
        name: operator.name,
    }
}

fn app_view(app: &App) -> AppView {
    AppView {
        id: app.id.as_str().to_owned(),
        name: app.name.clone(),
        rp_id: app.rp_id.clone(),
        origins: app.origins.clone(),
        related_origins: app.related_origins.clone(),
        webauthn_timeout_secs: app.webauthn_timeout_ms / 1000,
        transaction_ttl_secs: app.transaction_ttl_ms / 1000,
        nonce_ttl_secs: app.nonce_ttl_ms / 1000,
        max_passkeys_per_user: app.max_passkeys_per_user,
        builtin: app.is_builtin,
        created_at: rfc3339(Some(app.created_at)),
        signed_results: app.signed_results,
        policy: PolicyView {
            mode: app.policy.mode.as_str().to_owned(),
            aaguids: app
                .policy
                .aaguids
                .iter()
                .map(|a| AaguidView {
                    aaguid: a.clone(),
                    name: aaguid::provider(a).map(|p| p.name.clone()),
                })
                .collect(),
            attested_only: app.policy.attested_only,
        },
    }
}

fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id.clone(),
        external_id: user.external_id.clone(),
        display_name: user.display_name.clone(),
        created_at: rfc3339(Some(user.created_at)),
        last_login_at: user.last_login_at.map(|at| rfc3339(Some(at))),
        login_count: user.login_count,
    }
}

fn passkey_view(record: &PasskeyRecord) -> ConsolePasskey {
    let provider = aaguid::provider(&record.aaguid);
    ConsolePasskey {
        id: record.id.as_str().to_owned(),
        name: record.friendly_name.clone(),
        provider: provider.map(|p| p.name.clone()),
        icon: provider
            .and_then(|p| p.light.as_ref())
            .map(|file| format!("/v1/aaguid-icons/{file}")),
        created_at: rfc3339(Some(record.created_at)),
        last_used_at: record.last_used_at.map(|at| rfc3339(Some(at))),
        synced: record.backup_eligible,
        counter: record.counter,
        usage_count: record.usage_count,
    }
}

/// A number of seconds as typed; blank is the default.
fn seconds(field: &str, text: &str) -> Result<Option<u64>, FlexError> {
    match text.trim() {
        "" => Ok(None),
        text => text.parse().map(Some).map_err(|_| {
            FlexError::invalid(format!("{field} must be a whole number, not `{text}`"))
        }),
    }
}

/// The form, parsed by the parsers `latchkey apps create` uses.
fn parse_form(form: &AppForm) -> Result<NewApp, FlexError> {
    let lines = |text: &str| -> Vec<String> {
        text.split(['\n', ','])
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let origins = lines(&form.origins);
    let rp_id = Some(form.rp_id.trim()).filter(|id| !id.is_empty());
    let lifetimes = Lifetimes::parse(
        seconds("the WebAuthn timeout", &form.webauthn_timeout)?,
        seconds("the transaction lifetime", &form.transaction_ttl)?,
        seconds("the nonce lifetime", &form.nonce_ttl)?,
    )?;
    NewApp::parse(&form.name, &origins, rp_id)?
        .with_related_origins(&lines(&form.related_origins))?
        .with_lifetimes(lifetimes)
        .with_max_passkeys(seconds("the passkeys per user", &form.max_passkeys)?)
}

impl InProcess {
    /// An app the console may act on (not its own).
    async fn app(&self, app_id: &str) -> Result<Arc<App>, ConsoleError> {
        let app = self.flex.find_app(app_id).await?;
        if app.is_console {
            return Err(FlexError::AppNotFound.into());
        }
        Ok(app)
    }

    async fn user(&self, app: &App, user_id: &str) -> Result<User, ConsoleError> {
        let id = uuid::Uuid::parse_str(user_id).map_err(|_| FlexError::UserNotFound)?;
        Ok(self.flex.find_user(app, &id).await?)
    }
}

#[async_trait]
impl ConsoleBackend for InProcess {
    async fn operator(&self, session: &str) -> Result<OperatorView, ConsoleError> {
        Ok(operator_view(self.flex.operator_of_session(session).await?))
    }

    async fn sign_out(&self, session: &str) -> Result<(), ConsoleError> {
        Ok(self.flex.end_operator_session(session).await?)
    }

    async fn console_app_id(&self) -> Result<String, ConsoleError> {
        Ok(self.flex.console_app().await?.id.as_str().to_owned())
    }

    async fn check_invite(&self, token: &str) -> Result<String, ConsoleError> {
        Ok(self.flex.check_invite(token).await?)
    }

    async fn start_invite(&self, token: &str) -> Result<InviteCeremony, ConsoleError> {
        let (app, transaction) = self.flex.start_operator_registration(token).await?;
        Ok(InviteCeremony {
            app_id: app.id.as_str().to_owned(),
            transaction_id: transaction.as_str().to_owned(),
        })
    }

    async fn finish_invite(&self, token: &str, nonce: &str) -> Result<String, ConsoleError> {
        let signed_in = self.flex.finish_operator_registration(token, nonce).await?;
        Ok(signed_in.session.as_str().to_owned())
    }

    async fn sign_in(&self, nonce: &str) -> Result<String, ConsoleError> {
        let signed_in = self.flex.operator_sign_in(nonce).await?;
        Ok(signed_in.session.as_str().to_owned())
    }

    async fn list_apps(&self, _by: &OperatorView) -> Result<Vec<AppView>, ConsoleError> {
        Ok(self.flex.list_apps().await?.iter().map(app_view).collect())
    }

    async fn app(&self, _by: &OperatorView, app_id: &str) -> Result<AppView, ConsoleError> {
        Ok(app_view(&*self.app(app_id).await?))
    }

    async fn create_app(
        &self,
        _by: &OperatorView,
        form: &AppForm,
    ) -> Result<NewKeyView, ConsoleError> {
        let new = parse_form(form)?;
        let (app, key) = self.flex.create_app(&new).await?;
        Ok(NewKeyView {
            app_id: app.id.as_str().to_owned(),
            key_id: key.id.as_str().to_owned(),
            api_key: key.key.as_str().to_owned(),
        })
    }

    async fn update_app(
        &self,
        _by: &OperatorView,
        app_id: &str,
        form: &AppForm,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        // The form's settings; signed results and the authenticator policy as
        // they are (their own forms change them).
        let new = parse_form(form)?
            .with_signed_results(app.signed_results)
            .with_policy(app.policy.clone());
        self.flex.update_app(&app.id, &new).await?;
        Ok(())
    }

    async fn list_keys(
        &self,
        _by: &OperatorView,
        app_id: &str,
    ) -> Result<Vec<ApiKeyView>, ConsoleError> {
        let app = self.app(app_id).await?;
        Ok(self
            .flex
            .list_api_keys(&app.id)
            .await?
            .into_iter()
            .map(|key| ApiKeyView {
                id: key.id.as_str().to_owned(),
                created_at: rfc3339(Some(key.created_at)),
                last_used_at: key.last_used_at.map(|at| rfc3339(Some(at))),
                revoked_at: key.revoked_at.map(|at| rfc3339(Some(at))),
            })
            .collect())
    }

    async fn webhooks(
        &self,
        _by: &OperatorView,
        app_id: &str,
    ) -> Result<Vec<app::wire::webhooks::WebhookDeliveries>, ConsoleError> {
        let app = self.app(app_id).await?;
        let mut found = Vec::new();
        for webhook in self.flex.list_webhooks(&app.id).await? {
            let messages = self
                .flex
                .webhook_messages(&app.id, &webhook.id, Some(10))
                .await?;
            found.push(app::wire::webhooks::WebhookDeliveries { webhook, messages });
        }
        Ok(found)
    }

    async fn create_key(
        &self,
        _by: &OperatorView,
        app_id: &str,
    ) -> Result<NewKeyView, ConsoleError> {
        let app = self.app(app_id).await?;
        let key = self.flex.create_api_key(&app.id).await?;
        Ok(NewKeyView {
            app_id: app.id.as_str().to_owned(),
            key_id: key.id.as_str().to_owned(),
            api_key: key.key.as_str().to_owned(),
        })
    }

    async fn revoke_key(
        &self,
        _by: &OperatorView,
        app_id: &str,
        key_id: &str,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        let key = ApiKeyId::parse(key_id).ok_or_else(|| {
            FlexError::invalid("no such API key for this app, or already revoked")
        })?;
        Ok(self.flex.revoke_api_key(&app.id, &key).await?)
    }

    async fn set_signed_results(
        &self,
        _by: &OperatorView,
        app_id: &str,
        on: bool,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        let new = app.settings()?.with_signed_results(on);
        self.flex.update_app(&app.id, &new).await?;
        Ok(())
    }

    async fn set_authenticator_policy(
        &self,
        _by: &OperatorView,
        app_id: &str,
        mode: &str,
        aaguids: &str,
        attested_only: bool,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        let aaguids: Vec<String> = aaguids
            .split(['\n', ','])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        let policy = AuthenticatorPolicy::with_mode(mode, &aaguids, attested_only)?;
        let new = app.settings()?.with_policy(policy);
        self.flex.update_app(&app.id, &new).await?;
        Ok(())
    }

    async fn rotate_signing_key(
        &self,
        _by: &OperatorView,
        app_id: &str,
    ) -> Result<String, ConsoleError> {
        let app = self.app(app_id).await?;
        Ok(self
            .flex
            .rotate_signing_key(&app.id)
            .await?
            .as_str()
            .to_owned())
    }

    async fn users(
        &self,
        _by: &OperatorView,
        app_id: &str,
        prefix: &str,
        page: i64,
    ) -> Result<UsersPageView, ConsoleError> {
        let app = self.app(app_id).await?;
        let (users, total) = self
            .flex
            .search_users(&app, prefix.trim(), page, USERS_PER_PAGE)
            .await?;
        Ok(UsersPageView {
            users: users.iter().map(user_view).collect(),
            total,
            page,
            pages: ((total + USERS_PER_PAGE - 1) / USERS_PER_PAGE).max(1),
        })
    }

    async fn user(
        &self,
        _by: &OperatorView,
        app_id: &str,
        user_id: &str,
    ) -> Result<UserDetail, ConsoleError> {
        let app = self.app(app_id).await?;
        let user = self.user(&app, user_id).await?;
        let passkeys = self.flex.list_passkeys(&app, &user).await?;
        Ok(UserDetail {
            user: user_view(&user),
            passkeys: passkeys.iter().map(passkey_view).collect(),
        })
    }

    async fn rename_passkey(
        &self,
        _by: &OperatorView,
        app_id: &str,
        user_id: &str,
        device_id: &str,
        name: &str,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        let user = self.user(&app, user_id).await?;
        let device = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound)?;
        let name = DisplayName::parse("the passkey's name", name)?;
        self.flex
            .rename_passkey(&app, &user, &device, &name)
            .await?;
        Ok(())
    }

    async fn revoke_passkey(
        &self,
        _by: &OperatorView,
        app_id: &str,
        user_id: &str,
        device_id: &str,
    ) -> Result<(), ConsoleError> {
        let app = self.app(app_id).await?;
        let user = self.user(&app, user_id).await?;
        let device = DeviceId::parse(device_id).ok_or(FlexError::DeviceNotFound)?;
        Ok(self.flex.revoke_passkey(&app, &user, &device).await?)
    }

    async fn events(
        &self,
        _by: &OperatorView,
        filter: &EventsFilter,
    ) -> Result<EventPage, ConsoleError> {
        let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let query = EventQuery {
            event_type: given(&filter.event_type),
            outcome: given(&filter.outcome),
            external_id: given(&filter.user),
            ip: given(&filter.ip),
            since: given(&filter.since),
            until: given(&filter.until),
            cursor: given(&filter.cursor),
            limit: Some(EVENTS_PER_PAGE),
        };
        let parsed = EventFilter::parse(&query)?;
        let app = match filter.app.trim() {
            "" | "console" => None,
            id => Some(self.app(id).await?),
        };
        let scope = match (&app, filter.app.trim()) {
            (Some(app), _) => Scope::App(&app.id),
            (None, "console") => Scope::Console,
            (None, _) => Scope::All,
        };
        Ok(self.flex.list_events(scope, &parsed).await?)
    }

    async fn overview(&self, _by: &OperatorView) -> Result<Vec<AppOverview>, ConsoleError> {
        let since = self.flex.clock().now() - OVERVIEW_MS;
        let mut overview = Vec::new();
        for app in self.flex.list_apps().await? {
            let summary = self.flex.summarize_events(&app.id, since).await?;
            overview.push(AppOverview {
                app: app_view(&app),
                summary,
            });
        }
        Ok(overview)
    }

    async fn revoke_all_passkeys(
        &self,
        _by: &OperatorView,
        app_id: &str,
        user_id: &str,
    ) -> Result<u64, ConsoleError> {
        let app = self.app(app_id).await?;
        let user = self.user(&app, user_id).await?;
        Ok(self.flex.revoke_all_passkeys(&app, &user).await?)
    }
}
