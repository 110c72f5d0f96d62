//! The two cipher suites Wyze cameras speak and their record protection:
//! [`CipherSuite`] names them; [`RecordCipher`] seals and opens one record's
//! fragment with one direction's keys.
//!
//! - `0xCCAC` TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905): nonce =
//!   IV ⊕ (0⁴ ‖ epoch ‖ seq48), AAD = epoch ‖ seq48 ‖ type ‖ version ‖ length,
//!   16-byte tag after the ciphertext.
//! - `0x00AE` TLS_PSK_WITH_AES_128_CBC_SHA256 (RFC 5487): MAC-then-encrypt with
//!   HMAC-SHA256, a fresh random IV per record, TLS padding. The padding is
//!   checked without an early exit and the MAC compared in constant time; the
//!   MAC is still computed over a length that depends on the padding (the
//!   Lucky-13 timing residue is accepted for a LAN camera link).
//!
//! This module owns no sequence numbers or epochs: the record layer passes
//! them in. It never logs or prints keys (`Debug` is redacted).

use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use chacha20poly1305::{AeadInOut, ChaCha20Poly1305, KeyInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};

/// A cipher suite this engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// `0xCCAC` TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, X25519 only: what
    /// Wyze cameras use on the main channel.
    EcdhePskChacha20Poly1305,
    /// `0x00AE` TLS_PSK_WITH_AES_128_CBC_SHA256: the Doorbell v1 (`WYZEDB3`)
    /// main channel and the intercom back channel (go2rtc issue #2097).
    PskAes128CbcSha256,
}

impl CipherSuite {
    /// Every suite, in the default offer order.
    pub const ALL: [CipherSuite; 2] = [Self::EcdhePskChacha20Poly1305, Self::PskAes128CbcSha256];

    /// The IANA number.
    pub const fn id(self) -> u16 {
        match self {
            Self::EcdhePskChacha20Poly1305 => 0xCCAC,
            Self::PskAes128CbcSha256 => 0x00AE,
        }
    }

    /// The suite with IANA number `id`, if we implement it.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    /// OpenSSL's name for it (`openssl ciphers`).
    pub const fn openssl_name(self) -> &'static str {
        match self {
            Self::EcdhePskChacha20Poly1305 => "ECDHE-PSK-CHACHA20-POLY1305",
            Self::PskAes128CbcSha256 => "PSK-AES128-CBC-SHA256",
        }
    }

    /// Whether the key exchange adds an X25519 share to the PSK.
    pub const fn uses_ecdhe(self) -> bool {
        matches!(self, Self::EcdhePskChacha20Poly1305)
    }

    /// Bytes of key block the suite needs (both directions).
    pub(crate) const fn key_block_len(self) -> usize {
        match self {
            // keys 2 × 32, IVs 2 × 12
            Self::EcdhePskChacha20Poly1305 => 88,
            // MAC keys 2 × 32, keys 2 × 16 (CBC IVs are per record)
            Self::PskAes128CbcSha256 => 96,
        }
    }

    /// The largest plaintext whose protected record fragment fits in `room` bytes.
    pub(crate) fn max_plaintext(self, room: usize) -> usize {
        match self {
            Self::EcdhePskChacha20Poly1305 => room.saturating_sub(16),
            // IV 16, then whole blocks holding plaintext + MAC 32 + ≥ 1 padding byte.
            Self::PskAes128CbcSha256 => (room.saturating_sub(16) / 16 * 16).saturating_sub(33),
        }
    }
}

impl std::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.openssl_name())
    }
}

impl std::str::FromStr for CipherSuite {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.openssl_name().eq_ignore_ascii_case(s) || format!("0x{:04x}", c.id()) == s.to_ascii_lowercase())
            .ok_or_else(|| format!("unknown cipher suite {s:?} (ECDHE-PSK-CHACHA20-POLY1305 or PSK-AES128-CBC-SHA256)"))
    }
}

/// What a record's protection binds besides its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    /// Content type byte.
    pub content_type: u8,
    /// Record version on the wire (0xFEFD).
    pub version: u16,
    /// Epoch.
    pub epoch: u16,
    /// 48-bit sequence number within the epoch.
    pub seq: u64,
}

impl RecordMeta {
    /// epoch ‖ seq48 as the 8-byte "sequence number" TLS MACs and nonces use.
    fn seq64(&self) -> [u8; 8] {
        ((u64::from(self.epoch) << 48) | (self.seq & 0xFFFF_FFFF_FFFF)).to_be_bytes()
    }

    /// seq64 ‖ type ‖ version ‖ length (the AEAD AAD and the CBC MAC prefix).
    fn aad(&self, len: usize) -> [u8; 13] {
        let mut a = [0u8; 13];
        a[..8].copy_from_slice(&self.seq64());
        a[8] = self.content_type;
        a[9..11].copy_from_slice(&self.version.to_be_bytes());
        // Record plaintexts are bounded by the MTU (far below 64 KiB).
        a[11..].copy_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        a
    }
}

