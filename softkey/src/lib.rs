//! A software WebAuthn authenticator: real P-256 keys, real CBOR attestation
//! objects (`fmt: "none"`, or `packed` with an x5c chain or self attestation:
//! [`Attestation`]), real ECDSA assertions. It answers the options a
//! relying party sends (as JSON, the way `navigator.credentials.create/get` take
//! them) with the JSON a browser would send back.
//!
//! Every field that a relying party must check can be set wrong on purpose
//! (`Authenticator`'s public fields and `Ceremony`), so tests can make each
//! negative case from real keys instead of faking the verifier.
#![forbid(unsafe_code)]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ciborium::Value as Cbor;
use p256::ecdsa::{signature::Signer, DerSignature, SigningKey, VerifyingKey};
use rand::{rngs::OsRng, RngCore};
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// The AAGUID this authenticator reports unless told otherwise (all zero: "unknown").
pub const ZERO_AAGUID: [u8; 16] = [0; 16];

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}

/// One credential the authenticator holds.
#[derive(Clone)]
pub struct Credential {
    pub id: Vec<u8>,
    pub key: SigningKey,
    pub rp_id: String,
    pub user_handle: Vec<u8>,
    pub counter: u32,
    /// `key` as ring's signer, made on first use and remade if `key` changes:
    /// RustCrypto's p256 0.13 has no precomputed base-point tables and signs
    /// several times slower than ring, which a load generator pays per sign-in.
    fast: Option<(p256::FieldBytes, Arc<EcdsaKeyPair>)>,
}

impl Credential {
    /// An ES256 signature (ASN.1 DER) of `message` with `key`.
    fn sign(&mut self, message: &[u8]) -> Vec<u8> {
        let secret = self.key.to_bytes();
        if !matches!(&self.fast, Some((made_from, _)) if *made_from == secret) {
            let public = self.key.verifying_key().to_encoded_point(false);
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                &secret,
                public.as_bytes(),
                &SystemRandom::new(),
            )
            .expect("a P-256 key ring accepts");
            self.fast = Some((secret, Arc::new(pair)));
        }
        let (_, pair) = self.fast.as_ref().expect("made above");
        pair.sign(&SystemRandom::new(), message)
            .expect("ring signs")
            .as_ref()
            .to_vec()
    }
}

/// What the authenticator claims about the user and itself in the flags byte.
#[derive(Clone, Copy, Debug)]
pub struct Flags {
    pub user_present: bool,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

impl Default for Flags {
    /// A synced passkey: present, verified, backup eligible and backed up.
    fn default() -> Self {
        Self {
            user_present: true,
            user_verified: true,
            backup_eligible: true,
            backup_state: true,
        }
    }
}

impl Flags {
    fn byte(self) -> u8 {
        let mut flags = 0;
        if self.user_present {
            flags |= UP;
        }
        if self.user_verified {
            flags |= UV;
        }
        if self.backup_eligible {
            flags |= BE;
        }
        if self.backup_state {
            flags |= BS;
        }
        flags
    }
}

/// Per-ceremony overrides, each defaulting to the honest value.
#[derive(Clone, Debug, Default)]
pub struct Ceremony {
    /// `clientDataJSON.type` (default `webauthn.create` / `webauthn.get`).
    pub client_data_type: Option<String>,
    /// The RP ID whose hash goes into the authenticator data (default the options' RP ID).
    pub rp_id: Option<String>,
    /// The COSE algorithm written into a new credential's public key (default -7, ES256).
    pub cose_algorithm: Option<i64>,
    /// The user handle sent with an assertion (default the credential's).
    pub user_handle: Option<Vec<u8>>,
    /// Sign the assertion with this key instead of the credential's.
    pub signing_key: Option<SigningKey>,
    /// Register credential `n` again (its id and key) instead of making a new one.
    pub reuse_credential: Option<usize>,
}

/// The attestation statement a new credential comes with.
#[derive(Clone, Debug, Default)]
pub enum Attestation {
    /// `fmt: "none"`, an empty statement (what passkey providers send).
    #[default]
    None,
    /// `fmt: "packed"` signed by the credential's own key, no certificate.
    SelfAttestation,
    /// `fmt: "packed"` signed by an attestation key, with its certificate
    /// chain (DER, leaf first) in `x5c`, as security keys send it.
    Packed { key: SigningKey, x5c: Vec<Vec<u8>> },
}

pub struct Authenticator {
    pub aaguid: [u8; 16],
    pub flags: Flags,
    pub credentials: Vec<Credential>,
    pub attestation: Attestation,
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    pub fn new() -> Self {
        Self {
            aaguid: ZERO_AAGUID,
            flags: Flags::default(),
            credentials: Vec::new(),
            attestation: Attestation::None,
        }
    }

