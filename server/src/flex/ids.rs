//! Identifiers and secrets, parsed rather than validated.
//!
//! Public ids (`AppId`, `DeviceId`, `ApiKeyId`) carry 128 random bits; bearer
//! secrets (`TransactionId`, `HandshakeId`, `Nonce`, `ApiKey`) carry 256, are
//! stored only as SHA-256 hashes, and never print (their `Debug` is redacted).

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::FlexError;

/// `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

fn is_token(text: &str, bytes: usize) -> bool {
    text.len() == (bytes * 4).div_ceil(3)
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `bytes` random bytes in lower-case hex: for public ids, which people copy and
/// pass on command lines (base64url could start with `-`).
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0; bytes];
    OsRng.fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_hex(text: &str, bytes: usize) -> bool {
    text.len() == bytes * 2 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// SHA-256, the form in which secrets are stored and looked up.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

macro_rules! token {
    ($(#[$doc:meta])* $name:ident, bytes = $bytes:expr, prefix = $prefix:expr, secret = $secret:expr,
     make = $make:ident, check = $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, $make($bytes)))
            }

            /// `None` unless `text` has exactly the shape this id is generated in.
            pub fn parse(text: &str) -> Option<Self> {
                let body = text.strip_prefix($prefix)?;
                $check(body, $bytes).then(|| Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn hash(&self) -> Vec<u8> {
                hash(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $secret {
                    write!(f, concat!(stringify!($name), "(…)"))
                } else {
                    write!(f, concat!(stringify!($name), "({})"), self.0)
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $secret {
                    f.write_str("…")
                } else {
                    f.write_str(&self.0)
                }
            }
        }
    };
}

token!(
    /// An app, public (it is in the client API's paths).
    AppId, bytes = 16, prefix = "", secret = false, make = random_hex, check = is_hex
);
token!(
    /// A passkey ("device" in Passage's API).
    DeviceId, bytes = 16, prefix = "", secret = false, make = random_hex, check = is_hex
);
token!(
    /// A console invite's or session's bearer secret, shown once.
    ConsoleToken,
    bytes = 32,
    prefix = "",
    secret = true,
    make = random_token,
    check = is_token
);
token!(
    /// An event of the audit log.
    EventId, bytes = 16, prefix = "evt_", secret = false, make = random_hex, check = is_hex
);
token!(
    /// A webhook endpoint of an app.
    WebhookId, bytes = 16, prefix = "wh_", secret = false, make = random_hex, check = is_hex
);
token!(
    /// An app's signing key (`kid` in its tokens and its JWKS), public.
    SigningKeyId, bytes = 16, prefix = "kid_", secret = false, make = random_hex, check = is_hex
);
token!(
    /// An API key's public handle, for listing and revoking.
    ApiKeyId, bytes = 16, prefix = "", secret = false, make = random_hex, check = is_hex
);
token!(
    /// An API key: the management API's bearer secret, shown once.
    ApiKey, bytes = 32, prefix = "lk_", secret = true, make = random_token, check = is_token
);
token!(
    TransactionId,
    bytes = 32,
    prefix = "",
    secret = true,
    make = random_token,
    check = is_token
);
token!(
    HandshakeId,
    bytes = 32,
    prefix = "",
    secret = true,
    make = random_token,
    check = is_token
);
token!(
    Nonce,
    bytes = 32,
    prefix = "",
    secret = true,
    make = random_token,
    check = is_token
);

/// The app's own key for a user: any non-blank text up to 255 characters,
/// without control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(text: &str) -> Result<Self, FlexError> {
        if text.trim().is_empty() {
            return Err(FlexError::invalid("external_id is required"));
        }
        if text.chars().count() > 255 || text.chars().any(char::is_control) {
            return Err(FlexError::invalid(
                "external_id must be at most 255 characters, without control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name people read: a passkey's display or friendly name, an app's name.
/// Trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, text: &str) -> Result<Self, FlexError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FlexError::invalid(format!("{field} is required")));
        }
        if trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
            return Err(FlexError::invalid(format!(
                "{field} must be at most 100 characters, without control characters"
            )));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_carry_enough_randomness() {
        let nonce = Nonce::generate();
        assert_eq!(nonce.as_str().len(), 43); // 256 bits
        assert_eq!(Nonce::parse(nonce.as_str()), Some(nonce.clone()));
        assert_ne!(Nonce::generate(), nonce);
        let app = AppId::generate();
        assert_eq!(app.as_str().len(), 32); // 128 bits, hex
        assert!(!app.as_str().starts_with('-'));
        assert_eq!(AppId::parse(app.as_str()), Some(app));
        assert_eq!(AppId::parse(&"A".repeat(32)), None);
        let key = ApiKey::generate();
        assert!(key.as_str().starts_with("lk_"));
        assert!(ApiKey::parse(key.as_str()).is_some());
    }

    #[test]
    fn ids_of_the_wrong_shape_do_not_parse() {
        let nonce = Nonce::generate();
        for bad in [
            "",
            "short",
            &nonce.as_str()[1..],
            &format!("{}x", nonce.as_str()),
            &nonce
                .as_str()
                .replace(|c: char| c.is_ascii_alphabetic(), "+"),
        ] {
            assert_eq!(Nonce::parse(bad), None, "{bad}");
        }
        assert_eq!(ApiKey::parse(&ApiKey::generate().as_str()[3..]), None);
    }

    #[test]
    fn secrets_never_print() {
        let nonce = Nonce::generate();
        assert_eq!(format!("{nonce:?}"), "Nonce(…)");
        assert!(!format!("{nonce}").contains(nonce.as_str()));
        let app = AppId::generate();
        assert!(format!("{app:?}").contains(app.as_str()));
    }

    #[test]
    fn external_ids_and_names_are_checked() {
        assert!(ExternalId::parse("user-42").is_ok());
        assert!(ExternalId::parse("").is_err());
        assert!(ExternalId::parse("  ").is_err());
        assert!(ExternalId::parse("a\nb").is_err());
        assert!(ExternalId::parse(&"x".repeat(256)).is_err());
        assert_eq!(
            DisplayName::parse("name", "  Work laptop ")
                .unwrap()
                .as_str(),
            "Work laptop"
        );
        assert!(DisplayName::parse("name", "").is_err());
        assert!(DisplayName::parse("name", &"x".repeat(101)).is_err());
    }
}
