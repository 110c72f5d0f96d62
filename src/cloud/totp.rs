//! Time-based one-time passwords (RFC 6238, on HOTP, RFC 4226) for Wyze
//! accounts with 2FA: HMAC-SHA1, 30-second steps, 6 digits, from a base32
//! secret (`wyze.md` §3: "TOTP is standard RFC 6238 (SHA-1, 30 s, 6 digits)").
//! Pure: the caller passes the Unix time.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::secret::Secret;

/// Why a TOTP secret is unusable (never shows the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not base32 (A–Z, 2–7; spaces, hyphens and `=` padding are ignored).
    #[error("the TOTP secret is not base32 (letters A-Z and digits 2-7)")]
    NotBase32,
    /// Decodes to nothing.
    #[error("the TOTP secret is empty")]
    Empty,
}

/// A TOTP generator for one secret.
#[derive(Clone)]
pub struct Totp {
    key: Vec<u8>,
    step: u64,
    digits: u32,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp { .. }")
    }
}

impl Totp {
    /// From the base32 secret an authenticator app is given (case, spaces,
    /// hyphens and padding do not matter); 30 s steps, 6 digits.
    pub fn from_base32(secret: &Secret) -> Result<Self, TotpError> {
        let cleaned: String = secret
            .expose()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '='))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let key = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| TotpError::NotBase32)?;
        if key.is_empty() {
            return Err(TotpError::Empty);
        }
        Ok(Self::from_key(key, 30, 6))
    }

    /// From raw key bytes, a step in seconds and a number of digits (6–9).
    pub fn from_key(key: Vec<u8>, step: u64, digits: u32) -> Self {
        Self {
            key,
            step: step.max(1),
            digits: digits.clamp(6, 9),
        }
    }

    /// HOTP (RFC 4226 §5.3) for `counter`.
    pub fn hotp(&self, counter: u64) -> u32 {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.key) else {
            return 0;
        };
        mac.update(&counter.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let off = usize::from(h[h.len() - 1] & 0x0F);
        let bin = u32::from_be_bytes([h[off] & 0x7F, h[off + 1], h[off + 2], h[off + 3]]);
        bin % 10u32.pow(self.digits)
    }

    /// The code for Unix time `unix_secs`, zero-padded (`"007081"`).
    pub fn code(&self, unix_secs: u64) -> String {
        format!(
            "{:0width$}",
            self.hotp(unix_secs / self.step),
            width = self.digits as usize
        )
    }

    /// Seconds until the code for `unix_secs` changes (so a caller can avoid
    /// sending a code that expires in flight).
    pub fn remaining(&self, unix_secs: u64) -> u64 {
        self.step - unix_secs % self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: seed "12345678901234567890", 8 digits.
    #[test]
    fn rfc_6238_sha1_vectors() {
        let t = Totp::from_key(b"12345678901234567890".to_vec(), 30, 8);
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.code(time), code, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0–9 (6 digits).
    #[test]
    fn rfc_4226_hotp_vectors() {
        let t = Totp::from_key(b"12345678901234567890".to_vec(), 30, 6);
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(t.hotp(c as u64), *w, "counter {c}");
        }
    }

    #[test]
    fn base32_secrets_as_apps_show_them() {
        // "12345678901234567890" in base32, grouped and lower-cased as apps print it.
        let s = Secret::new("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
        let t = Totp::from_base32(&s).unwrap();
        assert_eq!(t.code(59), "287082");
        assert_eq!(t.remaining(59), 1);
        assert_eq!(
            Totp::from_base32(&Secret::new("not base32!")).unwrap_err(),
            TotpError::NotBase32
        );
        assert_eq!(
            Totp::from_base32(&Secret::new("")).unwrap_err(),
            TotpError::Empty
        );
        assert!(!format!("{t:?}").contains("GEZD"));
    }
}