    /// An authenticator that attests new credentials so.
    pub fn with_attestation(mut self, attestation: Attestation) -> Self {
        self.attestation = attestation;
        self
    }

    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Answers `PublicKeyCredentialCreationOptions` (the `publicKey` object, as
    /// JSON with base64url binary fields) from `origin`: a new credential and the
    /// `RegistrationResponseJSON` a browser would send.
    pub fn register(&mut self, origin: &str, options: &Value) -> Value {
        self.register_with(origin, options, &Ceremony::default())
    }

    pub fn register_with(&mut self, origin: &str, options: &Value, ceremony: &Ceremony) -> Value {
        let rp_id = options["rp"]["id"]
            .as_str()
            .expect("options.rp.id")
            .to_owned();
        let user_handle = unb64(options["user"]["id"].as_str().expect("options.user.id"));
        let challenge = options["challenge"].as_str().expect("options.challenge");

        let (key, id) = match ceremony.reuse_credential {
            Some(n) => (
                self.credentials[n].key.clone(),
                self.credentials[n].id.clone(),
            ),
            None => {
                let mut id = vec![0; 32];
                OsRng.fill_bytes(&mut id);
                (SigningKey::random(&mut OsRng), id)
            }
        };

        let client_data = client_data(
            ceremony
                .client_data_type
                .as_deref()
                .unwrap_or("webauthn.create"),
            challenge,
            origin,
        );
        let mut auth_data = authenticator_data(
            ceremony.rp_id.as_deref().unwrap_or(&rp_id),
            self.flags.byte() | AT,
            0,
        );
        auth_data.extend_from_slice(&self.aaguid);
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key(
            key.verifying_key(),
            ceremony.cose_algorithm.unwrap_or(-7),
        ));
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let sign = |key: &SigningKey| {
            let signature: DerSignature = key.sign(&signed);
            signature.as_bytes().to_vec()
        };
        let alg = || (Cbor::Text("alg".into()), Cbor::Integer((-7).into()));
        let (fmt, statement) = match &self.attestation {
            Attestation::None => ("none", vec![]),
            Attestation::SelfAttestation => (
                "packed",
                vec![alg(), (Cbor::Text("sig".into()), Cbor::Bytes(sign(&key)))],
            ),
            Attestation::Packed { key, x5c } => (
                "packed",
                vec![
                    alg(),
                    (Cbor::Text("sig".into()), Cbor::Bytes(sign(key))),
                    (
                        Cbor::Text("x5c".into()),
                        Cbor::Array(x5c.iter().cloned().map(Cbor::Bytes).collect()),
                    ),
                ],
            ),
        };
        let attestation_object = cbor(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text(fmt.into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(statement)),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));

        self.credentials.push(Credential {
            id: id.clone(),
            key,
            rp_id,
            user_handle,
            counter: 0,
            fast: None,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "attestationObject": b64(&attestation_object),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers `PublicKeyCredentialRequestOptions`: picks a credential from
    /// `allowCredentials`, or (discoverable sign-in) the newest for the RP ID.
    pub fn authenticate(&mut self, origin: &str, options: &Value) -> Value {
        self.authenticate_with(origin, options, &Ceremony::default())
    }

    pub fn authenticate_with(
        &mut self,
        origin: &str,
        options: &Value,
        ceremony: &Ceremony,
    ) -> Value {
        let rp_id = options["rpId"].as_str().expect("options.rpId").to_owned();
        let allowed: Vec<Vec<u8>> = options["allowCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| unb64(c["id"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        let index = self
            .credentials
            .iter()
            .rposition(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))
            .expect("the authenticator holds a credential for this request");
        self.assert_with(index, origin, options, ceremony)
    }

    /// Signs an assertion with credential `index`, whatever the options allow.
    pub fn assert_with(
        &mut self,
        index: usize,
        origin: &str,
        options: &Value,
        ceremony: &Ceremony,
    ) -> Value {
        let flags = self.flags.byte();
        let credential = &mut self.credentials[index];
        credential.counter += 1;
        let challenge = options["challenge"].as_str().expect("options.challenge");
        let client_data = client_data(
            ceremony
                .client_data_type
                .as_deref()
                .unwrap_or("webauthn.get"),
            challenge,
            origin,
        );
        let auth_data = authenticator_data(
            ceremony.rp_id.as_deref().unwrap_or(&credential.rp_id),
            flags,
            credential.counter,
        );
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature = match &ceremony.signing_key {
            Some(key) => {
                let signature: DerSignature = key.sign(&signed);
                signature.as_bytes().to_vec()
            }
            None => credential.sign(&signed),
        };
        let user_handle = ceremony
            .user_handle
            .as_ref()
            .unwrap_or(&credential.user_handle);
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "authenticatorData": b64(&auth_data),
                "signature": b64(&signature),
                "userHandle": b64(user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> String {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
        .to_string()
}

fn authenticator_data(rp_id: &str, flags: u8, counter: u32) -> Vec<u8> {
    let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    data
}

/// A P-256 public key as a COSE_Key (CBOR, as attested credential data carries it).
pub fn cose_key(key: &VerifyingKey, algorithm: i64) -> Vec<u8> {
    let point = key.to_encoded_point(false);
    cbor(&Cbor::Map(vec![
        (Cbor::Integer(1.into()), Cbor::Integer(2.into())), // kty: EC2
        (Cbor::Integer(3.into()), Cbor::Integer(algorithm.into())),
        (Cbor::Integer((-1).into()), Cbor::Integer(1.into())), // crv: P-256
        (
            Cbor::Integer((-2).into()),
            Cbor::Bytes(point.x().unwrap().to_vec()),
        ),
        (
            Cbor::Integer((-3).into()),
            Cbor::Bytes(point.y().unwrap().to_vec()),
        ),
    ]))
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR encodes into a Vec");
    out
}
