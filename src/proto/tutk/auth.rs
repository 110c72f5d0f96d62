//! Credentials derived from a camera's ENR and MAC (pure):
//! * the IOTC **AuthKey** a Disco carries and CC51 keys its HMAC with
//!   (`wyze.md` §1.2, `tutk-iotc-wyze-protocol.md` §15.3);
//! * the answer to the **K10001 challenge** (`wyze.md` §1.4): XXTEA-*decrypt*
//!   the 16 challenge bytes with a key chosen by the camera's status byte.
//!
//! The ENR is a secret: it is taken as [`Secret`] and nothing here formats it.

use sha2::{Digest, Sha256};

use super::xxtea;
use crate::secret::Secret;

/// The K10001 status-1 key: the ASCII string `FFFFFFFFFFFFFFFF` (bytes 0x46),
/// not 16 bytes of 0xFF as the older notes say (`wyze.md` §1.9 item 1).
pub const DEFAULT_CHALLENGE_KEY: &[u8; 16] = b"FFFFFFFFFFFFFFFF";

/// AuthKey = Base64(SHA-256(ENR ‖ uppercase(MAC))[0..6]) with `+`→`Z`,
/// `/`→`9`, `=`→`A`: 8 ASCII characters. MAC separators (`:`/`-`) are
/// dropped first, since the cloud lists bare hex but users type colons.
pub fn authkey(enr: &Secret, mac: &str) -> [u8; 8] {
    let mac: String = mac
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut h = Sha256::new();
    h.update(enr.expose().as_bytes());
    h.update(mac.as_bytes());
    let digest = h.finalize();
    let b64 = data_encoding::BASE64.encode(&digest[..6]);
    let mut out = [0u8; 8];
    for (o, c) in out.iter_mut().zip(b64.bytes()) {
        *o = match c {
            b'+' => b'Z',
            b'/' => b'9',
            b'=' => b'A',
            c => c,
        };
    }
    out
}

/// What a K10001 status byte asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeStatus {
    /// 1: decrypt with [`DEFAULT_CHALLENGE_KEY`].
    Default,
    /// 3: decrypt with ENR[0..16].
    Enr16,
    /// 6: decrypt with ENR[0..16], then with ENR[16..32].
    Enr32,
    /// 2: the camera is updating its firmware.
    Updating,
    /// 4: the camera is checking its ENR.
    CheckingEnr,
    /// 5: the camera is off.
    Off,
    /// Anything else.
    Unknown(u8),
}

impl ChallengeStatus {
    /// From the K10001 status byte.
    pub fn from_byte(b: u8) -> Self {
        match b {
            1 => Self::Default,
            3 => Self::Enr16,
            6 => Self::Enr32,
            2 => Self::Updating,
            4 => Self::CheckingEnr,
            5 => Self::Off,
            b => Self::Unknown(b),
        }
    }

    /// The status byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Default => 1,
            Self::Enr16 => 3,
            Self::Enr32 => 6,
            Self::Updating => 2,
            Self::CheckingEnr => 4,
            Self::Off => 5,
            Self::Unknown(b) => b,
        }
    }
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The camera reported a state in which it takes no login.
    #[error("camera cannot authenticate now: {0}")]
    NotReady(&'static str),
    /// The status needs more ENR bytes than the ENR has.
    #[error("the ENR is too short for challenge status {status} (needs {need} bytes)")]
    EnrTooShort {
        /// The status byte.
        status: u8,
        /// ENR bytes the status needs.
        need: usize,
    },
    /// A status byte nobody has documented.
    #[error("unknown challenge status {0}")]
    UnknownStatus(u8),
}

fn key_at(enr: &[u8], from: usize, status: u8) -> Result<[u8; 16], ChallengeError> {
    enr.get(from..from + 16)
        .and_then(|k| <[u8; 16]>::try_from(k).ok())
        .ok_or(ChallengeError::EnrTooShort {
            status,
            need: from + 16,
        })
}

