//! The TLS 1.2 PRF (RFC 5246 §5, P_SHA256) and the three things DTLS derives
//! with it: the master secret, the key block and the Finished `verify_data`.
//!
//! Owns no state and no secrets beyond its arguments; callers wipe nothing
//! here because every output goes straight into a key schedule.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Length of the master secret.
pub const MASTER_LEN: usize = 48;
/// Length of a Finished message's `verify_data`.
pub const VERIFY_LEN: usize = 12;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `PRF(secret, label, seed)` truncated to `out.len()` bytes.
pub fn prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    // A(1) = HMAC(secret, label ‖ seed); A(i+1) = HMAC(secret, A(i)).
    let mut a = hmac(secret, &[label, seed]);
    for chunk in out.chunks_mut(32) {
        let block = hmac(secret, &[&a, label, seed]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        a = hmac(secret, &[&a]);
    }
}

/// The premaster secret: `u16(len) ‖ other ‖ u16(32) ‖ psk` (RFC 4279 §2 with
/// `other` = N zero bytes for plain PSK; RFC 5489 §2 with `other` = the X25519
/// shared secret for ECDHE_PSK).
pub fn premaster(other: &[u8], psk: &[u8; 32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + other.len() + psk.len());
    // Both are at most 32 bytes here.
    v.extend_from_slice(&u16::try_from(other.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(other);
    v.extend_from_slice(&32u16.to_be_bytes());
    v.extend_from_slice(psk);
    v
}

/// `master_secret = PRF(pms, "master secret", client_random ‖ server_random)[..48]`
/// (no extended master secret: the cameras do not do it).
pub fn master_secret(
    pms: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> [u8; MASTER_LEN] {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(client_random);
    seed[32..].copy_from_slice(server_random);
    let mut out = [0u8; MASTER_LEN];
    prf(pms, b"master secret", &seed, &mut out);
    out
}

/// `key_block = PRF(master, "key expansion", server_random ‖ client_random)`.
pub fn key_block(
    master: &[u8; MASTER_LEN],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    len: usize,
) -> Vec<u8> {
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(server_random);
    seed[32..].copy_from_slice(client_random);
    let mut out = vec![0u8; len];
    prf(master, b"key expansion", &seed, &mut out);
    out
}

/// Which side's Finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `"client finished"`.
    Client,
    /// `"server finished"`.
    Server,
}

/// `verify_data = PRF(master, "<side> finished", SHA-256(transcript))[..12]`.
pub fn finished(master: &[u8; MASTER_LEN], side: Side, transcript: &[u8]) -> [u8; VERIFY_LEN] {
    let label: &[u8] = match side {
        Side::Client => b"client finished",
        Side::Server => b"server finished",
    };
    let hash = Sha256::digest(transcript);
    let mut out = [0u8; VERIFY_LEN];
    prf(master, label, &hash, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
    }

    /// The TLS 1.2 PRF (P_SHA256) test vector posted to the IETF TLS
    /// working-group list ("TLS 1.2 PRF test vectors",
    /// www.ietf.org/mail-archive/web/tls/current/msg03416.html), the one most
    /// TLS stacks test against: 100 bytes of `PRF(secret, "test label", seed)`.
    #[test]
    fn prf_sha256_matches_the_published_vector() {
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        prf(&secret, b"test label", &seed, &mut out);
        let expected = hex(concat!(
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a",
            "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab",
            "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701",
            "87347b66"
        ));
        assert_eq!(out.to_vec(), expected);
    }

    #[test]
    fn premaster_has_the_rfc_4279_layout() {
        let psk = [7u8; 32];
        let pms = premaster(&[0u8; 32], &psk);
        assert_eq!(pms.len(), 68);
        assert_eq!(&pms[..2], &[0, 32]);
        assert_eq!(&pms[34..36], &[0, 32]);
        assert_eq!(&pms[36..], &psk);
    }
}
