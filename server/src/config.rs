//! What a running server needs to know, parsed once at start-up.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use url::Url;

use crate::{
    flex::{clock::Clock, signing::SecretKey, webhooks::WebhookSettings},
    metrics::MetricsToken,
    traffic::{client_ip::TrustedProxies, limits::RateLimitConfig},
};

/// The configuration of `latchkey serve`.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen, as `host:port` (port 0 picks a free one).
    pub listen: String,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The origin the built-in site is served at.
    pub public_url: PublicUrl,
    /// Where the built site's files (`pkg/latchkey.js`, `.wasm`, `.css`) come from.
    pub site: SiteFiles,
    /// The system clock, or a hand-moved one in tests.
    pub clock: Clock,
    pub rate_limits: RateLimitConfig,
    /// How long a request may take, body included, before a 408.
    pub request_timeout: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` name the client.
    pub trusted_proxies: TrustedProxies,
    /// Days the audit log keeps an event (older ones are swept).
    pub event_retention_days: u32,
    /// The bearer token `GET /metrics` asks for; `None`: the endpoint is open.
    pub metrics_token: Option<MetricsToken>,
    /// How webhooks are delivered (`--webhook-allow-private`).
    pub webhooks: WebhookSettings,
    /// The key that seals apps' signing keys (signed results); `serve`
    /// refuses to start without it while any app has signed results on.
    pub secret_key: Option<SecretKey>,
    /// Attestation CA certificates (PEM) trusted besides the bundled ones, for
    /// apps with "attested only" on (`--attestation-ca`).
    pub attestation_ca: Option<String>,
}

/// An origin (`scheme://host[:port]`) with no path, query or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn parse(input: &str) -> anyhow::Result<Self> {
        let url = Url::parse(input).with_context(|| format!("`{input}` is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("`{input}` must start with http:// or https://");
        }
        if url.host_str().is_none() {
            bail!("`{input}` has no host");
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            bail!("`{input}` must be an origin only, such as https://auth.example.com");
        }
        if url.scheme() == "http" && url.host_str() != Some("localhost") {
            bail!("`{input}`: http:// is allowed only for localhost; use https://");
        }
        Ok(Self(url))
    }

    /// The origin as browsers send it: no trailing slash.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The host, which is the default RP ID of the built-in site's app.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

/// Where the built site's files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteFiles {
    /// A folder (`--site-root`, or where cargo-leptos built it).
    Folder(PathBuf),
    /// Inside the binary (`make dist`; `crate::site_files`).
    Embedded,
}

impl SiteFiles {
    /// The folder, if the files are in one.
    pub fn folder(&self) -> Option<&Path> {
        match self {
            Self::Folder(path) => Some(path),
            Self::Embedded => None,
        }
    }
}

/// Where the built site is, when no option says: where cargo-leptos put it,
/// inside the binary (a release from `make dist`), next to the binary (an
/// installed layout, or `target/<profile>/latchkey` beside `target/site`), else
/// `target/site` under the working directory.
pub fn find_site(explicit: Option<PathBuf>) -> SiteFiles {
    if let Some(path) = explicit {
        return SiteFiles::Folder(path);
    }
    // cargo-leptos tells the server where it put the site.
    if let Some(path) = std::env::var_os("LEPTOS_SITE_ROOT") {
        return SiteFiles::Folder(PathBuf::from(path));
    }
    if crate::site_files::embedded().is_some() {
        return SiteFiles::Embedded;
    }
    let beside_binary = std::env::current_exe().ok().and_then(|exe| {
        let dir = exe.parent()?.to_path_buf();
        [dir.join("site"), dir.join("../site")]
            .into_iter()
            .find(|candidate| has_site(candidate))
    });
    SiteFiles::Folder(beside_binary.unwrap_or_else(|| PathBuf::from("target/site")))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

pub fn has_site(dir: &Path) -> bool {
    dir.join("pkg").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_origin_is_accepted() {
        let url = PublicUrl::parse("https://auth.example.com").unwrap();
        assert_eq!(url.origin(), "https://auth.example.com");
        assert_eq!(url.host(), "auth.example.com");
    }

    #[test]
    fn localhost_may_use_http_and_a_port() {
        let url = PublicUrl::parse("http://localhost:3000").unwrap();
        assert_eq!(url.origin(), "http://localhost:3000");
        assert_eq!(url.host(), "localhost");
    }

    #[test]
    fn http_off_localhost_is_refused() {
        assert!(PublicUrl::parse("http://example.com").is_err());
        assert!(PublicUrl::parse("http://127.0.0.1:3000").is_err());
    }

    #[test]
    fn paths_queries_and_other_schemes_are_refused() {
        for bad in [
            "https://example.com/app",
            "https://example.com/?a=1",
            "ftp://example.com",
            "example.com",
            "",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
