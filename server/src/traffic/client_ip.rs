//! Who is asking: the client's IP address, found once per request.
//!
//! By default the client is the socket peer. Behind a reverse proxy every peer
//! is the proxy, so `--trusted-proxy CIDR` names the proxies: only when the
//! peer is one of them is `X-Forwarded-For` believed (or, when a request has
//! none, `Forwarded: for=`). The client is then the right-most address that is
//! not itself a trusted proxy: every address left of it was written by someone
//! we do not trust, and may be forged. Anything unreadable stops the walk at
//! the last proxy we trust.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    str::FromStr,
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header::FORWARDED, HeaderMap},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

/// The client's IP address, in the extensions of every request (put there by
/// [`middleware`]). Per-IP limits key on it and logs may name it; read it with
/// `Extension<ClientIp>` or `request.extensions().get::<ClientIp>()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The reverse proxies whose forwarding headers are believed (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// One `--trusted-proxy` value: a CIDR (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map(|net| net.trunc())
        .map_err(|_| {
            format!("`{text}` is not a CIDR such as 10.0.0.0/8 or fd00::/8, nor an IP address")
        })
}

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks.into())
    }

    /// Parses each value with [`parse_cidr`].
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, String> {
        values
            .iter()
            .map(|value| parse_cidr(value.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_for(headers).iter().rev() {
            match parse_hop(hop) {
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// The forwarded-for chain, left (the first client) to right (the last proxy):
/// every `X-Forwarded-For` header in order, else the `for=` of every `Forwarded`.
fn forwarded_for(headers: &HeaderMap) -> Vec<String> {
    let list = |name: &str| -> Vec<String> {
        let values = headers.get_all(name).iter();
        let text: Vec<String> = values
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        text.iter()
            .flat_map(|value| value.split(','))
            .map(str::to_owned)
            .collect()
    };
    let x_forwarded_for = list("x-forwarded-for");
    if !x_forwarded_for.is_empty() {
        return x_forwarded_for;
    }
    list(FORWARDED.as_str())
        .iter()
        .map(|element| {
            element
                .split(';')
                .find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
                // An element without `for=` still is a hop, of an unknown client.
                .unwrap_or_default()
        })
        .collect()
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let bare = hop
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(hop);
    let ip = IpAddr::from_str(bare)
        .ok()
        .or_else(|| SocketAddr::from_str(hop).ok().map(|addr| addr.ip()))?;
    Some(ip.to_canonical())
}

/// Puts the [`ClientIp`] of every request into its extensions. A request with
/// no socket address (none is served so) counts as 0.0.0.0.
pub async fn middleware(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = trusted.client_ip(peer, request.headers());
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn trusting(cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(cidrs).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.8"),
        ]);
        assert_eq!(
            TrustedProxies::default().client_ip(ip("198.51.100.1"), &spoofed),
            ip("198.51.100.1")
        );
        // A proxy is trusted, but this peer is not it.
        assert_eq!(
            trusting(&["10.0.0.0/8"]).client_ip(ip("198.51.100.1"), &spoofed),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn from_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let proxies = trusting(&["10.0.0.0/8", "192.0.2.10"]);
        // The client forged the first entry; the proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.1.2.3")]);
        assert_eq!(
            proxies.client_ip(ip("192.0.2.10"), &chain),
            ip("203.0.113.7")
        );
        // Several headers are one list, in order.
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.7,10.1.2.3"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &split), ip("203.0.113.7"));
        // Every hop trusted: the left-most is the client.
        let inside = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.2.3")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &inside), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_hops_ports_and_mapped_addresses_are_read() {
        let proxies = trusting(&["fd00::/8", "127.0.0.1/32"]);
        let chain = headers(&[("x-forwarded-for", "2001:db8::1, fd00::2")]);
        assert_eq!(proxies.client_ip(ip("fd00::1"), &chain), ip("2001:db8::1"));
        let bracketed = headers(&[("x-forwarded-for", "[2001:db8::2]:4711, 198.51.100.3:80")]);
        assert_eq!(
            proxies.client_ip(ip("fd00::1"), &bracketed),
            ip("198.51.100.3")
        );
        // An IPv4 peer seen on an IPv6 socket is still 127.0.0.1.
        let one = headers(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &one),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let proxies = trusting(&["10.0.0.0/8"]);
        let forwarded = headers(&[(
            "forwarded",
            r#"for=198.51.100.9;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.1, for=10.0.0.5"#,
        )]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &forwarded),
            ip("2001:db8:cafe::17")
        );
        let both = headers(&[
            ("forwarded", "for=198.51.100.9"),
            ("x-forwarded-for", "203.0.113.1"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &both), ip("203.0.113.1"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let proxies = trusting(&["10.0.0.0/8"]);
        for garbage in [
            "nonsense",
            "",
            "unknown",
            "_hidden",
            "1.2.3.4.5",
            "10.0.0.0/8",
        ] {
            let chain = headers(&[("x-forwarded-for", garbage)]);
            assert_eq!(
                proxies.client_ip(ip("10.0.0.1"), &chain),
                ip("10.0.0.1"),
                "{garbage}"
            );
        }
        let forged = headers(&[("x-forwarded-for", "203.0.113.1, garbage, 10.0.0.3")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &forged), ip("10.0.0.3"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &unknown), ip("10.0.0.1"));
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses_and_nothing_else() {
        assert!(trusting(&["10.0.0.0/8", "192.0.2.1", "fd00::/8", "::1"]).trusts(ip("::1")));
        for bad in ["10.0.0.0/33", "10.0.0", "example.com", "", "fd00::/129"] {
            let error = TrustedProxies::parse(&[bad]).unwrap_err();
            assert!(error.contains("is not a CIDR"), "{bad}: {error}");
        }
    }
}
