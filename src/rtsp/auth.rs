//! Who may use the RTSP server: the web UI's credentials and trust rule,
//! carried the way RTSP clients carry them.
//!
//! - With `http.username`/`http.password` set, every client (loopback too)
//!   must send them, by Digest (RFC 2617, MD5, with or without `qop=auth`:
//!   what ffmpeg, VLC, go2rtc, Frigate and retina speak) or Basic. With
//!   `http.token` set, the token is accepted as the password under any user
//!   name (RTSP has no bearer tokens).
//! - Without credentials only loopback clients are served, the same rule as
//!   the web UI; others get 403 with the reason.
//!
//! Nonces are stateless: the server's issue time and a keyed MD5 over it, so
//! no table grows with clients, and one older than [`NONCE_LIFETIME_S`] is
//! answered `stale=true` (clients retry without asking the user). Secrets
//! are compared in constant time and never appear in an answer or a log
//! line; the user name a client sent is not logged either.

use std::net::IpAddr;

use data_encoding::{BASE64, HEXLOWER};
use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq as _;

use crate::config::HttpConfig;
use crate::secret::Secret;

/// The realm announced.
pub const REALM: &str = "cam2mqtt";
/// How long a nonce is good for.
pub const NONCE_LIFETIME_S: u64 = 600;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No credentials are configured and the client is not on this machine.
    #[error("cam2mqtt serves RTSP only to clients on its own machine until credentials are set: set http.username and http.password (or http.token), then put them in the RTSP URL or the client's settings")]
    NotLocal,
    /// Credentials are required and none, or wrong ones, came.
    #[error("credentials required")]
    BadCredentials,
    /// The digest was right but its nonce too old: ask again, `stale=true`.
    #[error("nonce expired")]
    Stale,
}

/// The configured rule.
#[derive(Debug, Clone)]
pub struct Access {
    user: Option<(String, Secret)>,
    token: Option<Secret>,
    key: [u8; 16],
}

impl Access {
    /// The rule `cfg` sets; `key` keys the nonces (random per run).
    pub fn from_config(cfg: &HttpConfig, key: [u8; 16]) -> Self {
        let user = (!cfg.username.is_empty() && !cfg.password.is_empty())
            .then(|| (cfg.username.clone(), cfg.password.clone()));
        let token = (!cfg.token.is_empty()).then(|| cfg.token.clone());
        Self { user, token, key }
    }

    /// Whether credentials are configured.
    pub fn has_credentials(&self) -> bool {
        self.user.is_some() || self.token.is_some()
    }

    /// Checks a request of `method` from `peer` with its `Authorization`
    /// header at `now_s` (seconds on any clock that only goes forward).
    pub fn check(
        &self,
        peer: IpAddr,
        method: &str,
        authorization: Option<&str>,
        now_s: u64,
    ) -> Result<(), Denied> {
        if !self.has_credentials() {
            return if is_loopback(peer) {
                Ok(())
            } else {
                Err(Denied::NotLocal)
            };
        }
        let Some(header) = authorization.map(str::trim) else {
            return Err(Denied::BadCredentials);
        };
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = BASE64
                .decode(rest.trim().as_bytes())
                .map_err(|_| Denied::BadCredentials)?;
            let text = String::from_utf8(decoded).map_err(|_| Denied::BadCredentials)?;
            let (user, password) = text.split_once(':').ok_or(Denied::BadCredentials)?;
            return if self.password_ok(user, password) {
                Ok(())
            } else {
                Err(Denied::BadCredentials)
            };
        }
        if scheme.eq_ignore_ascii_case("digest") {
            return self.digest_ok(method, rest, now_s);
        }
        Err(Denied::BadCredentials)
    }

    /// The `WWW-Authenticate` values for a 401 at `now_s` (Digest first,
    /// which clients prefer, then Basic).
    pub fn challenges(&self, now_s: u64, stale: bool) -> Vec<String> {
        let stale = if stale { ", stale=TRUE" } else { "" };
        vec![
            format!(
                "Digest realm=\"{REALM}\", nonce=\"{}\", algorithm=MD5{stale}",
                self.nonce(now_s)
            ),
            format!("Basic realm=\"{REALM}\""),
        ]
    }

    fn password_ok(&self, user: &str, password: &str) -> bool {
        let by_user = self.user.as_ref().is_some_and(|(u, p)| {
            let u_ok = u.as_bytes().ct_eq(user.as_bytes());
            let p_ok = p.expose().as_bytes().ct_eq(password.as_bytes());
            bool::from(u_ok & p_ok)
        });
        let by_token = self
            .token
            .as_ref()
            .is_some_and(|t| bool::from(t.expose().as_bytes().ct_eq(password.as_bytes())));
        by_user | by_token
    }

    fn nonce(&self, issued_s: u64) -> String {
        let stamp = format!("{issued_s:x}");
        format!("{stamp}{}", &self.mac(&stamp)[..16])
    }

    fn mac(&self, stamp: &str) -> String {
        let mut h = Md5::new();
        h.update(self.key);
        h.update(stamp.as_bytes());
        h.update(self.key);
        HEXLOWER.encode(&h.finalize())
    }

    /// The nonce's issue time, if this server made it.
    fn nonce_issued(&self, nonce: &str) -> Option<u64> {
        let split = nonce.len().checked_sub(16)?;
        let (stamp, mac) = (nonce.get(..split)?, nonce.get(split..)?);
        let ok = self.mac(stamp).as_bytes()[..16].ct_eq(mac.as_bytes());
        if !bool::from(ok) {
            return None;
        }
        u64::from_str_radix(stamp, 16).ok()
    }

    fn digest_ok(&self, method: &str, params: &str, now_s: u64) -> Result<(), Denied> {
        let p = DigestParams::parse(params).ok_or(Denied::BadCredentials)?;
        let issued = self.nonce_issued(p.nonce).ok_or(Denied::BadCredentials)?;
        if p.realm != REALM {
            return Err(Denied::BadCredentials);
        }
        let matches = |password: &str| {
            bool::from(
                digest_response(&p, REALM, method, password)
                    .as_bytes()
                    .ct_eq(p.response.to_ascii_lowercase().as_bytes()),
            )
        };
        let by_user = self.user.as_ref().is_some_and(|(u, pw)| {
            bool::from(u.as_bytes().ct_eq(p.username.as_bytes())) & matches(pw.expose())
        });
        let by_token = self.token.as_ref().is_some_and(|t| matches(t.expose()));
        if !(by_user | by_token) {
            return Err(Denied::BadCredentials);
        }
        if now_s.saturating_sub(issued) > NONCE_LIFETIME_S || issued > now_s {
            return Err(Denied::Stale);
        }
        Ok(())
    }
}

