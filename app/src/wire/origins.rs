//! Related Origin Requests (WebAuthn L3 §5.11): the document an app's RP ID
//! host serves at `/.well-known/webauthn`
//! (`GET /v1/apps/{app_id}/well-known-webauthn`).

use serde::{Deserialize, Serialize};

/// The web origins that may use the app's RP ID: the app's own web origins,
/// then its related origins. Served as is at `https://{rp_id}/.well-known/webauthn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WellKnownWebauthn {
    pub origins: Vec<String>,
}
