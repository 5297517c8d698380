//! The client API: browser to Latchkey, no secret; the app id is in the path.
//! A middleware finds the app (404 `app_not_found` otherwise) and answers CORS
//! for that app's own origins and related origins only.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Extension,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::{
    error::ApiError,
    json::{ApiJson, ApiPath},
    wire::{self, *},
};
use crate::{
    flex::{
        apps::App,
        ceremonies::{Attachment, Finished, Handshake, Mediation},
        ids::{HandshakeId, TransactionId},
        signing::JWKS_MAX_AGE_SECS,
        FlexError,
    },
    state::AppState,
    traffic::client_ip::ClientIp,
};

/// Finds the app of a client request and applies its CORS policy.
pub async fn app_and_cors(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    ApiPath(params): ApiPath<HashMap<String, String>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Err(wait) = state.limits.client_ip(ip).await {
        return ApiError::RateLimited(wait).into_response();
    }
    let app_id = params.get("app_id").map(String::as_str).unwrap_or_default();
    let app = match state.flex.find_app(app_id).await {
        Ok(app) => app,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if let Err(wait) = state.limits.app(&app.id).await {
        return ApiError::RateLimited(wait).into_response();
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| app.allows_origin(o));
    if request.method() == Method::OPTIONS {
        if !allowed {
            return ApiError::from(FlexError::invalid(
                "this origin is not one of the app's origins",
            ))
            .into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, passage-flex-version"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        allow_origin(&mut response, origin);
        return response;
    }
    request.extensions_mut().insert(app);
    let mut response = next.run(request).await;
    if allowed {
        allow_origin(&mut response, origin);
    }
    response
}

fn allow_origin(response: &mut Response, origin: Option<HeaderValue>) {
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
}

/// An optional transaction id as passage-flex-js sends it (absent or empty: none);
/// one of the wrong shape is `unknown`.
fn optional_transaction(
    text: Option<String>,
    unknown: FlexError,
) -> Result<Option<TransactionId>, FlexError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => TransactionId::parse(&text).map(Some).ok_or(unknown),
    }
}

fn handshake_response(handshake: Handshake) -> ApiJson<HandshakeResponse> {
    ApiJson(wire::handshake_response(
        handshake.id.as_str(),
        handshake.challenge,
    ))
}

/// Reads a `handshake_response`. What is wrong with it goes to the log (with
/// the request id), not to the caller: serde's words name webauthn-rs's types.
fn parse_response<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        tracing::debug!(cause = %e, "handshake_response is not a WebAuthn response");
        FlexError::invalid("handshake_response is not a WebAuthn response.").into()
    })
}

/// A `RegistrationResponseJSON` as passage-flex-js sends it: `transports`
/// beside `response`, where WebAuthn has them inside.
#[derive(Deserialize)]
struct FlexRegistration {
    #[serde(flatten)]
    credential: RegisterPublicKeyCredential,
    transports: Option<Value>,
}

impl FlexRegistration {
    fn into_credential(self) -> Result<RegisterPublicKeyCredential, ApiError> {
        let mut credential = self.credential;
        if let (None, Some(transports)) = (&credential.response.transports, self.transports) {
            credential.response.transports = Some(parse_response(transports)?);
        }
        Ok(credential)
    }
}

/// Start adding a passkey with a register transaction.
#[utoipa::path(post, path = "/v1/apps/{app_id}/register/transactions/webauthn/start", tag = "client",
    params(("app_id" = String, Path)), request_body = RegisterStartRequest,
    responses((status = 200, body = HandshakeResponse)))]
pub async fn register_start(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<App>>,
    ApiJson(body): ApiJson<RegisterStartRequest>,
) -> Result<ApiJson<HandshakeResponse>, ApiError> {
    let attachment = Attachment::parse(body.authenticator_attachment.as_deref())?;
    let mediation = Mediation::parse(body.mediation.as_deref())?;
    let transaction =
        TransactionId::parse(&body.transaction_id).ok_or(FlexError::TransactionNotFound)?;
    let handshake = state
        .flex
        .start_registration(&app, &transaction, attachment, mediation)
        .await?;
    Ok(handshake_response(handshake))
}

/// Finish adding a passkey: the attestation from `navigator.credentials.create()`.
#[utoipa::path(post, path = "/v1/apps/{app_id}/register/transactions/webauthn/finish", tag = "client",
    params(("app_id" = String, Path)), request_body = RegisterFinishRequest,
    responses((status = 200, body = NonceResponse)))]