/// One direction's record protection.
#[derive(Clone)]
pub enum RecordCipher {
    /// ChaCha20-Poly1305 with its 12-byte implicit IV.
    Chacha {
        /// The AEAD keyed with this direction's write key.
        aead: Box<ChaCha20Poly1305>,
        /// The implicit IV (XORed with epoch ‖ seq).
        iv: [u8; 12],
    },
    /// AES-128-CBC + HMAC-SHA256.
    Cbc {
        /// AES key.
        key: [u8; 16],
        /// HMAC key.
        mac_key: [u8; 32],
    },
}

impl std::fmt::Debug for RecordCipher {
    /// Keys are secrets: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chacha { .. } => f.write_str("RecordCipher::Chacha { .. }"),
            Self::Cbc { .. } => f.write_str("RecordCipher::Cbc { .. }"),
        }
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

fn mac(mac_key: &[u8; 32], aad: &[u8; 13], body: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(mac_key)
        .expect("HMAC accepts any key length");
    m.update(aad);
    m.update(body);
    m.finalize().into_bytes().into()
}

impl RecordCipher {
    /// Splits a key block into (our write cipher, our read cipher).
    /// `key_block` must be `suite.key_block_len()` bytes (the caller derives it so).
    pub fn pair(suite: CipherSuite, key_block: &[u8], we_are_client: bool) -> (Self, Self) {
        let kb = key_block;
        let (client, server) = match suite {
            CipherSuite::EcdhePskChacha20Poly1305 => {
                let make = |key: &[u8], iv: &[u8]| Self::Chacha {
                    aead: Box::new(ChaCha20Poly1305::new(&arr::<32>(key).into())),
                    iv: arr(iv),
                };
                (
                    make(&kb[0..32], &kb[64..76]),
                    make(&kb[32..64], &kb[76..88]),
                )
            }
            CipherSuite::PskAes128CbcSha256 => (
                Self::Cbc {
                    mac_key: arr(&kb[0..32]),
                    key: arr(&kb[64..80]),
                },
                Self::Cbc {
                    mac_key: arr(&kb[32..64]),
                    key: arr(&kb[80..96]),
                },
            ),
        };
        if we_are_client {
            (client, server)
        } else {
            (server, client)
        }
    }

    /// Protects `plaintext` as the fragment of the record described by `meta`.
    pub fn seal(&self, meta: &RecordMeta, plaintext: &[u8], rng: &mut impl RngCore) -> Vec<u8> {
        match self {
            Self::Chacha { aead, iv } => {
                let nonce = nonce(iv, meta);
                let mut buf = plaintext.to_vec();
                let tag = aead
                    .encrypt_inout_detached(
                        &nonce.into(),
                        &meta.aad(plaintext.len()),
                        buf.as_mut_slice().into(),
                    )
                    .expect("records are far below ChaCha20-Poly1305's length limit");
                buf.extend_from_slice(&tag);
                buf
            }
            Self::Cbc { key, mac_key } => {
                let tag = mac(mac_key, &meta.aad(plaintext.len()), plaintext);
                let mut buf = Vec::with_capacity(plaintext.len() + 64);
                buf.extend_from_slice(plaintext);
                buf.extend_from_slice(&tag);
                let pad = 15 - buf.len() % 16;
                // pad < 16, so this fits a byte.
                buf.resize(buf.len() + pad + 1, pad as u8);
                let mut iv = [0u8; 16];
                rng.fill_bytes(&mut iv);
                let len = buf.len();
                cbc::Encryptor::<aes::Aes128>::new(key.into(), &iv.into())
                    .encrypt_padded::<NoPadding>(&mut buf, len)
                    .expect("the buffer is padded to whole blocks");
                let mut out = iv.to_vec();
                out.extend_from_slice(&buf);
                out
            }
        }
    }

    /// Checks and removes the protection of a record fragment; `None` when it
    /// does not authenticate (the caller drops the record and counts it).
    pub fn open(&self, meta: &RecordMeta, fragment: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Chacha { aead, iv } => {
                let body_len = fragment.len().checked_sub(16)?;
                let (ct, tag) = fragment.split_at(body_len);
                let tag: [u8; 16] = tag.try_into().ok()?;
                let mut buf = ct.to_vec();
                aead.decrypt_inout_detached(
                    &nonce(iv, meta).into(),
                    &meta.aad(body_len),
                    buf.as_mut_slice().into(),
                    &tag.into(),
                )
                .ok()?;
                Some(buf)
            }
            Self::Cbc { key, mac_key } => open_cbc(key, mac_key, meta, fragment),
        }
    }
}

fn nonce(iv: &[u8; 12], meta: &RecordMeta) -> [u8; 12] {
    let mut n = *iv;
    for (b, s) in n[4..].iter_mut().zip(meta.seq64()) {
        *b ^= s;
    }
    n
}

