//! What an app is created with: its origins, RP ID, and the lifetimes of its
//! ceremony pieces, each parsed and checked against its bounds.

use url::Url;

use super::AuthenticatorPolicy;
use crate::flex::{ids::DisplayName, FlexError};

/// Defaults PASSAGE-COMPAT.md gives: a transaction lives 5 minutes, a handshake
/// as long as the WebAuthn timeout, a nonce 60 seconds.
pub const DEFAULT_WEBAUTHN_TIMEOUT_MS: i64 = 5 * 60 * 1000;
pub const DEFAULT_TRANSACTION_TTL_MS: i64 = 5 * 60 * 1000;
pub const DEFAULT_NONCE_TTL_MS: i64 = 60 * 1000;
/// How many passkeys one user may hold in an app, unless the app says otherwise.
pub const DEFAULT_MAX_PASSKEYS_PER_USER: i64 = 20;
/// The bounds `apps create --max-passkeys` accepts.
pub const MAX_PASSKEYS_PER_USER_BOUNDS: (u64, u64) = (1, 100);

/// An origin a passkey ceremony may come from: `https://host[:port]`,
/// `http://localhost[:port]` or `http://*.localhost[:port]` (loopback, for
/// development), or an Android app's origin (`android:apk-key-hash:` and the
/// base64url SHA-256 of its signing certificate: 43 characters, no padding,
/// as Android sends it). Compared exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(text: &str) -> Result<Self, FlexError> {
        let text = text.trim();
        if let Some(hash) = text.strip_prefix("android:apk-key-hash:") {
            let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            if hash.len() != ANDROID_KEY_HASH_LEN || !hash.chars().all(base64url) {
                return Err(FlexError::invalid(format!(
                    "origin `{text}`: the key hash must be the base64url SHA-256 of the app's \
                     signing certificate (43 characters of A-Z a-z 0-9 - _, no padding)"
                )));
            }
            return Ok(Self(text.to_owned()));
        }
        let url = Url::parse(text)
            .map_err(|_| FlexError::invalid(format!("origin `{text}` is not a URL")))?;
        let host = url
            .host_str()
            .ok_or_else(|| FlexError::invalid(format!("origin `{text}` has no host")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_name(host) => {}
            "http" => {
                return Err(FlexError::invalid(format!(
                    "origin `{text}`: http:// is allowed only for localhost and *.localhost"
                )))
            }
            _ => {
                return Err(FlexError::invalid(format!(
                    "origin `{text}` must be https://, http://localhost or android:apk-key-hash:"
                )))
            }
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(FlexError::invalid(format!(
                "origin `{text}` must be scheme://host[:port] only"
            )));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host of a web origin; `None` for a native app's origin.
    pub fn host(&self) -> Option<String> {
        if self.0.starts_with("android:") {
            return None;
        }
        Url::parse(&self.0).ok()?.host_str().map(str::to_owned)
    }
}

/// The length of an Android origin's key hash: 32 bytes in base64url, unpadded.
const ANDROID_KEY_HASH_LEN: usize = 43;

/// `localhost` and names under it, which browsers treat as loopback (secure).
fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Browsers promise to honour related origins of at least this many distinct
/// registrable labels (WebAuthn L3 §5.11.1); Latchkey takes no more.
pub const MAX_RELATED_ORIGIN_LABELS: usize = 5;

/// The registrable label of a host: the label left of its public suffix
/// (`shop.example.co.uk` → `example`, `b.localhost` → `b`), as browsers count
/// related origins. Without the Public Suffix List this is an approximation:
/// the suffix is the last label, or the last two where they look like a
/// country's second level (`co.uk`, `com.au`, `ac.jp`: a short generic label
/// then a two-letter country code). Hosts under a private suffix of the list
/// (`github.io`) count as that suffix's label, so never more than a browser.
pub fn registrable_label(host: &str) -> String {
    const SECOND_LEVELS: [&str; 10] = [
        "co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go",
    ];
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    let country_second_level =
        n >= 3 && labels[n - 1].len() == 2 && SECOND_LEVELS.contains(&labels[n - 2]);
    let index = match (n, country_second_level) {
        (1, _) => 0,
        (_, true) => n - 3,
        _ => n - 2,
    };
    labels[index].to_ascii_lowercase()
}

/// How long an app's ceremony pieces live, in milliseconds. A handshake lives
/// as long as the WebAuthn timeout the browser is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub webauthn_timeout_ms: i64,
    pub transaction_ttl_ms: i64,
    pub nonce_ttl_ms: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            webauthn_timeout_ms: DEFAULT_WEBAUTHN_TIMEOUT_MS,
            transaction_ttl_ms: DEFAULT_TRANSACTION_TTL_MS,
            nonce_ttl_ms: DEFAULT_NONCE_TTL_MS,
        }
    }
}

