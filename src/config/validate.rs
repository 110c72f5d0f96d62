//! What the types cannot express: ports, host names, UIDs, MACs, ENRs, keys,
//! the Wyze account, duplicate cameras and cameras that could never be found.
//!
//! [`Config::validate`] is the one check: [`Config::load`] calls it, so
//! `check-config`, `run` and every other command see the same errors. It
//! touches no network (`run` then resolves the names with
//! [`super::resolve_names`]). Every error names its key; the caller adds the file.

use std::collections::HashMap;

use super::camera::{camera_key, camera_message};
use super::names::{check_host, check_port, split_host_port};
use super::{CameraConfig, CameraKind, Config, ConfigError, DiscoveryConfig, WyzeConfig};
use crate::model::{CameraId, Protocol};
use crate::proto::pppp::obfuscate::{parse_psk_setting, KNOWN_PSKS};
use crate::proto::pppp::uid::Uid;

/// Splits `mqtt[s]://host[:port]` into (tls, host, port); the port defaults
/// to 1883 (8883 for `mqtts`) and must be 1 to 65535.
pub fn parse_broker_url(url: &str) -> Result<(bool, String, u16), String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else {
        return Err(format!("{url:?} does not start with mqtt:// or mqtts://"));
    };
    let rest = rest.trim_end_matches('/');
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = split_host_port(rest)?;
    Ok((tls, host.to_string(), port.unwrap_or(default_port)))
}

fn check_topic_part(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty()
        || value.contains(['#', '+'])
        || value.starts_with('/')
        || value.ends_with('/')
    {
        return Err(ConfigError::new(
            key,
            format!(
                "{value:?} must be a non-empty topic without wildcards or leading/trailing '/'"
            ),
        ));
    }
    Ok(())
}

/// A MAC address: 12 hex digits, optionally in pairs separated by `:` or `-`.
fn check_mac(mac: &str) -> Result<(), String> {
    let digits: String = mac.chars().filter(|c| !matches!(c, ':' | '-')).collect();
    let pairs_ok = mac.len() == 12
        || (mac.split([':', '-']).count() == 6 && mac.split([':', '-']).all(|p| p.len() == 2));
    if pairs_ok && digits.len() == 12 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{mac:?} is not a MAC address; 12 hex digits, e.g. AABBCCDDEEFF or AA:BB:CC:DD:EE:FF"
        ))
    }
}

/// A TUTK UID: 20 capital letters and digits (`WireUid` takes at most 20
/// bytes; a Wyze camera's is always 20).
fn check_tutk_uid(uid: &str) -> Result<(), String> {
    if uid.len() == 20
        && uid
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(format!(
            "{uid:?} is not a TUTK UID; 20 capital letters and digits, e.g. ABCDEFGHIJKLMNOPQRST"
        ))
    }
}

/// A Wyze ENR: 16 to 256 printable characters without spaces (K-auth uses
/// its first 16 or 32 bytes; the login carries it in a 256-byte field). The
/// message never shows the value: it is a secret.
fn check_enr(enr: &str) -> Result<(), String> {
    if (16..=256).contains(&enr.len()) && enr.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(
            "is not a Wyze ENR (the value is not shown); 16 to 256 characters without spaces, \
             as the Wyze account lists it"
                .into(),
        )
    }
}

/// A `psk`: empty (detected), `none`, a known PSK name, or 4 key bytes in hex.
fn check_psk(psk: &str) -> Result<(), String> {
    let t = psk.trim();
    let hex: String = t
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let known = t.is_empty()
        || t.eq_ignore_ascii_case("none")
        || KNOWN_PSKS.iter().any(|p| p.name == t)
        || (hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()));
    if known {
        // Whatever the camera code accepts, so the two cannot disagree.
        return parse_psk_setting(t).map(|_| ());
    }
    let names: Vec<&str> = KNOWN_PSKS.iter().map(|p| p.name).collect();
    Err(format!(
        "{t:?} is neither a known key name nor 4 hex bytes; one of: none, {}, or 4 bytes in hex \
         (\"69 97 CC 19\", \"6997cc19\" or \"0x6997cc19\"); empty: detected from the camera's answer",
        names.join(", ")
    ))
}

/// Whether the TUTK LAN search has anywhere to send its Discos.
fn tutk_search_on(d: &DiscoveryConfig) -> bool {
    d.tutk_lan_search && (d.tutk_broadcast || !d.unicast_hosts.is_empty())
}

