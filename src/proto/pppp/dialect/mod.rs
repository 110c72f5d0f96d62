//! The three application-layer dialects spoken inside DRW channel 0
//! (`pppp.md` §3): pure encoders and decoders for both directions, so the
//! bridge (client) and the camera simulator share one codec.
//!
//! | dialect | module | block | cameras |
//! |---|---|---|---|
//! | [`Dialect::Json`] | [`json`] | `06 0A A0 80` + u32 LE length + JSON | DGOx, PIXA (HDWiFiCamPro, vi365) |
//! | [`Dialect::Binary`] | [`binary`] | `11 0A` + LE cmd/len/dest + ticket + XqBytes payload | FTYC, BATx, XHA, PTZA (YsxLite) |
//! | [`Dialect::Cgi`] | [`cgi`] | `01 0A 00 00` + u16 LE length + `00 00` + `GET /….cgi?…` | ACCQ/BCCQ Little Stars (EXPERIMENTAL) |
//!
//! # How a session picks the dialect
//! The reference projects tell the dialect from the datagram obfuscation that
//! the camera answered a LAN search in (`pppp.md` §2.3, aiopppp): XOR-encrypted
//! with any key → JSON, plaintext → binary, and the Little Stars key
//! `@@@@....` → CGI (aiopppp's `little-stars` branch). [`Dialect::guess`]
//! implements exactly that. It is a heuristic (one vi365 DGOK answered in
//! plaintext and still spoke JSON, cam-reverse #51), so a per-camera setting
//! must be able to override it.
//!
//! # Passwords
//! Every password handled here is a [`Password`]: it never shows in `Debug`,
//! `Display` or an error. Builders take `&str` so callers expose their
//! `Secret` exactly where the bytes go onto the wire. (`proto` may only depend
//! on `proto` and `model`, so this module cannot name `crate::secret::Secret`;
//! [`Password`] is its wire-side counterpart with the same guarantees.)
//!
//! # Errors
//! Decoders return [`WireError`](crate::proto::codec::WireError) and never
//! panic; builders return [`BuildError`] when a value does not fit the wire
//! format. Neither ever carries the value that failed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::obfuscate::{Key, Obfuscation};

pub mod binary;
pub mod cgi;
pub mod json;

/// What a redacted value prints as (the same marker as `crate::secret`).
pub const REDACTED: &str = "<redacted>";

/// The PSK of the Little Stars (ACCQ/BCCQ) cameras, whose firmware speaks CGI.
pub const LITTLE_STARS_PSK: &str = "@@@@....";

/// An application-layer dialect inside DRW channel 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// JSON blocks (`pppp.md` §3.1).
    Json,
    /// Binary iLnk commands (`pppp.md` §3.2).
    Binary,
    /// CGI requests tunnelled over PPPP (`pppp.md` §3.3; EXPERIMENTAL).
    Cgi,
}

impl Dialect {
    /// Every dialect, in the order [`Dialect::guess`] considers them.
    pub const ALL: [Dialect; 3] = [Dialect::Json, Dialect::Binary, Dialect::Cgi];

    /// The name used in configuration and logs: `json`, `binary` or `cgi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Binary => "binary",
            Self::Cgi => "cgi",
        }
    }

    /// The factory user name and password cameras of this dialect ship with.
    ///
    /// * JSON: `admin` / `6666`, **documented**: A9_PPPP and magicus/PPPP send
    ///   it, and the SHIX apk has "6666" as a constant (`pppp.md` §3.1).
    /// * Binary: `admin` / `admin`, **documented** as what cam-reverse logs in
    ///   with on real YsxLite cameras (`pppp.md` §3.2). aiopppp's
    ///   `BinarySession` defaults to `6666` instead, so some firmware may differ.
    /// * CGI: `admin` / `admin`, **guessed** from the one request in aiopppp's
    ///   `little-stars` branch (`check_user.cgi?loginuse=admin&loginpas=admin…`)
    ///   and its `LittleStarsSession.DEFAULT_PASSWORD`; not confirmed on hardware.
    pub fn default_credentials(self) -> (&'static str, &'static str) {
        match self {
            Self::Json => ("admin", "6666"),
            Self::Binary => ("admin", "admin"),
            Self::Cgi => ("admin", "admin"),
        }
    }

    /// The dialect a camera probably speaks, from the obfuscation its PunchPkt
    /// came in: plaintext → binary, the `@@@@....` key → CGI, any other key →
    /// JSON. A heuristic (see the module docs); let configuration override it.
    pub fn guess(obfuscation: &Obfuscation) -> Self {
        match obfuscation {
            Obfuscation::None => Self::Binary,
            Obfuscation::Xor(key) if *key == Key::from_psk(LITTLE_STARS_PSK) => Self::Cgi,
            Obfuscation::Xor(_) => Self::Json,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of `json`, `binary`, `cgi`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect {0:?}: expected json, binary or cgi")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// Parses `json`, `binary` or `cgi` (ASCII case-insensitive, surrounding
    /// whitespace ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownDialect(t.chars().take(32).collect()))
    }
}

