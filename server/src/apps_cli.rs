//! `latchkey apps update` and `latchkey signing-keys`: the CLI's adapters over
//! `Flex::update_app` and the signing keys of signed results.

use clap::{Args, Subcommand};

use crate::flex::{
    aaguid,
    apps::{AaguidMode, App, AuthenticatorPolicy, Lifetimes, NewApp},
    clock::rfc3339,
    ids::AppId,
    signing::RETIRED_KEY_SERVED_MS,
    Flex, FlexError,
};

/// The lifetimes and the passkey cap, as `apps create` and `apps update`
/// take them: on create, one not given is the default; on update, it keeps
/// its value.
#[derive(Debug, Args)]
pub struct AppLimits {
    /// Seconds the browser gets for a ceremony; a handshake lives as long
    /// (30 to 1800, default 300).
    #[arg(long, value_name = "SECS")]
    pub webauthn_timeout: Option<u64>,
    /// Seconds a transaction lives (10 to 3600, default 300).
    #[arg(long, value_name = "SECS")]
    pub transaction_ttl: Option<u64>,
    /// Seconds a nonce lives (5 to 600, default 60).
    #[arg(long, value_name = "SECS")]
    pub nonce_ttl: Option<u64>,
    /// Passkeys one user may hold; adding more answers 409 too_many_passkeys
    /// (1 to 100, default 20).
    #[arg(long, value_name = "N")]
    pub max_passkeys: Option<u64>,
}

/// What `apps update` may change; an option not given keeps its value. To
/// add a setting: a field here, and a line in [`AppChanges::apply`].
#[derive(Debug, Args)]
pub struct AppChanges {
    /// A name people read.
    #[arg(long)]
    name: Option<String>,
    /// An origin passkeys are used from (as `apps create` takes it); repeat for
    /// several. Replaces the list; each must be within the app's RP ID.
    #[arg(long = "origin")]
    origins: Vec<String>,
    /// A related origin (Related Origin Requests): a web origin outside the
    /// RP ID whose ceremonies the app accepts too, once the RP ID's host serves
    /// GET /v1/apps/{app_id}/well-known-webauthn at /.well-known/webauthn.
    /// https://host[:port] (http:// for localhost and *.localhost); repeat for
    /// several (at most 5 registrable labels). Replaces the list; `none` clears it.
    #[arg(long = "related-origin", value_name = "URL|none")]
    related_origins: Vec<String>,
    #[command(flatten)]
    limits: AppLimits,
    /// Answer each finish with a signed JWT beside the nonce, verifiable
    /// against the app's JWKS. Turning it on needs LATCHKEY_SECRET_KEY.
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    signed_results: Option<bool>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// The authenticator policy, as `apps create` and `apps update` take it
/// (README "Authenticator policy"): an option not given keeps its value.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Only authenticators of this AAGUID may add passkeys; repeat for
    /// several. Replaces the list (and a deny-list).
    #[arg(long = "aaguid-allow", value_name = "UUID")]
    aaguid_allow: Vec<String>,
    /// Authenticators of this AAGUID may not add passkeys; repeat for
    /// several. Replaces the list (and an allow-list).
    #[arg(long = "aaguid-deny", value_name = "UUID")]
    aaguid_deny: Vec<String>,
    /// `none`: any authenticator may add passkeys (clears the list).
    #[arg(long, value_name = "none", value_parser = ["none"])]
    aaguid_policy: Option<String>,
    /// Only passkeys whose attestation chains to a trusted CA (the bundled
    /// list and --attestation-ca of `serve`): in effect, security keys.
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    attested_only: Option<bool>,
}

impl PolicyArgs {
    /// `current` with these changes, checked.
    pub fn apply(self, current: &AuthenticatorPolicy) -> Result<AuthenticatorPolicy, FlexError> {
        let attested_only = self.attested_only.unwrap_or(current.attested_only);
        let listed = !self.aaguid_allow.is_empty() || !self.aaguid_deny.is_empty();
        match (self.aaguid_policy.is_some(), listed) {
            (true, true) => Err(FlexError::invalid(
                "--aaguid-policy none clears the list: give it without --aaguid-allow or --aaguid-deny",
            )),
            (true, false) => AuthenticatorPolicy::parse(&[], &[], attested_only),
            (false, true) => {
                AuthenticatorPolicy::parse(&self.aaguid_allow, &self.aaguid_deny, attested_only)
            }
            (false, false) => Ok(AuthenticatorPolicy {
                attested_only,
                ..current.clone()
            }),
        }
    }
}

/// An app's policy in words, the AAGUIDs named from the bundled list.
pub fn policy_lines(policy: &AuthenticatorPolicy) -> Vec<String> {
    let mut lines = vec![format!(
        "{}{}",
        match policy.mode {
            AaguidMode::None => "any authenticator",
            AaguidMode::Allow => "only the authenticators listed",
            AaguidMode::Deny => "any authenticator but those listed",
        },
        if policy.attested_only {
            ", attested by a trusted CA"
        } else {
            ""
        }
    )];
    lines.extend(
        policy
            .aaguids
            .iter()
            .map(|a| format!("{a}  {}", aaguid_name(a).unwrap_or("(unknown)"))),
    );
    lines
}

/// The name the bundled AAGUID list gives an authenticator.
fn aaguid_name(aaguid: &str) -> Option<&'static str> {
    aaguid::provider(aaguid).map(|p| p.name.as_str())
}