/// Whether the PPPP LAN search has anywhere to send its searches.
fn pppp_search_on(d: &DiscoveryConfig) -> bool {
    d.pppp_lan_search && (d.pppp_broadcast || !d.unicast_hosts.is_empty())
}

/// A camera's UID as it identifies the camera (PPPP: compact, upper case).
fn uid_identity(cam: &CameraConfig) -> Option<(Protocol, String)> {
    match &cam.kind {
        CameraKind::Pppp(p) if !p.uid.is_empty() => p
            .uid
            .parse::<Uid>()
            .ok()
            .map(|u| (Protocol::Pppp, u.compact())),
        CameraKind::Tutk(t) if !t.uid.is_empty() => {
            Some((Protocol::Tutk, t.uid.to_ascii_uppercase()))
        }
        _ => None,
    }
}

impl CameraConfig {
    /// Checks one entry on its own; `i` is its index.
    fn validate(&self, i: usize) -> Result<(), ConfigError> {
        let label = self.label();
        let error = |key: &str, what: &str, hint: Option<&str>| {
            ConfigError::new(camera_key(Some(i), key), camera_message(what, &label, hint))
        };
        if !self.id.is_empty() {
            CameraId::parse(&self.id).map_err(|m| error("id", &m, None))?;
        }
        match &self.kind {
            CameraKind::Demo(d) => {
                if d.host.is_empty() {
                    return Err(error("host", "a demo-mode camera needs its address", None));
                }
                check_host(&d.host).map_err(|m| {
                    error(
                        "host",
                        &m,
                        Some("the ports are video_port, audio_port and command_port"),
                    )
                })?;
                for (k, port) in [
                    ("video_port", d.video_port),
                    ("audio_port", d.audio_port),
                    ("command_port", d.command_port),
                ] {
                    check_port(port).map_err(|m| error(k, &m, None))?;
                }
                if !d.mac.is_empty() {
                    check_mac(&d.mac).map_err(|m| error("mac", &m, None))?;
                }
            }
            CameraKind::Pppp(p) => {
                if p.uid.is_empty() && p.host.is_empty() {
                    return Err(error("uid", "a pppp camera needs its uid or host", None));
                }
                if !p.uid.is_empty() {
                    if let Err(e) = p.uid.parse::<Uid>() {
                        return Err(error(
                            "uid",
                            &format!("{:?} is not a PPPP UID like DGOA-933765-NDBND: {e}", p.uid),
                            None,
                        ));
                    }
                }
                if !p.host.is_empty() {
                    check_host(&p.host)
                        .map_err(|m| error("host", &m, Some("the port is search_port")))?;
                }
                check_psk(&p.psk).map_err(|m| error("psk", &m, None))?;
                if !p.dialect.is_empty()
                    && p.dialect
                        .parse::<crate::proto::pppp::dialect::Dialect>()
                        .is_err()
                {
                    return Err(error(
                        "dialect",
                        &format!("unknown dialect {:?}", p.dialect),
                        Some("one of json, binary, cgi (empty: chosen by the key)"),
                    ));
                }
                check_port(p.search_port).map_err(|m| error("search_port", &m, None))?;
                if let Err(e) = p.intercom.parse::<crate::proto::pppp::talk::TalkPolicy>() {
                    return Err(error("intercom", &e.to_string(), None));
                }
            }
            CameraKind::Tutk(t) => {
                if t.uid.is_empty() {
                    return Err(error("uid", "a tutk camera needs its uid", None));
                }
                check_tutk_uid(&t.uid).map_err(|m| error("uid", &m, None))?;
                if t.enr.is_empty() {
                    return Err(error(
                        "enr",
                        "missing",
                        Some("a tutk camera needs its ENR (from the Wyze account) to authenticate"),
                    ));
                }
                check_enr(t.enr.expose()).map_err(|m| error("enr", &m, None))?;
                if t.mac.is_empty() {
                    return Err(error(
                        "mac",
                        "missing",
                        Some("a tutk camera needs its MAC (from the Wyze account): its auth key is made from ENR and MAC"),
                    ));
                }
                check_mac(&t.mac).map_err(|m| error("mac", &m, None))?;
                if !t.host.is_empty() {
                    split_host_port(&t.host).map_err(|m| error("host", &m, None))?;
                }
            }
        }
        if let Some(s) = self.snapshot_interval_s {
            if s > 3600 {
                return Err(error(
                    "snapshot_interval_s",
                    "must be 0 to 3600 seconds",
                    None,
                ));
            }
        }
        Ok(())
    }

