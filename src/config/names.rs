//! Host names and ports in the config: their syntax (checked by
//! [`Config::validate`](super::Config::validate), without the network) and
//! their resolution (by [`resolve_names`], which `run` calls before it starts
//! anything; `check-config` never does).

use std::net::IpAddr;

use super::{CameraKind, Config, ConfigError};
use crate::proto::pppp::wire::LAN_SEARCH_PORT;
use crate::proto::tutk::iotc::DEFAULT_PORT as TUTK_PORT;

/// What a port may be.
const PORT_RANGE: &str = "1 to 65535";

/// A port number, 1 to 65535.
pub(super) fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u64>() {
        Ok(n) => u16::try_from(n)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("port {n} is out of range ({PORT_RANGE})")),
        Err(_) => Err(format!("bad port {text:?} ({PORT_RANGE})")),
    }
}

/// A port from a number typed in a config key (`0` is out of range).
pub(super) fn check_port(port: u16) -> Result<(), String> {
    if port == 0 {
        Err(format!("port 0 is out of range ({PORT_RANGE})"))
    } else {
        Ok(())
    }
}

/// Checks that `host` is an IP address or a well-formed host name (labels of
/// letters, digits, `-` and `_`, at most 63 characters each, 253 in all).
pub(super) fn check_host(host: &str) -> Result<(), String> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let bad = || format!("{host:?} is not an IP address or host name");
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad());
        }
    }
    // `300.1.1.1` would otherwise go to DNS as a name.
    if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("{host:?} is not a valid IP address"));
    }
    Ok(())
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` (a bare IPv6 address
/// has several colons and no port), and checks both parts: the host is an IP
/// address or a well-formed name, the port (when given) 1 to 65535.
pub fn split_host_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    let entry = entry.trim();
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("no closing ']' in {entry:?}"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err(format!("{entry:?} is not [address]:port")),
            },
        }
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (entry, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host in {entry:?}"));
    }
    check_host(host)?;
    let port = port
        .map(parse_port)
        .transpose()
        .map_err(|m| format!("{m} in {entry:?}"))?;
    Ok((host, port))
}

/// Every host name the config names, with a port to look it up with and the
/// key that names it; IP addresses are left out (they need no lookup).
fn names(cfg: &Config) -> Vec<(String, String, u16)> {
    let mut out = Vec::new();
    let mut add = |key: String, host: &str, port: u16| {
        if host.parse::<IpAddr>().is_err() {
            out.push((key, host.to_string(), port));
        }
    };
    if cfg.mqtt.url != "embedded" {
        if let Ok((_, host, port)) = super::parse_broker_url(&cfg.mqtt.url) {
            add("mqtt.url".into(), &host, port);
        }
    }
    for (i, cam) in cfg.cameras.iter().enumerate() {
        if !cam.enabled || cam.host().is_empty() {
            continue;
        }
        let key = format!("cameras[{i}].host");
        match &cam.kind {
            CameraKind::Demo(d) => add(key, &d.host, d.video_port),
            CameraKind::Pppp(p) => add(key, &p.host, p.search_port),
            CameraKind::Tutk(t) => {
                if let Ok((host, port)) = split_host_port(&t.host) {
                    add(key, host, port.unwrap_or(TUTK_PORT));
                }
            }
        }
    }
    for (section, list, default_port) in [
        ("demo_mode_hosts", &cfg.discovery.demo_mode_hosts, 8080),
        (
            "unicast_hosts",
            &cfg.discovery.unicast_hosts,
            LAN_SEARCH_PORT,
        ),
    ] {
        for (i, entry) in list.iter().enumerate() {
            if let Ok((host, port)) = split_host_port(entry) {
                add(
                    format!("discovery.{section}[{i}]"),
                    host,
                    port.unwrap_or(default_port),
                );
            }
        }
    }
    out
}

/// Looks up every host name the config names (the broker's, enabled cameras'
/// `host`, `demo_mode_hosts`, `unicast_hosts`); the first that does not
/// resolve is an error naming its key. `run` calls this before it starts
/// anything, so a typo in a name stops the bridge at once instead of leaving
/// a camera or the broker silently unreachable. `check-config` does not (it
/// makes no network traffic, DNS included).
pub async fn resolve_names(cfg: &Config) -> Result<(), ConfigError> {
    let mut done: Vec<String> = Vec::new();
    for (key, host, port) in names(cfg) {
        if done.contains(&host) {
            continue;
        }
        let found = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ConfigError::new(&key, format!("cannot resolve {host:?}: {e}")))?
            .next()
            .is_some();
        if !found {
            return Err(ConfigError::new(key, format!("{host:?} has no address")));
        }
        done.push(host);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_split_and_check_both_parts() {
        assert_eq!(split_host_port("10.0.0.1").unwrap(), ("10.0.0.1", None));
        assert_eq!(
            split_host_port(" cam.lan:32108 ").unwrap(),
            ("cam.lan", Some(32108))
        );
        assert_eq!(split_host_port("[::1]:9000").unwrap(), ("::1", Some(9000)));
        assert_eq!(split_host_port("[::1]").unwrap(), ("::1", None));
        assert_eq!(split_host_port("fe80::1").unwrap(), ("fe80::1", None));
        for (entry, wanted) in [
            ("h:0", "port 0 is out of range (1 to 65535)"),
            ("h:70000", "port 70000 is out of range (1 to 65535)"),
            ("h:x", "bad port \"x\""),
            (":80", "no host"),
            ("[::1", "no closing ']'"),
            ("[::1]x", "is not [address]:port"),
            ("a b", "is not an IP address or host name"),
            ("300.1.1.1", "is not a valid IP address"),
            ("user@h", "is not an IP address or host name"),
            ("a..b", "is not an IP address or host name"),
        ] {
            let e = split_host_port(entry).unwrap_err();
            assert!(e.contains(wanted), "{entry}: {e}");
        }
        let long_label = format!("{}.lan", "a".repeat(64));
        assert!(check_host(&long_label).is_err());
        assert!(check_host("cam-1.example.invalid.").is_ok());
        assert!(check_host("my_cam").is_ok());
    }

    #[test]
    fn the_names_to_resolve_leave_out_addresses_and_disabled_cameras() {
        let cfg = Config::from_toml(
            "[mqtt]\nurl = \"mqtt://broker.lan:1884\"\n\
             [discovery]\nunicast_hosts = [\"10.0.0.9\", \"vlan.lan:32100\"]\ndemo_mode_hosts = [\"demo.lan\"]\n\
             [[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\n\
             [[cameras]]\nprotocol = \"pppp\"\nhost = \"door.lan\"\n\
             [[cameras]]\nprotocol = \"tutk\"\nhost = \"wyze.lan:32762\"\nuid = \"ABCDEFGHIJKLMNOPQRST\"\n\
             enr = \"0123456789abcdef\"\nmac = \"AABBCCDDEEFF\"\n\
             [[cameras]]\nprotocol = \"demo\"\nhost = \"off.lan\"\nenabled = false\n",
        )
        .unwrap();
        let names: Vec<(String, String, u16)> = names(&cfg);
        let expected = [
            ("mqtt.url", "broker.lan", 1884),
            ("cameras[1].host", "door.lan", 32108),
            ("cameras[2].host", "wyze.lan", 32762),
            ("discovery.demo_mode_hosts[0]", "demo.lan", 8080),
            ("discovery.unicast_hosts[1]", "vlan.lan", 32100),
        ]
        .map(|(k, h, p)| (k.to_string(), h.to_string(), p));
        assert_eq!(names, expected);
    }
}