/// The policy as `--json` prints it.
pub fn policy_json(policy: &AuthenticatorPolicy) -> serde_json::Value {
    let aaguids: Vec<_> = policy
        .aaguids
        .iter()
        .map(|a| serde_json::json!({ "aaguid": a, "name": aaguid_name(a) }))
        .collect();
    serde_json::json!({
        "aaguid_policy": policy.mode.as_str(),
        "aaguids": aaguids,
        "attested_only": policy.attested_only,
    })
}

impl AppChanges {
    /// The app's settings with these changes, checked as `apps create` checks them.
    fn apply(self, app: &App) -> Result<NewApp, FlexError> {
        let secs = |ms: i64| Some(u64::try_from(ms / 1000).unwrap_or_default());
        let origins = match self.origins.is_empty() {
            true => app.origins.clone(),
            false => self.origins,
        };
        let related_origins = match &self.related_origins[..] {
            [] => app.related_origins.clone(),
            [none] if none == RELATED_ORIGINS_NONE => Vec::new(),
            _ => self.related_origins,
        };
        let limits = self.limits;
        let lifetimes = Lifetimes::parse(
            limits.webauthn_timeout.or(secs(app.webauthn_timeout_ms)),
            limits.transaction_ttl.or(secs(app.transaction_ttl_ms)),
            limits.nonce_ttl.or(secs(app.nonce_ttl_ms)),
        )?;
        let max_passkeys = u64::try_from(app.max_passkeys_per_user).ok();
        Ok(NewApp::parse(
            self.name.as_deref().unwrap_or(&app.name),
            &origins,
            Some(&app.rp_id),
        )?
        .with_related_origins(&related_origins)?
        .with_lifetimes(lifetimes)
        .with_max_passkeys(limits.max_passkeys.or(max_passkeys))?
        .with_signed_results(self.signed_results.unwrap_or(app.signed_results))
        .with_policy(self.policy.apply(&app.policy)?))
    }
}

/// `apps update --related-origin none`: the app has no related origins.
const RELATED_ORIGINS_NONE: &str = "none";

/// `apps update APP_ID …`: changes the options given, prints the app.
pub async fn update(
    flex: &Flex,
    app_id: &str,
    changes: AppChanges,
    json: bool,
) -> anyhow::Result<()> {
    let id = AppId::parse(app_id).ok_or(FlexError::AppNotFound)?;
    let current = flex.app(&id).await?;
    let new = changes.apply(&current)?;
    let app = flex.update_app(&id, &new).await?;
    if json {
        println!("{}", app_json(&app));
    } else {
        println!("Updated app \"{}\"", app.name);
        println!("  app id           {}", app.id);
        println!("  RP ID            {}", app.rp_id);
        println!("  origins          {}", app.origins.join(", "));
        if !app.related_origins.is_empty() {
            println!("  related origins  {}", app.related_origins.join(", "));
        }
        println!(
            "  lifetimes        webauthn {} s, transaction {} s, nonce {} s",
            app.webauthn_timeout_ms / 1000,
            app.transaction_ttl_ms / 1000,
            app.nonce_ttl_ms / 1000
        );
        println!("  max passkeys     {}", app.max_passkeys_per_user);
        println!(
            "  signed results   {}",
            if app.signed_results { "on" } else { "off" }
        );
        for (n, line) in policy_lines(&app.policy).iter().enumerate() {
            let label = if n == 0 { "authenticators" } else { "" };
            println!("  {label:<16} {line}");
        }
    }
    Ok(())
}

/// An app as `apps update --json` prints it.
fn app_json(app: &App) -> serde_json::Value {
    serde_json::json!({
        "app_id": app.id.as_str(), "name": app.name, "rp_id": app.rp_id,
        "origins": app.origins, "related_origins": app.related_origins,
        "builtin": app.is_builtin,
        "webauthn_timeout_secs": app.webauthn_timeout_ms / 1000,
        "transaction_ttl_secs": app.transaction_ttl_ms / 1000,
        "nonce_ttl_secs": app.nonce_ttl_ms / 1000,
        "max_passkeys_per_user": app.max_passkeys_per_user,
        "signed_results": app.signed_results,
        "authenticator_policy": policy_json(&app.policy),
    })
}

#[derive(Debug, Subcommand)]
pub enum SigningKeysCommand {
    /// Make a new signing key for an app's signed results: new tokens carry
    /// its `kid`; the old public key stays in the JWKS until every token it
    /// signed has expired. Needs LATCHKEY_SECRET_KEY.
    Rotate {
        #[arg(long = "app")]
        app_id: String,
        /// Print JSON: {"app_id", "key_id", "retired_key_served_until"}.
        #[arg(long)]
        json: bool,
    },
}

pub async fn signing_keys(flex: &Flex, command: SigningKeysCommand) -> anyhow::Result<()> {
    match command {
        SigningKeysCommand::Rotate { app_id, json } => {
            let id = AppId::parse(&app_id).ok_or(FlexError::AppNotFound)?;
            let key = flex.rotate_signing_key(&id).await?;
            let until = rfc3339(Some(flex.clock().now() + RETIRED_KEY_SERVED_MS));
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "app_id": app_id, "key_id": key.as_str(), "retired_key_served_until": until,
                    })
                );
            } else {
                println!("Rotated the signing key of app {app_id}: new tokens carry kid {key}.");
                println!("The old public key stays in the JWKS until {until}.");
            }
        }
    }
    Ok(())
}