    /// Checks that an enabled entry can be reached with the `[discovery]`
    /// settings: without `host` it must be found by its protocol's LAN search.
    fn validate_reach(&self, i: usize, d: &DiscoveryConfig) -> Result<(), ConfigError> {
        if !self.enabled || !self.host().is_empty() {
            return Ok(());
        }
        let hint = match &self.kind {
            CameraKind::Tutk(_) if !tutk_search_on(d) => {
                "a tutk camera without host is found by the TUTK LAN search, which is off \
                 (discovery.tutk_lan_search, with tutk_broadcast or unicast_hosts): set host or turn the search on"
            }
            CameraKind::Pppp(_) if !pppp_search_on(d) => {
                "a pppp camera without host is found by the PPPP LAN search, which is off \
                 (discovery.pppp_lan_search, with pppp_broadcast or unicast_hosts): set host or turn the search on"
            }
            _ => return Ok(()),
        };
        Err(ConfigError::new(
            camera_key(Some(i), "host"),
            camera_message("cannot be found", &self.label(), Some(hint)),
        ))
    }
}

/// `[wyze]`: unused without `email` (other keys set alone are a warning);
/// with it, what the cloud client checks before its first call.
fn validate_wyze(w: &WyzeConfig) -> Result<(), ConfigError> {
    use crate::cloud::wyze::WyzeError;
    if w.email.trim().is_empty() {
        let set = [
            ("password", !w.password.is_empty()),
            ("api_key", !w.api_key.is_empty()),
            ("key_id", !w.key_id.trim().is_empty()),
            ("totp_secret", !w.totp_secret.is_empty()),
        ];
        // A warning, not an error: a config may keep the account's secrets
        // without using the cloud.
        if let Some((key, _)) = set.iter().find(|(_, is_set)| *is_set) {
            tracing::warn!(
                "wyze.email is not set, so wyze.{key} is unused (the Wyze cloud is off)"
            );
        }
        return Ok(());
    }
    crate::cloud::wyze::client::check_settings(w)
        .map(|_| ())
        .map_err(|e| {
            let key = match &e {
                WyzeError::NotConfigured { key } => format!("wyze.{key}"),
                WyzeError::Totp(_) => "wyze.totp_secret".into(),
                WyzeError::Malformed { endpoint, .. } => format!("wyze.{endpoint}"),
                WyzeError::CaFile { .. } => "wyze.ca_file".into(),
                _ => "wyze".into(),
            };
            let message = match e {
                WyzeError::NotConfigured { .. } => {
                    "missing; the Wyze account needs email, password (or password_file), api_key and key_id".into()
                }
                other => other.to_string(),
            };
            ConfigError::new(key, message)
        })
}