fn open_cbc(
    key: &[u8; 16],
    mac_key: &[u8; 32],
    meta: &RecordMeta,
    fragment: &[u8],
) -> Option<Vec<u8>> {
    // IV + at least 3 blocks (MAC 32 + padding byte), whole blocks only: these
    // checks depend on public lengths only.
    if fragment.len() < 16 + 48 || !fragment.len().is_multiple_of(16) {
        return None;
    }
    let (iv, ct) = fragment.split_at(16);
    let iv: [u8; 16] = iv.try_into().ok()?;
    let mut buf = ct.to_vec();
    cbc::Decryptor::<aes::Aes128>::new(key.into(), &iv.into())
        .decrypt_padded::<NoPadding>(&mut buf)
        .ok()?;
    let n = buf.len();
    let last = *buf.last()?;
    let pad = u64::from(last);
    // The padding plus the MAC must fit: n > pad + 32.
    let fits: Choice = (n as u64).ct_gt(&(pad + 32));
    // Every padding byte must equal `pad`; look at 256 bytes (or all) without
    // stopping early.
    let mut pad_ok = Choice::from(1u8);
    for (i, b) in buf.iter().rev().take(256).enumerate() {
        let in_pad = !(i as u64).ct_gt(&pad);
        pad_ok &= !in_pad | b.ct_eq(&last);
    }
    let good_pad = fits & pad_ok;
    // With bad padding, still MAC something (as if there were none).
    let pad_eff = u64::conditional_select(&0, &pad, good_pad);
    let content_len = n - 33 - usize::try_from(pad_eff).ok()?;
    let expect = mac(mac_key, &meta.aad(content_len), &buf[..content_len]);
    let mac_ok = expect.ct_eq(&buf[content_len..content_len + 32]);
    if bool::from(good_pad & mac_ok) {
        buf.truncate(content_len);
        Some(buf)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn meta(seq: u64) -> RecordMeta {
        RecordMeta {
            content_type: 23,
            version: 0xFEFD,
            epoch: 1,
            seq,
        }
    }

    fn ciphers(suite: CipherSuite) -> (RecordCipher, RecordCipher) {
        let kb: Vec<u8> = (0..suite.key_block_len()).map(|i| i as u8).collect();
        let (c_write, _) = RecordCipher::pair(suite, &kb, true);
        let (_, s_read) = RecordCipher::pair(suite, &kb, false);
        (c_write, s_read)
    }

    #[test]
    fn seal_then_open_round_trips_for_both_suites_at_every_length() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for suite in CipherSuite::ALL {
            let (w, r) = ciphers(suite);
            for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 1100] {
                let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let frag = w.seal(&meta(len as u64), &pt, &mut rng);
                assert!(frag.len() <= len + 16 + 48, "{suite} overhead");
                assert_eq!(
                    r.open(&meta(len as u64), &frag),
                    Some(pt),
                    "{suite} len {len}"
                );
            }
        }
    }

    #[test]
    fn tampered_or_misplaced_records_do_not_open() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        for suite in CipherSuite::ALL {
            let (w, r) = ciphers(suite);
            let frag = w.seal(&meta(5), b"hello camera", &mut rng);
            for i in 0..frag.len() {
                let mut bad = frag.clone();
                bad[i] ^= 0x01;
                assert_eq!(r.open(&meta(5), &bad), None, "{suite} flipped byte {i}");
            }
            assert_eq!(r.open(&meta(6), &frag), None, "{suite} other seq");
            assert_eq!(
                r.open(
                    &RecordMeta {
                        content_type: 22,
                        ..meta(5)
                    },
                    &frag
                ),
                None
            );
            assert_eq!(r.open(&meta(5), &frag[..frag.len() - 1]), None);
            assert_eq!(r.open(&meta(5), &[]), None);
        }
    }

    #[test]
    fn max_plaintext_fills_but_does_not_exceed_the_room() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for suite in CipherSuite::ALL {
            let (w, _) = ciphers(suite);
            for room in [100usize, 1187, 1200] {
                let n = suite.max_plaintext(room);
                assert!(w.seal(&meta(0), &vec![0; n], &mut rng).len() <= room);
                assert!(w.seal(&meta(0), &vec![0; n + 16], &mut rng).len() > room);
            }
        }
    }

    #[test]
    fn suites_parse_from_openssl_names_and_ids() {
        assert_eq!(
            "ECDHE-PSK-CHACHA20-POLY1305".parse(),
            Ok(CipherSuite::EcdhePskChacha20Poly1305)
        );
        assert_eq!("0x00ae".parse(), Ok(CipherSuite::PskAes128CbcSha256));
        assert!("RC4".parse::<CipherSuite>().is_err());
        assert_eq!(
            CipherSuite::from_id(0xCCAC),
            Some(CipherSuite::EcdhePskChacha20Poly1305)
        );
    }
}