impl Lifetimes {
    /// From seconds, each optional (the default where absent) and within bounds
    /// that keep ceremonies usable and secrets short-lived.
    pub fn parse(
        webauthn_timeout_secs: Option<u64>,
        transaction_ttl_secs: Option<u64>,
        nonce_ttl_secs: Option<u64>,
    ) -> Result<Self, FlexError> {
        fn within(
            name: &str,
            secs: Option<u64>,
            default_ms: i64,
            min: u64,
            max: u64,
        ) -> Result<i64, FlexError> {
            match secs {
                None => Ok(default_ms),
                Some(secs) if (min..=max).contains(&secs) => Ok(secs as i64 * 1000),
                Some(secs) => Err(FlexError::invalid(format!(
                    "{name} must be from {min} to {max} seconds, not {secs}"
                ))),
            }
        }
        Ok(Self {
            webauthn_timeout_ms: within(
                "the WebAuthn timeout",
                webauthn_timeout_secs,
                DEFAULT_WEBAUTHN_TIMEOUT_MS,
                30,
                1800,
            )?,
            transaction_ttl_ms: within(
                "the transaction lifetime",
                transaction_ttl_secs,
                DEFAULT_TRANSACTION_TTL_MS,
                10,
                3600,
            )?,
            nonce_ttl_ms: within(
                "the nonce lifetime",
                nonce_ttl_secs,
                DEFAULT_NONCE_TTL_MS,
                5,
                600,
            )?,
        })
    }
}

/// What `apps create` takes.
#[derive(Clone, Debug)]
pub struct NewApp {
    pub name: DisplayName,
    pub origins: Vec<Origin>,
    /// Web origins outside the RP ID whose ceremonies are accepted too
    /// (Related Origin Requests): the RP ID's host lists them at
    /// `/.well-known/webauthn`.
    pub related_origins: Vec<Origin>,
    pub rp_id: String,
    pub lifetimes: Lifetimes,
    pub max_passkeys_per_user: i64,
    /// A signed JWT beside the nonce of each finish (off unless asked for).
    pub signed_results: bool,
    /// Which authenticators may register a passkey (any, unless set).
    pub policy: AuthenticatorPolicy,
}