/// A password on its way to or from the wire. `Debug` and `Display` print
/// [`REDACTED`] (or nothing when empty), like `crate::secret::Secret`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The password itself. Call only where the bytes go onto the wire or are
    /// compared with the expected one.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the password is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { REDACTED })
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

/// Why a builder cannot put a value on the wire. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The value does not fit its fixed-size field or length prefix.
    #[error("{field} is too long: at most {max} bytes")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The longest value the field takes.
        max: usize,
    },
    /// The value has a byte the format cannot carry.
    #[error("{field} must not contain {what}")]
    Forbidden {
        /// Which field.
        field: &'static str,
        /// What was found (a description, never the value).
        what: &'static str,
    },
}

/// True for keys whose values are credentials (`pwd`, `loginpas`, `wpa_psk`,
/// `wifipwd`, `cloud_key`, `newpwd`, …): their values are redacted in `Debug`.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pwd", "pas", "psk", "key", "secret", "token"]
        .iter()
        .any(|s| k.contains(s))
}

/// Writes `value` into a fixed `field`-byte slot, NUL-padded. With
/// `need_nul`, one byte is kept for a terminating NUL.
pub(crate) fn put_fixed(
    out: &mut Vec<u8>,
    field: &'static str,
    value: &str,
    size: usize,
    need_nul: bool,
) -> Result<(), BuildError> {
    let bytes = value.as_bytes();
    if bytes.contains(&0) {
        return Err(BuildError::Forbidden {
            field,
            what: "a NUL byte",
        });
    }
    let max = if need_nul {
        size.saturating_sub(1)
    } else {
        size
    };
    if bytes.len() > max {
        return Err(BuildError::TooLong { field, max });
    }
    out.extend_from_slice(bytes);
    out.resize(out.len() + size - bytes.len(), 0);
    Ok(())
}

/// Reads a NUL-padded fixed-size string (up to the first NUL, lossy UTF-8).
pub(crate) fn get_fixed(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_names_parse_and_print_back() {
        for d in Dialect::ALL {
            assert_eq!(d.to_string().parse::<Dialect>().unwrap(), d);
        }
        assert_eq!(" JSON ".parse::<Dialect>().unwrap(), Dialect::Json);
        let err = "tutk".parse::<Dialect>().unwrap_err();
        assert!(err.to_string().contains("json, binary or cgi"), "{err}");
        assert_eq!(
            serde_json::to_string(&Dialect::Binary).unwrap(),
            "\"binary\""
        );
    }

    #[test]
    fn default_credentials_follow_the_references() {
        assert_eq!(Dialect::Json.default_credentials(), ("admin", "6666"));
        assert_eq!(Dialect::Binary.default_credentials(), ("admin", "admin"));
        assert_eq!(Dialect::Cgi.default_credentials(), ("admin", "admin"));
    }

    #[test]
    fn the_obfuscation_key_picks_the_dialect() {
        assert_eq!(Dialect::guess(&Obfuscation::None), Dialect::Binary);
        let camera = Obfuscation::Xor(Key::from_psk("camera"));
        assert_eq!(Dialect::guess(&camera), Dialect::Json);
        let shix = Obfuscation::Xor(Key::from_psk("SHIX"));
        assert_eq!(Dialect::guess(&shix), Dialect::Json);
        let stars = Obfuscation::Xor(Key([0xB8, 0x48, 0x90, 0x00]));
        assert_eq!(Dialect::guess(&stars), Dialect::Cgi);
    }

    #[test]
    fn a_password_never_prints_itself() {
        let p = Password::new("hunter2");
        assert_eq!(format!("{p}"), REDACTED);
        assert_eq!(format!("{p:?}"), REDACTED);
        assert_eq!(p.expose(), "hunter2");
        assert_eq!(format!("{:?}", Password::default()), "\"\"");
    }

    #[test]
    fn fixed_fields_are_nul_padded_and_bounded() {
        let mut out = Vec::new();
        put_fixed(&mut out, "user", "abc", 5, true).unwrap();
        assert_eq!(out, b"abc\0\0");
        assert_eq!(get_fixed(&out), "abc");
        assert_eq!(
            put_fixed(&mut out, "user", "abcde", 5, true),
            Err(BuildError::TooLong {
                field: "user",
                max: 4
            })
        );
        put_fixed(&mut out, "ssid", "abcde", 5, false).unwrap();
        assert_eq!(get_fixed(b"abcde"), "abcde");
        assert!(matches!(
            put_fixed(&mut out, "pwd", "a\0b", 5, true),
            Err(BuildError::Forbidden { .. })
        ));
    }
}