/// The 16-byte answer to a K10001 challenge. For a camera behind a base
/// station the caller passes ENR = `enr ‖ parent_enr` (`wyze.md` §1.4).
pub fn challenge_response(
    status: ChallengeStatus,
    challenge: [u8; 16],
    enr: &Secret,
) -> Result<[u8; 16], ChallengeError> {
    let enr = enr.expose().as_bytes();
    match status {
        ChallengeStatus::Default => Ok(xxtea::decrypt16(challenge, DEFAULT_CHALLENGE_KEY)),
        ChallengeStatus::Enr16 => Ok(xxtea::decrypt16(challenge, &key_at(enr, 0, 3)?)),
        ChallengeStatus::Enr32 => {
            let first = xxtea::decrypt16(challenge, &key_at(enr, 0, 6)?);
            Ok(xxtea::decrypt16(first, &key_at(enr, 16, 6)?))
        }
        ChallengeStatus::Updating => Err(ChallengeError::NotReady("updating its firmware")),
        ChallengeStatus::CheckingEnr => Err(ChallengeError::NotReady("checking its ENR")),
        ChallengeStatus::Off => Err(ChallengeError::NotReady("switched off")),
        ChallengeStatus::Unknown(b) => Err(ChallengeError::UnknownStatus(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `wyze.md` §5.4: authkey(ENR `aKzdqckqZ8HUHFe5`, MAC `AABBCCDDEEFF`) = `Jd52xEZl`.
    #[test]
    fn authkey_matches_the_reference_vector_and_ignores_mac_case_and_separators() {
        let enr = Secret::new("aKzdqckqZ8HUHFe5");
        assert_eq!(&authkey(&enr, "AABBCCDDEEFF"), b"Jd52xEZl");
        assert_eq!(&authkey(&enr, "aa:bb:cc:dd:ee:ff"), b"Jd52xEZl");
    }

    /// The substitution rule, checked independently: SHA-256 of some input
    /// whose first 6 bytes Base64-encode with `+` or `/` must come out with
    /// `Z` or `9`. We search a few ENRs for such a digest and recompute the
    /// expected key by hand from the digest (6 bytes → 8 Base64 characters,
    /// never padded, so `=` cannot appear with 6 input bytes).
    #[test]
    fn authkey_substitutes_plus_and_slash() {
        let mut seen = (false, false);
        for i in 0..500 {
            let enr = format!("enr{i}");
            let d = Sha256::digest(format!("{enr}AABBCCDDEEFF").as_bytes());
            let plain = data_encoding::BASE64.encode(&d[..6]);
            let key = authkey(&Secret::new(enr), "AABBCCDDEEFF");
            let expected: String = plain.replace('+', "Z").replace('/', "9");
            assert_eq!(std::str::from_utf8(&key).unwrap(), expected);
            seen.0 |= plain.contains('+');
            seen.1 |= plain.contains('/');
        }
        assert!(seen.0 && seen.1, "the search covered both substitutions");
    }

    /// `wyze.md` §5.4: XXTEA-decrypt(`00..0f`, ASCII "F"×16) = `feebd3d3…`.
    #[test]
    fn status_one_uses_the_ascii_f_key() {
        let challenge: [u8; 16] = core::array::from_fn(|i| i as u8);
        let r = challenge_response(ChallengeStatus::Default, challenge, &Secret::new("x")).unwrap();
        assert_eq!(r.to_vec(), hex("feebd3d3143820e408c5259abcd1fbb7"));
    }

    #[test]
    fn statuses_three_and_six_use_the_enr_halves() {
        let enr = Secret::new("0123456789abcdefGHIJKLMNOPQRSTUV");
        let c = [7u8; 16];
        let k1: [u8; 16] = *b"0123456789abcdef";
        let k2: [u8; 16] = *b"GHIJKLMNOPQRSTUV";
        assert_eq!(
            challenge_response(ChallengeStatus::Enr16, c, &enr).unwrap(),
            xxtea::decrypt16(c, &k1)
        );
        assert_eq!(
            challenge_response(ChallengeStatus::Enr32, c, &enr).unwrap(),
            xxtea::decrypt16(xxtea::decrypt16(c, &k1), &k2)
        );
        // The camera encrypted with the same keys in the other order: the
        // response recovers its plaintext.
        let plain = [0x42u8; 16];
        let sent = xxtea::encrypt16(xxtea::encrypt16(plain, &k2), &k1);
        assert_eq!(
            challenge_response(ChallengeStatus::Enr32, sent, &enr).unwrap(),
            plain
        );
    }

    #[test]
    fn unanswerable_statuses_and_short_enrs_are_errors_that_never_show_the_enr() {
        let enr = Secret::new("short-secret-enr");
        let e = challenge_response(ChallengeStatus::Enr32, [0; 16], &enr).unwrap_err();
        assert_eq!(
            e,
            ChallengeError::EnrTooShort {
                status: 6,
                need: 32
            }
        );
        assert!(!e.to_string().contains("short-secret"));
        for (b, text) in [(2, "updating"), (4, "checking"), (5, "off")] {
            let e = challenge_response(ChallengeStatus::from_byte(b), [0; 16], &enr).unwrap_err();
            assert!(e.to_string().contains(text), "{e}");
        }
        assert_eq!(
            challenge_response(ChallengeStatus::from_byte(9), [0; 16], &enr),
            Err(ChallengeError::UnknownStatus(9))
        );
        for b in 0..=255u8 {
            assert_eq!(ChallengeStatus::from_byte(b).byte(), b);
        }
    }
}