/// Loopback (IPv4 127/8, IPv6 ::1, and IPv4-mapped loopback).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The digest a client that knows `password` sends (RFC 2617 §3.2.2.1):
/// with `qop`, over the nonce, count and client nonce; without, RFC 2069's.
fn digest_response(p: &DigestParams<'_>, realm: &str, method: &str, password: &str) -> String {
    let ha1 = md5_hex(&format!("{}:{realm}:{password}", p.username));
    let ha2 = md5_hex(&format!("{method}:{}", p.uri));
    match (p.qop, p.nc, p.cnonce) {
        (Some(qop), Some(nc), Some(cnonce)) => {
            md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", p.nonce))
        }
        _ => md5_hex(&format!("{ha1}:{}:{ha2}", p.nonce)),
    }
}

fn md5_hex(s: &str) -> String {
    HEXLOWER.encode(&Md5::digest(s.as_bytes()))
}

/// The parameters of a `Digest` header that the check needs.
#[derive(Debug, Default, PartialEq, Eq)]
struct DigestParams<'a> {
    username: &'a str,
    realm: &'a str,
    nonce: &'a str,
    uri: &'a str,
    response: &'a str,
    qop: Option<&'a str>,
    nc: Option<&'a str>,
    cnonce: Option<&'a str>,
}

impl<'a> DigestParams<'a> {
    /// `k=v` or `k="v"` pairs separated by commas. Quoted values may not
    /// hold a quote (no client escapes one in these fields); a header that
    /// lacks a required field is `None`.
    fn parse(s: &'a str) -> Option<Self> {
        let mut p = DigestParams::default();
        let mut rest = s.trim();
        let (mut username, mut realm, mut nonce, mut uri, mut response) =
            (None, None, None, None, None);
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=')?;
            let key = key.trim().trim_start_matches(',').trim();
            let after = after.trim_start();
            let (value, next) = if let Some(q) = after.strip_prefix('"') {
                let end = q.find('"')?;
                (&q[..end], &q[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim(), &after[end..])
            };
            match key.to_ascii_lowercase().as_str() {
                "username" => username = Some(value),
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "uri" => uri = Some(value),
                "response" => response = Some(value),
                "qop" => p.qop = Some(value),
                "nc" => p.nc = Some(value),
                "cnonce" => p.cnonce = Some(value),
                _ => {}
            }
            rest = next.trim_start().trim_start_matches(',').trim_start();
        }
        p.username = username?;
        p.realm = realm?;
        p.nonce = nonce?;
        p.uri = uri?;
        p.response = response?;
        Some(p)
    }
}

#[cfg(test)]
mod tests;