pub async fn register_finish(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<App>>,
    ApiJson(body): ApiJson<RegisterFinishRequest>,
) -> Result<ApiJson<NonceResponse>, ApiError> {
    let response =
        parse_response::<FlexRegistration>(body.handshake_response)?.into_credential()?;
    let transaction =
        TransactionId::parse(&body.transaction_id).ok_or(FlexError::HandshakeNotFound)?;
    let handshake = HandshakeId::parse(&body.handshake_id).ok_or(FlexError::HandshakeNotFound)?;
    let finished = state
        .flex
        .finish_registration(&app, &transaction, &handshake, &response)
        .await?;
    Ok(ApiJson(nonce_response(finished)))
}

/// Start a sign-in: with an authenticate transaction (identifier-first), or
/// without one (discoverable: one click or autofill).
#[utoipa::path(post, path = "/v1/apps/{app_id}/authenticate/transactions/webauthn/start", tag = "client",
    params(("app_id" = String, Path)), request_body = AuthenticateStartRequest,
    responses((status = 200, body = HandshakeResponse)))]
pub async fn authenticate_start(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<App>>,
    ApiJson(body): ApiJson<AuthenticateStartRequest>,
) -> Result<ApiJson<HandshakeResponse>, ApiError> {
    let transaction = optional_transaction(body.transaction_id, FlexError::TransactionNotFound)?;
    let handshake = state
        .flex
        .start_authentication(&app, transaction.as_ref())
        .await?;
    Ok(handshake_response(handshake))
}

/// Finish a sign-in: the assertion from `navigator.credentials.get()`.
#[utoipa::path(post, path = "/v1/apps/{app_id}/authenticate/transactions/webauthn/finish", tag = "client",
    params(("app_id" = String, Path)), request_body = AuthenticateFinishRequest,
    responses((status = 200, body = NonceResponse)))]
pub async fn authenticate_finish(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<App>>,
    ApiJson(body): ApiJson<AuthenticateFinishRequest>,
) -> Result<ApiJson<NonceResponse>, ApiError> {
    let response: PublicKeyCredential = parse_response(body.handshake_response)?;
    let transaction = optional_transaction(body.transaction_id, FlexError::HandshakeNotFound)?;
    let handshake = HandshakeId::parse(&body.handshake_id).ok_or(FlexError::HandshakeNotFound)?;
    let finished = state
        .flex
        .finish_authentication(&app, transaction.as_ref(), &handshake, &response)
        .await?;
    Ok(ApiJson(nonce_response(finished)))
}

/// A finish's answer: the nonce, the signed result if the app has them on,
/// and a sign-in's signals.
fn nonce_response(finished: Finished) -> NonceResponse {
    NonceResponse {
        nonce: finished.nonce.as_str().to_owned(),
        signed_result: finished.signed_result,
        signals: finished.signals,
    }
}

/// The app's public signing keys (JWKS, RFC 7517) that its signed results
/// verify against: the current key, and a retired one until every token it
/// signed has expired. No secret needed; cacheable for a minute.
#[utoipa::path(get, path = "/v1/apps/{app_id}/.well-known/jwks.json", tag = "client",
    params(("app_id" = String, Path)),
    responses((status = 200, body = Jwks,
        headers(("cache-control" = String, description = "`public, max-age=60`: shorter than a token's life, so a rotated-in key is learnt in time")))))]
pub async fn jwks(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<App>>,
) -> Result<Response, ApiError> {
    let jwks = state.flex.jwks(&app.id).await?;
    let cache = format!("public, max-age={JWKS_MAX_AGE_SECS}");
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&cache).map_err(|e| FlexError::Internal(e.into()))?,
        )],
        ApiJson(jwks),
    )
        .into_response())
}

/// How long a browser or proxy may keep an app's `/.well-known/webauthn`
/// document: a change of related origins is seen within five minutes.
pub const WELL_KNOWN_WEBAUTHN_MAX_AGE_SECS: u64 = 300;

/// The `/.well-known/webauthn` document of the app's RP ID host (WebAuthn L3
/// §5.11, Related Origin Requests): the app's web origins, then its related
/// origins. Serve it (or proxy this route) at `https://{rp_id}/.well-known/webauthn`
/// with `application/json`. No secret needed; cacheable for five minutes.
#[utoipa::path(get, path = "/v1/apps/{app_id}/well-known-webauthn", tag = "client",
    params(("app_id" = String, Path)),
    responses((status = 200, body = WellKnownWebauthn,
        headers(("cache-control" = String, description = "`public, max-age=300`: a change of related origins is seen within five minutes")))))]
pub async fn well_known_webauthn(Extension(app): Extension<Arc<App>>) -> Response {
    well_known_webauthn_document(&app)
}

/// The answer of an app's `/.well-known/webauthn` document, on either route.
pub fn well_known_webauthn_document(app: &App) -> Response {
    let cache = format!("public, max-age={WELL_KNOWN_WEBAUTHN_MAX_AGE_SECS}");
    (
        [(header::CACHE_CONTROL, cache)],
        ApiJson(WellKnownWebauthn {
            origins: app.well_known_origins(),
        }),
    )
        .into_response()
}
