//! Who may use the HTTP side: the trust rule, as a pure function of the
//! client's address and its `Authorization` header.
//!
//! 1. A trusted proxy (`http.trusted_proxies`: Home Assistant's ingress proxy
//!    in the add-on, which authenticates its users itself) is let in.
//! 2. With credentials configured (`http.username`/`http.password`, or
//!    `http.token`), every other client must present them: `Basic` or
//!    `Bearer`. Loopback clients too, so a configured password means what it
//!    says.
//! 3. Without credentials only loopback clients are let in; anyone else is
//!    told how to set credentials.
//!
//! Two browser attacks are refused for every client but a trusted proxy
//! ([`Access::check_browser`]):
//! - cross-site requests that change something (a page elsewhere posting a
//!   `reboot` to `localhost:8099`): a `POST` whose `Origin` is not this
//!   server, or that the browser marks `Sec-Fetch-Site: cross-site`;
//! - DNS rebinding (a page whose name resolves to 127.0.0.1): without
//!   credentials, loopback trust holds only for a `Host` that is an IP
//!   address or `localhost`.
//!
//! Secrets are compared in constant time and never appear in an answer or a
//! log line.

use std::net::IpAddr;

use subtle::ConstantTimeEq as _;

use crate::config::HttpConfig;
use crate::secret::Secret;

/// The configured rule.
#[derive(Debug, Clone, Default)]
pub struct Access {
    basic: Option<(String, Secret)>,
    token: Option<Secret>,
    trusted: Vec<IpAddr>,
}

/// Why a request was refused (the text is the answer's body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No credentials are configured and the client is not on this machine.
    #[error("cam2mqtt serves only clients on its own machine until credentials are set: set http.username and http.password (or http.token) in its config, or username/password in the add-on's options, then send them (basic auth or Authorization: Bearer)")]
    NotLocal,
    /// A request from a page on another site tried to change something.
    #[error("cross-site request refused: commands are taken only from this server's own pages or from clients that send no Origin (curl, Home Assistant)")]
    CrossSite,
    /// A loopback client named this server by a host name (DNS rebinding).
    #[error("host name {0:?} refused: without credentials only an IP address or localhost may name this server (DNS rebinding protection); set http.username and http.password (or http.token) to serve it by name")]
    HostName(String),
    /// Credentials are configured and the request has none, or wrong ones.
    #[error("credentials required: send the configured http.username and http.password (basic auth) or http.token (Authorization: Bearer)")]
    BadCredentials,
}

impl Access {
    /// The rule `cfg` sets.
    pub fn from_config(cfg: &HttpConfig) -> Self {
        let basic = (!cfg.username.is_empty() && !cfg.password.is_empty())
            .then(|| (cfg.username.clone(), cfg.password.clone()));
        let token = (!cfg.token.is_empty()).then(|| cfg.token.clone());
        let trusted = cfg
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        Self {
            basic,
            token,
            trusted,
        }
    }

    /// Whether any credentials are configured.
    pub fn has_credentials(&self) -> bool {
        self.basic.is_some() || self.token.is_some()
    }

    /// Whether basic auth is configured (a browser is then asked for it).
    pub fn wants_basic(&self) -> bool {
        self.basic.is_some()
    }

    /// Decides one request from `peer` with this `Authorization` header.
    pub fn check(&self, peer: IpAddr, authorization: Option<&str>) -> Result<(), Denied> {
        let peer = canonical(peer);
        if self.trusted.iter().any(|t| canonical(*t) == peer) {
            return Ok(());
        }
        if !self.has_credentials() {
            return if peer.is_loopback() {
                Ok(())
            } else {
                Err(Denied::NotLocal)
            };
        }
        match authorization.and_then(|a| a.split_once(' ')) {
            Some((scheme, value)) if scheme.eq_ignore_ascii_case("basic") => {
                let Some((user, password)) = &self.basic else {
                    return Err(Denied::BadCredentials);
                };
                let decoded = data_encoding::BASE64
                    .decode(value.trim().as_bytes())
                    .map_err(|_| Denied::BadCredentials)?;
                let expected = format!("{user}:{}", password.expose());
                if bool::from(decoded.ct_eq(expected.as_bytes())) {
                    Ok(())
                } else {
                    Err(Denied::BadCredentials)
                }
            }
            Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => {
                let Some(token) = &self.token else {
                    return Err(Denied::BadCredentials);
                };
                if bool::from(value.trim().as_bytes().ct_eq(token.expose().as_bytes())) {
                    Ok(())
                } else {
                    Err(Denied::BadCredentials)
                }
            }
            _ => Err(Denied::BadCredentials),
        }
    }
}

