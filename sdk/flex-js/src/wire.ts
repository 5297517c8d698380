// The client API's JSON (browser to Latchkey), field for field as the server
// declares it in app/src/wire/client.rs; the WebAuthn options and responses,
// `serde_json::Value` there, are the browser's own JSON types here.

/** `POST /register/transactions/webauthn/start` */
export interface RegisterStartRequest {
  transaction_id: string;
  /** `platform`, `cross-platform` or `any` (the server's default when absent). */
  authenticator_attachment?: string;
}

/** `POST /authenticate/transactions/webauthn/start` */
export interface AuthenticateStartRequest {
  /** Absent for a discoverable (one-click or autofill) sign-in. */
  transaction_id?: string;
}

/** The answer to both starts. */
export interface HandshakeResponse<Options> {
  handshake: HandshakeBody<Options>;
}

export interface HandshakeBody<Options> {
  id: string;
  challenge: Challenge<Options>;
}

/** What `navigator.credentials.create()` or `.get()` is asked, as JSON (binary fields base64url). */
export interface Challenge<Options> {
  publicKey: Options;
}

/** `POST /register/transactions/webauthn/finish` */
export interface RegisterFinishRequest {
  transaction_id: string;
  handshake_id: string;
  handshake_response: RegistrationResponseJSON;
}

/** `POST /authenticate/transactions/webauthn/finish` */
export interface AuthenticateFinishRequest {
  transaction_id?: string;
  handshake_id: string;
  handshake_response: AuthenticationResponseJSON;
}

/** The answer to both finishes: the nonce the app's backend verifies. */
export interface NonceResponse {
  nonce: string;
  /** A sign-in's: what the Signal API takes (Latchkey's addition). */
  signals?: WebauthnSignals;
}

/** A user's passkeys and names, as the WebAuthn Signal API takes them. */
export interface WebauthnSignals {
  rp_id: string;
  /** The user handle (base64url). */
  user_id: string;
  /** Every credential id (base64url) the user still has in the app. */
  all_accepted_credential_ids: string[];
  name: string;
  display_name: string;
}

/** The body of every error (app/src/wire/mod.rs). */
export interface ErrorBody {
  /** A stable code to branch on. */
  code: string;
  /** What went wrong, for people. */
  error: string;
  /** With `credential_not_found` only: the passkey the app does not know (base64url). */
  credential_id?: string;
}