impl Config {
    /// Checks values a type cannot express, without the network. The one
    /// validation `check-config`, `run` and the other commands share.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.mqtt.url.as_str();
        if url != "embedded" {
            parse_broker_url(url).map_err(|m| {
                ConfigError::new(
                    "mqtt.url",
                    format!("{m}; mqtt://host[:port], mqtts://host[:port] or \"embedded\""),
                )
            })?;
        }
        if self.mqtt.username.is_empty() && !self.mqtt.password.is_empty() {
            return Err(ConfigError::new(
                "mqtt.username",
                "missing: a broker password is only sent with a user name",
            ));
        }
        check_topic_part("mqtt.base_topic", &self.mqtt.base_topic)?;
        check_topic_part(
            "homeassistant.discovery_prefix",
            &self.homeassistant.discovery_prefix,
        )?;
        let status = &self.homeassistant.status_topic;
        if status.is_empty() || status.contains(['#', '+']) {
            return Err(ConfigError::new(
                "homeassistant.status_topic",
                format!("{status:?} must be a non-empty topic without wildcards"),
            ));
        }
        if self.mqtt.client_id.is_empty() {
            return Err(ConfigError::new("mqtt.client_id", "must not be empty"));
        }
        check_listen("http.listen", &self.http.listen, "0.0.0.0:8099")?;
        check_listen("rtsp.listen", &self.rtsp.listen, "0.0.0.0:8554")?;
        if !self.rtsp.url.is_empty() {
            let ok = self
                .rtsp
                .url
                .strip_prefix("rtsp://")
                .or_else(|| self.rtsp.url.strip_prefix("rtsps://"))
                .is_some_and(|rest| {
                    !rest.is_empty() && !rest.contains(char::is_whitespace) && !rest.contains('@')
                });
            if !ok {
                return Err(ConfigError::new(
                    "rtsp.url",
                    format!(
                        "{:?} is not an RTSP address like rtsp://192.168.1.10:8554 (without credentials)",
                        self.rtsp.url
                    ),
                ));
            }
        }
        if !(1..=30).contains(&self.http.live_fps) {
            return Err(ConfigError::new(
                "http.live_fps",
                format!(
                    "{} is out of range; 1 to 30 pictures per second",
                    self.http.live_fps
                ),
            ));
        }
        if self.http.username.is_empty() != self.http.password.is_empty() {
            return Err(ConfigError::new(
                if self.http.username.is_empty() {
                    "http.username"
                } else {
                    "http.password"
                },
                "basic auth needs both http.username and http.password (or password_file)",
            ));
        }
        for (i, p) in self.http.trusted_proxies.iter().enumerate() {
            if p.parse::<std::net::IpAddr>().is_err() {
                return Err(ConfigError::new(
                    format!("http.trusted_proxies[{i}]"),
                    format!("{p:?} is not an IP address (e.g. 172.30.32.2)"),
                ));
            }
        }
        let url = &self.http.external_url;
        if !url.is_empty()
            && !((url.starts_with("http://") || url.starts_with("https://"))
                && url.len() > "https://".len()
                && !url.contains(char::is_whitespace))
        {
            return Err(ConfigError::new(
                "http.external_url",
                format!(
                    "{url:?} is not an http:// or https:// URL (e.g. http://192.168.1.10:8099/)"
                ),
            ));
        }
        if self.http.health_interval_s > 86_400 {
            return Err(ConfigError::new(
                "http.health_interval_s",
                "must be 0 (never) to 86400 seconds",
            ));
        }
        if self.snapshots.interval_s > 3600 {
            return Err(ConfigError::new(
                "snapshots.interval_s",
                "must be 0 to 3600 seconds",
            ));
        }
        if self.snapshots.max_bytes < 10_000 {
            return Err(ConfigError::new(
                "snapshots.max_bytes",
                "must be at least 10000 bytes",
            ));
        }
        if !(1..=100).contains(&self.snapshots.jpeg_quality) {
            return Err(ConfigError::new(
                "snapshots.jpeg_quality",
                "must be 1 to 100",
            ));
        }
        if self.snapshots.decode_workers > 16 {
            return Err(ConfigError::new(
                "snapshots.decode_workers",
                "must be 0 (chosen by the bridge) to 16 threads",
            ));
        }
        for (section, list) in [
            ("demo_mode_hosts", &self.discovery.demo_mode_hosts),
            ("unicast_hosts", &self.discovery.unicast_hosts),
        ] {
            for (i, entry) in list.iter().enumerate() {
                split_host_port(entry).map_err(|m| {
                    ConfigError::new(
                        format!("discovery.{section}[{i}]"),
                        format!("{m}; host or host:port"),
                    )
                })?;
            }
        }
        validate_wyze(&self.wyze)?;
        self.validate_cameras()
    }

    /// Each entry, then what entries share: ids and UIDs of enabled cameras
    /// are unique (naming the first holder of a duplicate).
    fn validate_cameras(&self) -> Result<(), ConfigError> {
        let mut ids = HashMap::new();
        let mut uids = HashMap::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            cam.validate(i)?;
            cam.validate_reach(i, &self.discovery)?;
            let error = |key: &str, what: &str| {
                ConfigError::new(
                    camera_key(Some(i), key),
                    camera_message(what, &cam.label(), None),
                )
            };
            let id = cam.effective_id();
            if id.as_str() == "bridge" {
                return Err(error(
                    "id",
                    "\"bridge\" is reserved for the bridge's own topics",
                ));
            }
            if !cam.enabled {
                continue;
            }
            if let Some(uid) = uid_identity(cam) {
                if let Some(first) = uids.insert(uid, i) {
                    return Err(error(
                        "uid",
                        &format!(
                            "duplicate uid {:?}, also the uid of cameras[{first}] (hyphens and case do not matter)",
                            cam.uid()
                        ),
                    ));
                }
            }
            if let Some(first) = ids.insert(id.clone(), i) {
                return Err(error(
                    "id",
                    &format!("duplicate camera id \"{id}\", also the id of cameras[{first}]"),
                ));
            }
        }
        Ok(())
    }
}

/// A server's `listen` key: empty (off) or `IP:port` (port 0: one the
/// system picks, which the log names).
fn check_listen(key: &str, listen: &str, example: &str) -> Result<(), ConfigError> {
    if listen.is_empty() || listen.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    Err(ConfigError::new(
        key,
        format!("{listen:?} is not IP:port; an address like {example} (or \"\" to disable)"),
    ))
}