impl NewApp {
    /// Checks that there is at least one web origin and that every web origin's
    /// host is the RP ID or under it. The RP ID defaults to the first web
    /// origin's host.
    pub fn parse(name: &str, origins: &[String], rp_id: Option<&str>) -> Result<Self, FlexError> {
        let name = DisplayName::parse("name", name)?;
        let origins = origins
            .iter()
            .map(|o| Origin::parse(o))
            .collect::<Result<Vec<_>, _>>()?;
        let first_host = origins.iter().find_map(Origin::host).ok_or_else(|| {
            FlexError::invalid("an app needs at least one https:// (or http://localhost) origin")
        })?;
        let rp_id = rp_id.map(str::to_ascii_lowercase).unwrap_or(first_host);
        if rp_id.is_empty() || rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(FlexError::invalid(
                "the RP ID must be a domain name, not an IP address",
            ));
        }
        for origin in &origins {
            if let Some(host) = origin.host() {
                if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
                    return Err(FlexError::invalid(format!(
                        "origin `{}` is not within the RP ID `{rp_id}`",
                        origin.as_str()
                    )));
                }
            }
        }
        Ok(Self {
            name,
            origins,
            related_origins: Vec::new(),
            rp_id,
            lifetimes: Lifetimes::default(),
            max_passkeys_per_user: DEFAULT_MAX_PASSKEYS_PER_USER,
            signed_results: false,
            policy: AuthenticatorPolicy::default(),
        })
    }

    /// With these related origins (replacing any), each a web origin
    /// (https://, or http:// for localhost and *.localhost) outside the RP ID,
    /// not one of the app's origins, none twice, of at most
    /// `MAX_RELATED_ORIGIN_LABELS` (5) registrable labels.
    pub fn with_related_origins(self, related: &[String]) -> Result<Self, FlexError> {
        let mut parsed: Vec<Origin> = Vec::new();
        for text in related {
            let origin = Origin::parse(text)?;
            let Some(host) = origin.host() else {
                return Err(FlexError::invalid(format!(
                    "related origin `{text}` is not a web origin: an app's own origins take \
                     native apps"
                )));
            };
            if self.origins.contains(&origin) {
                return Err(FlexError::invalid(format!(
                    "related origin `{}` is one of the app's origins already",
                    origin.as_str()
                )));
            }
            if host == self.rp_id || host.ends_with(&format!(".{}", self.rp_id)) {
                return Err(FlexError::invalid(format!(
                    "related origin `{}` is within the RP ID `{}`: make it one of the app's \
                     origins instead",
                    origin.as_str(),
                    self.rp_id
                )));
            }
            if parsed.contains(&origin) {
                return Err(FlexError::invalid(format!(
                    "related origin `{}` is given twice",
                    origin.as_str()
                )));
            }
            parsed.push(origin);
        }
        let mut labels: Vec<String> = parsed
            .iter()
            .filter_map(Origin::host)
            .map(|host| registrable_label(&host))
            .collect();
        labels.sort();
        labels.dedup();
        if labels.len() > MAX_RELATED_ORIGIN_LABELS {
            return Err(FlexError::invalid(format!(
                "related origins may span at most {MAX_RELATED_ORIGIN_LABELS} registrable \
                 labels (browsers honour no more), not {}: {}",
                labels.len(),
                labels.join(", ")
            )));
        }
        Ok(Self {
            related_origins: parsed,
            ..self
        })
    }

    pub fn with_policy(self, policy: AuthenticatorPolicy) -> Self {
        Self { policy, ..self }
    }

    pub fn with_lifetimes(self, lifetimes: Lifetimes) -> Self {
        Self { lifetimes, ..self }
    }

    pub fn with_signed_results(self, signed_results: bool) -> Self {
        Self {
            signed_results,
            ..self
        }
    }

    /// At most this many passkeys per user (the default where absent), within bounds.
    pub fn with_max_passkeys(self, max: Option<u64>) -> Result<Self, FlexError> {
        let (min, most) = MAX_PASSKEYS_PER_USER_BOUNDS;
        let max_passkeys_per_user = match max {
            None => DEFAULT_MAX_PASSKEYS_PER_USER,
            Some(max) if (min..=most).contains(&max) => max as i64,
            Some(max) => {
                return Err(FlexError::invalid(format!(
                    "the passkeys per user must be from {min} to {most}, not {max}"
                )))
            }
        };
        Ok(Self {
            max_passkeys_per_user,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SHA-256 in base64url, as an Android origin carries it.
    const KEY_HASH: &str = "lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0";

    fn origins(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_are_exact_web_origins_or_native_app_origins() {
        assert_eq!(
            Origin::parse("https://example.com").unwrap().as_str(),
            "https://example.com"
        );
        assert_eq!(
            Origin::parse("https://example.com:8443/").unwrap().as_str(),
            "https://example.com:8443"
        );
        assert_eq!(
            Origin::parse("http://localhost:3000").unwrap().as_str(),
            "http://localhost:3000"
        );
        assert!(Origin::parse(&format!("android:apk-key-hash:{KEY_HASH}")).is_ok());
        assert_eq!(
            Origin::parse("http://b.localhost:3200").unwrap().as_str(),
            "http://b.localhost:3200"
        );
        for bad in [
            "http://example.com",
            "http://localhost.example.com",
            "android:apk-key-hash:abc123",
            "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0=",
            "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQ+/",
            "http://127.0.0.1:3000",
            "https://example.com/login",
            "ftp://example.com",
            "null",
            "",
            "android:apk-key-hash:",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn lifetimes_default_as_documented_and_stay_within_bounds() {
        let default = Lifetimes::parse(None, None, None).unwrap();
        assert_eq!(default, Lifetimes::default());
        assert_eq!(default.nonce_ttl_ms, 60_000);
        assert_eq!(
            Lifetimes::parse(Some(120), Some(60), Some(30))
                .unwrap()
                .webauthn_timeout_ms,
            120_000
        );
        assert!(Lifetimes::parse(Some(5), None, None).is_err());
        assert!(Lifetimes::parse(None, Some(86_400), None).is_err());
        assert!(Lifetimes::parse(None, None, Some(0)).is_err());
    }

    #[test]
    fn the_passkey_cap_defaults_to_20_and_stays_within_bounds() {
        let app = || NewApp::parse("Shop", &origins(&["https://example.com"]), None).unwrap();
        assert_eq!(app().max_passkeys_per_user, 20);
        assert_eq!(
            app().with_max_passkeys(None).unwrap().max_passkeys_per_user,
            20
        );
        assert_eq!(
            app()
                .with_max_passkeys(Some(2))
                .unwrap()
                .max_passkeys_per_user,
            2
        );
        assert!(app().with_max_passkeys(Some(0)).is_err());
        assert!(app().with_max_passkeys(Some(101)).is_err());
    }

    #[test]
    fn the_rp_id_defaults_to_the_first_origin_host_and_must_cover_every_origin() {
        let app = NewApp::parse(
            "Shop",
            &[
                "https://shop.example.com".to_owned(),
                format!("android:apk-key-hash:{KEY_HASH}"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(app.rp_id, "shop.example.com");
        let app = NewApp::parse(
            "Shop",
            &origins(&["https://shop.example.com", "https://www.example.com"]),
            Some("example.com"),
        )
        .unwrap();
        assert_eq!(app.rp_id, "example.com");
        assert!(NewApp::parse(
            "Shop",
            &origins(&["https://evil-example.com"]),
            Some("example.com")
        )
        .is_err());
        assert!(
            NewApp::parse("Shop", &[format!("android:apk-key-hash:{KEY_HASH}")], None).is_err()
        );
        assert!(NewApp::parse("", &origins(&["https://example.com"]), None).is_err());
    }

    #[test]
    fn registrable_labels_are_approximated_without_the_public_suffix_list() {
        assert_eq!(registrable_label("shop.example.co.uk"), "example");
        assert_eq!(registrable_label("example.com"), "example");
        assert_eq!(registrable_label("www.Example.com"), "example");
        assert_eq!(registrable_label("b.localhost"), "b");
        assert_eq!(registrable_label("localhost"), "localhost");
        assert_eq!(registrable_label("shop.example.com.au"), "example");
    }

    #[test]
    fn related_origins_are_web_origins_outside_the_rp_id_of_at_most_five_labels() {
        let app = || NewApp::parse("Shop", &origins(&["https://example.com"]), None).unwrap();
        let related = app()
            .with_related_origins(&origins(&[
                "https://example.co.uk",
                "https://shop.example.co.uk/",
                "http://b.localhost:3200",
            ]))
            .unwrap()
            .related_origins;
        assert_eq!(
            related.iter().map(Origin::as_str).collect::<Vec<_>>(),
            [
                "https://example.co.uk",
                "https://shop.example.co.uk",
                "http://b.localhost:3200"
            ]
        );
        let five = ["a", "b", "c", "d", "e"].map(|l| format!("https://{l}.test"));
        assert!(app().with_related_origins(&five).is_ok());
        let six: Vec<String> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|l| format!("https://www.{l}.test"))
            .collect();
        assert!(app().with_related_origins(&six).is_err());
        for bad in [
            "http://example.org",
            "https://example.org/login",
            "https://example.com",
            "https://www.example.com",
            "android:apk-key-hash:lhnU7x0nSAbwr2oLcZJrKGl8yZsJk3GBGZz3F6OuQE0",
            "not a url",
        ] {
            assert!(
                app().with_related_origins(&origins(&[bad])).is_err(),
                "{bad} was accepted"
            );
        }
        assert!(app()
            .with_related_origins(&origins(&["https://example.org", "https://example.org/"]))
            .is_err());
    }
}