impl Access {
    /// Whether `peer` is a trusted proxy.
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.trusted.iter().any(|t| canonical(*t) == peer)
    }

    /// The browser checks (after [`Access::check`] let the request in):
    /// `changes` is true for methods that change something (`POST`).
    ///
    /// `host` is the `Host` header (checked against DNS rebinding);
    /// `page_host` is the host the page was served from (`X-Forwarded-Host`
    /// behind a reverse proxy, else `Host`), which a changing request's
    /// `Origin` must name.
    pub fn check_browser(
        &self,
        peer: IpAddr,
        changes: bool,
        host: Option<&str>,
        page_host: Option<&str>,
        origin: Option<&str>,
        fetch_site: Option<&str>,
    ) -> Result<(), Denied> {
        if self.is_trusted(peer) {
            return Ok(());
        }
        if !self.has_credentials() {
            if let Some(host) = host {
                if !is_address_or_localhost(host) {
                    return Err(Denied::HostName(host.chars().take(64).collect()));
                }
            }
        }
        if changes {
            if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
                return Err(Denied::CrossSite);
            }
            if let Some(origin) = origin {
                let authority = origin
                    .split_once("://")
                    .map(|(_, rest)| rest.trim_end_matches('/'));
                let same = match (authority, page_host) {
                    (Some(a), Some(h)) => a.eq_ignore_ascii_case(h),
                    _ => false,
                };
                if !same {
                    return Err(Denied::CrossSite);
                }
            }
        }
        Ok(())
    }
}

/// `127.0.0.1:8099`, `[::1]:8099`, `localhost:8099` (with or without a port).
fn is_address_or_localhost(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, _)) => return ip.parse::<std::net::Ipv6Addr>().is_ok(),
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

