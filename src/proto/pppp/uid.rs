//! PPPP device ids (UIDs / DIDs): `PREFIX-SERIAL-CHECK`, e.g. `DGOA-933765-NDBND`,
//! often written without hyphens (`BATD156362WONJM`). On the wire: prefix in 8
//! NUL-padded bytes, serial as u32 big-endian, check code in 8 NUL-padded bytes
//! (`pppp.md` §1.2–1.3). Prefixes have 3 to 7 letters.

use std::fmt;
use std::str::FromStr;

use crate::proto::codec::{Reader, WireError};

/// Bytes a UID takes on the wire.
pub const UID_WIRE_LEN: usize = 20;

/// A PPPP UID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid {
    prefix: String,
    serial: u32,
    check: String,
}

/// Why a text is not a UID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    /// The prefix is not 3–7 ASCII letters.
    #[error("a UID starts with 3 to 7 letters (e.g. DGOA-933765-NDBND)")]
    Prefix,
    /// The serial is missing or too large.
    #[error("a UID has a serial number of at most 10 digits after its prefix")]
    Serial,
    /// The check code is not 1–8 ASCII letters.
    #[error("a UID ends with a check code of 1 to 8 letters")]
    Check,
}

fn letters(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

impl Uid {
    /// A UID from its parts (letters are upper-cased).
    pub fn new(prefix: &str, serial: u32, check: &str) -> Result<Self, UidError> {
        if !letters(prefix, 3, 7) {
            return Err(UidError::Prefix);
        }
        if !letters(check, 1, 8) {
            return Err(UidError::Check);
        }
        Ok(Self {
            prefix: prefix.to_ascii_uppercase(),
            serial,
            check: check.to_ascii_uppercase(),
        })
    }

    /// The vendor prefix (`DGOA`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The check code (`NDBND`).
    pub fn check(&self) -> &str {
        &self.check
    }

    /// The UID without hyphens, as apps and AP SSIDs show it (`DGOA933765NDBND`).
    pub fn compact(&self) -> String {
        format!("{}{:06}{}", self.prefix, self.serial, self.check)
    }

    /// Writes the 20-byte wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut field = |s: &str| {
            let mut b = [0u8; 8];
            b[..s.len()].copy_from_slice(s.as_bytes());
            out.extend_from_slice(&b);
        };
        field(&self.prefix);
        out.extend_from_slice(&self.serial.to_be_bytes());
        let mut b = [0u8; 8];
        b[..self.check.len()].copy_from_slice(self.check.as_bytes());
        out.extend_from_slice(&b);
    }

    /// Reads the 20-byte wire form.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let prefix = nul_padded(r.take(8)?)?;
        let serial = r.u32_be()?;
        let check = nul_padded(r.take(8)?)?;
        Self::new(&prefix, serial, &check).map_err(|e| WireError::Invalid {
            field: "uid",
            reason: e.to_string(),
        })
    }
}

fn nul_padded(b: &[u8]) -> Result<String, WireError> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let (text, pad) = b.split_at(end);
    if pad.iter().any(|&c| c != 0) || !text.is_ascii() {
        return Err(WireError::Invalid {
            field: "uid",
            reason: "not NUL-padded ASCII".into(),
        });
    }
    Ok(String::from_utf8_lossy(text).into_owned())
}

impl fmt::Display for Uid {
    /// `PREFIX-SERIAL-CHECK`, the serial zero-padded to 6 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:06}-{}", self.prefix, self.serial, self.check)
    }
}

impl FromStr for Uid {
    type Err = UidError;

    /// Accepts `BATD-156362-WONJM`, `BATD156362WONJM` and lower case.
    fn from_str(s: &str) -> Result<Self, UidError> {
        let s: String = s.trim().chars().filter(|c| *c != '-').collect();
        let digits_at = s
            .find(|c: char| c.is_ascii_digit())
            .ok_or(UidError::Serial)?;
        let (prefix, rest) = s.split_at(digits_at);
        let check_at = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or(UidError::Check)?;
        let (digits, check) = rest.split_at(check_at);
        if digits.len() > 10 {
            return Err(UidError::Serial);
        }
        let serial = digits.parse::<u32>().map_err(|_| UidError::Serial)?;
        Self::new(prefix, serial, check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_or_without_hyphens_and_prints_the_canonical_form() {
        for s in ["BATD-156362-WONJM", "BATD156362WONJM", "batd-156362-wonjm"] {
            let u: Uid = s.parse().unwrap();
            assert_eq!(u.to_string(), "BATD-156362-WONJM");
            assert_eq!(u.compact(), "BATD156362WONJM");
        }
        // A 3-letter prefix and a short serial (cam-reverse tests: XHA-994-KMMEB).
        let u: Uid = "XHA-994-KMMEB".parse().unwrap();
        assert_eq!((u.prefix(), u.serial(), u.check()), ("XHA", 994, "KMMEB"));
        assert_eq!(u.to_string(), "XHA-000994-KMMEB");
        assert_eq!("XHA000994KMMEB".parse::<Uid>().unwrap(), u);
        // A 7-letter prefix.
        assert_eq!(
            "OEMAAAA-123456-ABCDE".parse::<Uid>().unwrap().prefix(),
            "OEMAAAA"
        );
        for bad in [
            "",
            "AB-1-C",
            "ABCDEFGH-1-C",
            "ABC-X",
            "ABC-1",
            "ABC-12345678901-X",
            "ABC-1-ABCDEFGHI",
        ] {
            assert!(bad.parse::<Uid>().is_err(), "{bad}");
        }
    }

    /// cam-reverse `tests/fn.test.js` "parses PunchPkt": the payload of
    /// `f14100144241544400000000000262ca574f4e4a4d000000` is BATD-156362-WONJM.
    #[test]
    fn wire_form_matches_a_captured_punch_packet() {
        let payload = [
            0x42, 0x41, 0x54, 0x44, 0, 0, 0, 0, 0x00, 0x02, 0x62, 0xca, 0x57, 0x4f, 0x4e, 0x4a,
            0x4d, 0, 0, 0,
        ];
        let uid = Uid::decode(&mut Reader::new(&payload)).unwrap();
        assert_eq!(uid.to_string(), "BATD-156362-WONJM");
        let mut out = Vec::new();
        uid.encode(&mut out);
        assert_eq!(out, payload);
    }

    #[test]
    fn garbage_in_the_wire_form_is_an_error() {
        let mut bad = vec![b'A', 0, b'B', 0, 0, 0, 0, 0];
        bad.extend_from_slice(&[0; 12]);
        assert!(Uid::decode(&mut Reader::new(&bad)).is_err());
        assert!(Uid::decode(&mut Reader::new(&[0x41; 10])).is_err());
    }
}
