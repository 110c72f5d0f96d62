//! Shape checks for values a type cannot express: addresses and ports, PPPP
//! keys, UIDs, ENRs and MACs. Pure: no name is resolved here, so
//! `check-config` runs every one of them without touching the network.

use crate::proto::pppp::obfuscate::KNOWN_PSKS;

/// Splits `host`, `host:port` or `[v6]:port` (a bare IPv6 address has several
/// colons and no port); the port, when given, is 1 to 65535.
pub fn split_host_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    let entry = entry.trim();
    let (host, port) = match entry.rsplit_once(':') {
        Some((h, p)) if h.starts_with('[') || !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("bad port {p:?} in {entry:?}: a port is 1 to 65535"))?;
            (h.trim_start_matches('[').trim_end_matches(']'), Some(port))
        }
        _ => (entry, None),
    };
    check_host(host).map_err(|m| format!("{m} in {entry:?}"))?;
    Ok((host, port))
}

/// A host name or IP address: not empty, no spaces or URL punctuation.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("no host".into());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{host:?} is not a host name or IP address"))
    }
}

/// A PPPP `psk` setting: empty or `none` (plaintext), one of the known key
/// names, or the 4 key bytes in hex.
pub fn check_psk(psk: &str) -> Result<(), String> {
    let t = psk.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") || KNOWN_PSKS.iter().any(|p| p.name == t) {
        return Ok(());
    }
    let hex: String = t
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(());
    }
    let names: Vec<String> = KNOWN_PSKS.iter().map(|p| format!("{:?}", p.name)).collect();
    Err(format!(
        "{t:?} is neither a known key nor 4 key bytes in hex (e.g. \"1a2b3c4d\"); known keys: none, {}",
        names.join(", ")
    ))
}

/// A TUTK (Wyze) UID: 20 letters and digits (`wyze.md`: `p2p_id`).
pub fn check_tutk_uid(uid: &str) -> Result<(), String> {
    if uid.len() == 20
        && uid
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(format!(
            "{uid:?} is not a TUTK UID: 20 capital letters and digits, as in the Wyze app or device list"
        ))
    }
}

/// A Wyze ENR: 16 characters, or 32 for cameras whose K-auth uses both
/// halves (`wyze.md` §2: status 3 keys with ENR[0:16], status 6 with
/// ENR[16:32] too), printable and without spaces. The value is never shown.
pub fn check_enr(enr: &str) -> Result<(), String> {
    let n = enr.chars().count();
    if (n == 16 || n == 32) && enr.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(format!(
            "not an ENR: it is 16 (or 32) printable characters without spaces, this one has {n} (the value is not shown)"
        ))
    }
}

/// A MAC address: 12 hex digits, optionally grouped by `:` or `-`.
pub fn check_mac(mac: &str) -> Result<(), String> {
    let digits: String = mac.chars().filter(|c| *c != ':' && *c != '-').collect();
    let grouped_ok = mac.len() == 12 || mac.len() == 17;
    if grouped_ok && digits.len() == 12 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "{mac:?} is not a MAC address: 12 hex digits, e.g. AABBCCDDEEFF or AA:BB:CC:DD:EE:FF"
        ))
    }
}

/// A UID as compared for duplicates: no hyphens, upper case.
pub fn uid_key(uid: &str) -> String {
    uid.chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_take_names_addresses_and_ports_1_to_65535() {
        assert_eq!(split_host_port("cam.lan"), Ok(("cam.lan", None)));
        assert_eq!(
            split_host_port("10.0.0.2:32108"),
            Ok(("10.0.0.2", Some(32108)))
        );
        assert_eq!(split_host_port("[fe80::1]:80"), Ok(("fe80::1", Some(80))));
        assert_eq!(split_host_port("fe80::1"), Ok(("fe80::1", None)));
        for bad in [
            "10.0.0.2:0",
            "10.0.0.2:70000",
            "10.0.0.2:x",
            ":80",
            "",
            "a b",
            "http://x",
        ] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_psk_is_a_known_name_or_four_hex_bytes() {
        for ok in ["", "none", "camera", "SHIX", "1a2b3c4d", "0x1A2B3C4D"] {
            assert!(check_psk(ok).is_ok(), "{ok}");
        }
        for bad in ["foo", "12345", "1a2b3c4d5e"] {
            let e = check_psk(bad).unwrap_err();
            assert!(e.contains("known keys: none, \"camera\""), "{e}");
        }
    }

    #[test]
    fn uids_enrs_and_macs_have_their_shapes_and_an_enr_is_never_echoed() {
        assert!(check_tutk_uid("HSBJYB5HSETGCDWD111A").is_ok());
        for bad in [
            "HSBJYB5HSETGCDWD111",
            "hsbjyb5hsetgcdwd111a",
            "HSBJ-YB5HSETGCDWD111A",
        ] {
            assert!(check_tutk_uid(bad).is_err(), "{bad}");
        }
        assert!(check_enr("aKzdqckqZ8HUHFe5").is_ok());
        assert!(check_enr("aKzdqckqZ8HUHFe5aKzdqckqZ8HUHFe5").is_ok());
        let e = check_enr("secretsecret").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert!(check_enr("aKzdqckqZ8HU Fe5").is_err());
        for ok in ["AABBCCDDEEFF", "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF"] {
            assert!(check_mac(ok).is_ok(), "{ok}");
        }
        for bad in ["zz", "AABBCCDDEEF", "AABBCCDDEEFF00", "AA:BBCCDDEEFF"] {
            assert!(check_mac(bad).is_err(), "{bad}");
        }
        assert_eq!(uid_key("dgoa-123456-abcde"), "DGOA123456ABCDE");
    }
}