/// Whether a request needs no credentials at all: `GET`/`HEAD /healthz`
/// from a loopback client. A container health check (the add-on's Docker
/// `HEALTHCHECK`, curl on 127.0.0.1) cannot send credentials, and the
/// answer says only whether MQTT is connected.
pub fn is_health_probe(peer: IpAddr, read_only: bool, path: &str) -> bool {
    read_only && path == "/healthz" && canonical(peer).is_loopback()
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn access(username: &str, password: &str, token: &str, trusted: &[&str]) -> Access {
        let cfg = HttpConfig {
            username: username.into(),
            password: Secret::new(password),
            token: Secret::new(token),
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
            ..HttpConfig::default()
        };
        Access::from_config(&cfg)
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes())
        )
    }

    #[test]
    fn only_a_loopback_read_of_healthz_is_a_health_probe() {
        assert!(is_health_probe(ip("127.0.0.1"), true, "/healthz"));
        assert!(is_health_probe(ip("::1"), true, "/healthz"));
        assert!(is_health_probe(ip("::ffff:127.0.0.1"), true, "/healthz"));
        assert!(!is_health_probe(ip("192.168.1.20"), true, "/healthz"));
        assert!(!is_health_probe(ip("172.30.32.2"), true, "/healthz"));
        assert!(!is_health_probe(ip("127.0.0.1"), false, "/healthz"));
        assert!(!is_health_probe(ip("127.0.0.1"), true, "/healthz/"));
        assert!(!is_health_probe(ip("127.0.0.1"), true, "/api/health"));
        assert!(!is_health_probe(ip("127.0.0.1"), true, "/metrics"));
    }

    #[test]
    fn without_credentials_only_loopback_clients_and_trusted_proxies_are_served() {
        let open = access("", "", "", &["172.30.32.2"]);
        for local in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(open.check(ip(local), None), Ok(()), "{local}");
        }
        assert_eq!(open.check(ip("172.30.32.2"), None), Ok(()));
        assert_eq!(open.check(ip("::ffff:172.30.32.2"), None), Ok(()));
        for remote in [
            "192.168.1.20",
            "10.0.0.1",
            "172.30.32.3",
            "fe80::1",
            "::ffff:192.168.1.2",
        ] {
            assert_eq!(
                open.check(ip(remote), None),
                Err(Denied::NotLocal),
                "{remote}"
            );
            // Credentials nobody configured do not help.
            assert_eq!(
                open.check(ip(remote), Some(&basic("admin", "admin"))),
                Err(Denied::NotLocal)
            );
        }
        let text = Denied::NotLocal.to_string();
        assert!(
            text.contains("http.username") && text.contains("http.token"),
            "{text}"
        );
    }

    #[test]
    fn with_credentials_every_client_but_a_trusted_proxy_must_present_them() {
        let guarded = access("viewer", "s3cret-pw", "tok-123", &["172.30.32.2"]);
        for peer in ["127.0.0.1", "192.168.1.20", "::1"] {
            let peer = ip(peer);
            assert_eq!(guarded.check(peer, None), Err(Denied::BadCredentials));
            assert_eq!(
                guarded.check(peer, Some(&basic("viewer", "s3cret-pw"))),
                Ok(())
            );
            assert_eq!(guarded.check(peer, Some("Bearer tok-123")), Ok(()));
            assert_eq!(guarded.check(peer, Some("bearer  tok-123 ")), Ok(()));
            for wrong in [
                basic("viewer", "s3cret-p"),
                basic("viewer", "s3cret-pw2"),
                basic("other", "s3cret-pw"),
                "Bearer tok-12".to_string(),
                "Basic !!!not-base64".to_string(),
                "Digest x".to_string(),
                "tok-123".to_string(),
            ] {
                assert_eq!(
                    guarded.check(peer, Some(&wrong)),
                    Err(Denied::BadCredentials),
                    "{wrong}"
                );
            }
        }
        assert_eq!(guarded.check(ip("172.30.32.2"), None), Ok(()));
        // Only a token configured: basic auth is no way in.
        let token_only = access("", "", "tok-123", &[]);
        assert_eq!(
            token_only.check(ip("127.0.0.1"), Some(&basic("", "tok-123"))),
            Err(Denied::BadCredentials)
        );
        assert!(!token_only.wants_basic() && token_only.has_credentials());
    }

    #[test]
    fn a_page_elsewhere_cannot_post_commands_and_a_rebound_name_is_refused() {
        let open = access("", "", "", &["172.30.32.2"]);
        let lo = ip("127.0.0.1");
        let host = Some("127.0.0.1:8099");
        // Reading is fine from anywhere that passed the trust rule.
        assert_eq!(
            open.check_browser(
                lo,
                false,
                host,
                host,
                Some("http://evil.example"),
                Some("cross-site")
            ),
            Ok(())
        );
        // Changing needs the same origin, or no origin at all (curl, HA).
        assert_eq!(open.check_browser(lo, true, host, host, None, None), Ok(()));
        assert_eq!(
            open.check_browser(
                lo,
                true,
                host,
                host,
                Some("http://127.0.0.1:8099"),
                Some("same-origin")
            ),
            Ok(())
        );
        for (origin, site) in [
            (Some("http://evil.example"), None),
            (Some("http://127.0.0.1:8100"), None),
            (Some("null"), None),
            (None, Some("cross-site")),
        ] {
            assert_eq!(
                open.check_browser(lo, true, host, host, origin, site),
                Err(Denied::CrossSite),
                "{origin:?} {site:?}"
            );
        }
        // DNS rebinding: a name other than localhost is refused without credentials.
        for good in [
            "127.0.0.1:8099",
            "localhost:8099",
            "LOCALHOST",
            "[::1]:8099",
            "192.168.1.5",
        ] {
            assert_eq!(
                open.check_browser(lo, false, Some(good), Some(good), None, None),
                Ok(()),
                "{good}"
            );
        }
        for bad in [
            "evil.example:8099",
            "evil.example",
            "localhost.evil.example:8099",
            "[nope]:1",
        ] {
            assert!(
                matches!(
                    open.check_browser(lo, false, Some(bad), Some(bad), None, None),
                    Err(Denied::HostName(_))
                ),
                "{bad}"
            );
        }
        // With credentials a name is fine; the proxy is trusted as it is.
        let guarded = access("u", "p", "", &[]);
        assert_eq!(
            guarded.check_browser(
                lo,
                false,
                Some("cams.example:8099"),
                Some("cams.example:8099"),
                None,
                None
            ),
            Ok(())
        );
        assert_eq!(
            open.check_browser(
                ip("172.30.32.2"),
                true,
                Some("ha:8123"),
                Some("ha:8123"),
                Some("http://ha:8123"),
                Some("same-origin")
            ),
            Ok(())
        );
    }

    #[test]
    fn no_answer_names_a_secret() {
        for d in [Denied::NotLocal, Denied::BadCredentials] {
            let text = d.to_string();
            assert!(!text.contains("s3cret") && !text.contains("tok-123"));
        }
        let dbg = format!("{:?}", access("viewer", "s3cret-pw", "tok-123", &[]));
        assert!(
            !dbg.contains("s3cret-pw") && !dbg.contains("tok-123"),
            "{dbg}"
        );
    }
}
