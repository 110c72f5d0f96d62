//! The CS2 "P2P_Proprietary" XOR obfuscation of whole PPPP datagrams, the
//! PSK → 4-byte key hash, and the table of known PSKs with the first byte they
//! put on the wire (so the key of a reply can be told from its first byte).
//!
//! Pure functions; KAT-tested against `pppp.md` §2.2 (and the encrypted
//! LanSearch `2c ba 5f 5d` that A9_PPPP and a9serv hard-code for "camera").

use std::fmt;

/// The 256-byte substitution table (`pppp-key-table.txt`; a permutation of 0–255).
const TABLE: [u8; 256] = [
    0x7C, 0x9C, 0xE8, 0x4A, 0x13, 0xDE, 0xDC, 0xB2, 0x2F, 0x21, 0x23, 0xE4, 0x30, 0x7B, 0x3D, 0x8C,
    0xBC, 0x0B, 0x27, 0x0C, 0x3C, 0xF7, 0x9A, 0xE7, 0x08, 0x71, 0x96, 0x00, 0x97, 0x85, 0xEF, 0xC1,
    0x1F, 0xC4, 0xDB, 0xA1, 0xC2, 0xEB, 0xD9, 0x01, 0xFA, 0xBA, 0x3B, 0x05, 0xB8, 0x15, 0x87, 0x83,
    0x28, 0x72, 0xD1, 0x8B, 0x5A, 0xD6, 0xDA, 0x93, 0x58, 0xFE, 0xAA, 0xCC, 0x6E, 0x1B, 0xF0, 0xA3,
    0x88, 0xAB, 0x43, 0xC0, 0x0D, 0xB5, 0x45, 0x38, 0x4F, 0x50, 0x22, 0x66, 0x20, 0x7F, 0x07, 0x5B,
    0x14, 0x98, 0x1D, 0x9B, 0xA7, 0x2A, 0xB9, 0xA8, 0xCB, 0xF1, 0xFC, 0x49, 0x47, 0x06, 0x3E, 0xB1,
    0x0E, 0x04, 0x3A, 0x94, 0x5E, 0xEE, 0x54, 0x11, 0x34, 0xDD, 0x4D, 0xF9, 0xEC, 0xC7, 0xC9, 0xE3,
    0x78, 0x1A, 0x6F, 0x70, 0x6B, 0xA4, 0xBD, 0xA9, 0x5D, 0xD5, 0xF8, 0xE5, 0xBB, 0x26, 0xAF, 0x42,
    0x37, 0xD8, 0xE1, 0x02, 0x0A, 0xAE, 0x5F, 0x1C, 0xC5, 0x73, 0x09, 0x4E, 0x69, 0x24, 0x90, 0x6D,
    0x12, 0xB3, 0x19, 0xAD, 0x74, 0x8A, 0x29, 0x40, 0xF5, 0x2D, 0xBE, 0xA5, 0x59, 0xE0, 0xF4, 0x79,
    0xD2, 0x4B, 0xCE, 0x89, 0x82, 0x48, 0x84, 0x25, 0xC6, 0x91, 0x2B, 0xA2, 0xFB, 0x8F, 0xE9, 0xA6,
    0xB0, 0x9E, 0x3F, 0x65, 0xF6, 0x03, 0x31, 0x2E, 0xAC, 0x0F, 0x95, 0x2C, 0x5C, 0xED, 0x39, 0xB7,
    0x33, 0x6C, 0x56, 0x7E, 0xB4, 0xA0, 0xFD, 0x7A, 0x81, 0x53, 0x51, 0x86, 0x8D, 0x9F, 0x77, 0xFF,
    0x6A, 0x80, 0xDF, 0xE2, 0xBF, 0x10, 0xD7, 0x75, 0x64, 0x57, 0x76, 0xF3, 0x55, 0xCD, 0xD0, 0xC8,
    0x18, 0xE6, 0x36, 0x41, 0x62, 0xCF, 0x99, 0xF2, 0x32, 0x4C, 0x67, 0x60, 0x61, 0x92, 0xCA, 0xD3,
    0xEA, 0x63, 0x7D, 0x16, 0xB6, 0x8E, 0xD4, 0x68, 0x35, 0xC3, 0x52, 0x9D, 0x46, 0x44, 0x1E, 0x17,
];

/// A 4-byte obfuscation key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub [u8; 4]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key({:02X} {:02X} {:02X} {:02X})",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

impl Key {
    /// The key a PSK string hashes to (magicus dissector `pppp_create_psk_hash`):
    /// `k0 += c; k1 -= c; k2 += c / 3; k3 ^= c` over the string's bytes.
    pub fn from_psk(psk: &str) -> Self {
        let mut k = [0u8; 4];
        for &c in psk.as_bytes() {
            k[0] = k[0].wrapping_add(c);
            k[1] = k[1].wrapping_sub(c);
            k[2] = k[2].wrapping_add(c / 3);
            k[3] ^= c;
        }
        Self(k)
    }

    fn mask(&self, prev: u8) -> u8 {
        let i = self.0[usize::from(prev & 3)].wrapping_add(prev);
        TABLE[usize::from(i)]
    }

    /// Obfuscates `data` in place (the state restarts for every datagram; the
    /// previous *output* byte feeds the next mask).
    pub fn encrypt(&self, data: &mut [u8]) {
        let mut prev = 0u8;
        for b in data {
            *b ^= self.mask(prev);
            prev = *b;
        }
    }

    /// Reverses [`Key::encrypt`] in place (the previous *input* byte feeds the
    /// next mask).
    pub fn decrypt(&self, data: &mut [u8]) {
        let mut prev = 0u8;
        for b in data {
            let c = *b;
            *b ^= self.mask(prev);
            prev = c;
        }
    }

    /// The first byte every datagram obfuscated with this key starts with
    /// (its plaintext first byte is always `F1`).
    pub fn first_wire_byte(&self) -> u8 {
        self.mask(0) ^ 0xF1
    }
}

/// How a camera's datagrams are obfuscated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Obfuscation {
    /// Plaintext (YsxLite binary cameras: FTYC, BATx, XHA, PTZA…).
    None,
    /// XOR with a key.
    Xor(Key),
}

impl Obfuscation {
    /// Applies to an outgoing datagram.
    pub fn seal(&self, data: &mut [u8]) {
        if let Self::Xor(k) = self {
            k.encrypt(data);
        }
    }

    /// Removes from an incoming datagram.
    pub fn open(&self, data: &mut [u8]) {
        if let Self::Xor(k) = self {
            k.decrypt(data);
        }
    }

    /// The first wire byte of every datagram (F1 in plaintext).
    pub fn first_wire_byte(&self) -> u8 {
        match self {
            Self::None => 0xF1,
            Self::Xor(k) => k.first_wire_byte(),
        }
    }
}

/// A PSK known from the vendors' apps and firmware (`pppp.md` §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownPsk {
    /// The PSK string, as users and references name it.
    pub name: &'static str,
    /// UID prefixes and apps known to use it (for docs and `discover`).
    pub used_by: &'static str,
}

/// Every known PSK. Their keys all have distinct first wire bytes (tested),
/// so the first byte of a reply names its key.
pub const KNOWN_PSKS: [KnownPsk; 14] = [
    KnownPsk {
        name: "camera",
        used_by: "DGOA-DGOK, DGB, DGHA, DGKA-C, NMSA/B/Z, PETA (HDWiFiCamPro, vi365)",
    },
    KnownPsk {
        name: "SHIX",
        used_by: "PIXA-D, AAA, ABC, DDD, EEE, FFF, HBW, NNN (PIX-LINK)",
    },
    KnownPsk {
        name: "@@@@....",
        used_by: "ACCQ, ACCR, ACCS, BCCQ (Little Stars)",
    },
    KnownPsk {
        name: "SSD@cs2-network.",
        used_by: "CS2 cloud P2P servers",
    },
    KnownPsk {
        name: "VMSV",
        used_by: "VMA, VMP, VMS, VMV",
    },
    KnownPsk {
        name: "FERRY@88",
        used_by: "FYIOT, FYPPCS, FYRTOS",
    },
    KnownPsk {
        name: "mycamera",
        used_by: "PPIL, PPLL, PPSL",
    },
    KnownPsk {
        name: "Deng123abc",
        used_by: "LIUX, PIR, TUT",
    },
    KnownPsk {
        name: "Duncom",
        used_by: "DUNIOTA, NANOIOT",
    },
    KnownPsk {
        name: "JX20130716",
        used_by: "AYS, XYX",
    },
    KnownPsk {
        name: "hyWHzyhtzH",
        used_by: "THPC",
    },
    KnownPsk {
        name: "JYDGAOZHANP2P",
        used_by: "JYDGZ",
    },
    KnownPsk {
        name: "SZGMBESTER",
        used_by: "XGAK",
    },
    KnownPsk {
        name: "vstarcam2018",
        used_by: "VE",
    },
];

/// Every obfuscation a LAN search is sent in: plaintext, then each known PSK.
pub fn all_obfuscations() -> impl Iterator<Item = (Option<&'static str>, Obfuscation)> {
    std::iter::once((None, Obfuscation::None)).chain(
        KNOWN_PSKS
            .iter()
            .map(|p| (Some(p.name), Obfuscation::Xor(Key::from_psk(p.name)))),
    )
}

/// The obfuscation whose datagrams start with `first` (and its PSK name), if known.
pub fn detect(first: u8) -> Option<(Option<&'static str>, Obfuscation)> {
    all_obfuscations().find(|(_, o)| o.first_wire_byte() == first)
}

/// A per-camera `psk` setting: a known name, `none`, or 4 key bytes in hex
/// (`"69 97 CC 19"`, `"6997cc19"`, or `"0x6997cc19"`). Unknown names are
/// hashed as PSK strings, which is what the firmware does with them.
pub fn parse_psk_setting(s: &str) -> Result<Obfuscation, String> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(Obfuscation::None);
    }
    if let Some(p) = KNOWN_PSKS.iter().find(|p| p.name == t) {
        return Ok(Obfuscation::Xor(Key::from_psk(p.name)));
    }
    let hex: String = t
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut k = [0u8; 4];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        return Ok(Obfuscation::Xor(Key(k)));
    }
    if t.len() > 64 {
        return Err("a PSK is at most 64 characters".into());
    }
    Ok(Obfuscation::Xor(Key::from_psk(t)))
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

    /// `pppp.md` §2.2 table: PSK → key → first wire byte → encrypted LanSearch
    /// (`F1 30 00 00`). The references' author computed the rows with this
    /// table; the "camera" row is also hard-coded in A9_PPPP and hyc/a9serv.
    const VECTORS: [(&str, [u8; 4], u8, &str); 14] = [
        ("camera", [0x69, 0x97, 0xCC, 0x19], 0x2C, "2cba5f5d"),
        ("SHIX", [0x3C, 0xC4, 0x68, 0x0A], 0x9F, "9fa1eeb9"),
        ("@@@@....", [0xB8, 0x48, 0x90, 0x00], 0x5D, "5d782818"),
        (
            "SSD@cs2-network.",
            [0x97, 0x69, 0xD6, 0x5B],
            0xB1,
            "b1a6bb9a",
        ),
        ("VMSV", [0x4C, 0xB4, 0x6C, 0x1E], 0xD1, "d19e23ab"),
        ("FERRY@88", [0x38, 0xC8, 0xBA, 0x1A], 0xA9, "a92a6297"),
        ("mycamera", [0x4F, 0xB1, 0x18, 0x0D], 0xAA, "aa66af5c"),
        ("Deng123abc", [0x3A, 0xC6, 0x0F, 0x78], 0x5B, "5bd2e68e"),
        ("Duncom", [0x66, 0x9A, 0xCB, 0x3E], 0xA5, "a5938099"),
        ("JX20130716", [0x36, 0xCA, 0xBA, 0x12], 0x2B, "2b2b1b15"),
        ("hyWHzyhtzH", [0x11, 0xEF, 0x57, 0x23], 0xFA, "faa80fd1"),
        ("JYDGAOZHANP2P", [0xC1, 0x3F, 0x3A, 0x31], 0x9D, "9d65825c"),
        ("SZGMBESTER", [0x06, 0xFA, 0xFF, 0x14], 0x2D, "2d310517"),
        ("vstarcam2018", [0x2C, 0xD4, 0x60, 0x06], 0x49, "49b573d5"),
    ];

    #[test]
    fn every_known_psk_hashes_and_encrypts_a_lan_search_as_the_reference_table_says() {
        for (psk, key, first, lan_search) in VECTORS {
            let k = Key::from_psk(psk);
            assert_eq!(k, Key(key), "{psk}");
            assert_eq!(k.first_wire_byte(), first, "{psk}");
            let mut dgram = [0xF1, 0x30, 0x00, 0x00];
            k.encrypt(&mut dgram);
            assert_eq!(dgram.to_vec(), hex(lan_search), "{psk}");
            k.decrypt(&mut dgram);
            assert_eq!(dgram, [0xF1, 0x30, 0x00, 0x00], "{psk}");
        }
        assert_eq!(KNOWN_PSKS.map(|p| p.name), VECTORS.map(|v| v.0));
    }

    #[test]
    fn the_table_is_a_permutation_and_first_bytes_identify_keys() {
        let mut seen = [false; 256];
        for b in TABLE {
            assert!(!seen[usize::from(b)]);
            seen[usize::from(b)] = true;
        }
        let mut firsts: Vec<u8> = all_obfuscations()
            .map(|(_, o)| o.first_wire_byte())
            .collect();
        let n = firsts.len();
        firsts.sort_unstable();
        firsts.dedup();
        assert_eq!(firsts.len(), n, "distinct first bytes");
        assert_eq!(detect(0x5D).map(|d| d.0), Some(Some("@@@@....")));
        assert_eq!(detect(0xF1).map(|d| d.0), Some(None));
        assert!(detect(0x00).is_none());
    }

    #[test]
    fn encrypt_feeds_back_the_output_and_decrypt_the_input() {
        // With a key whose masks differ by position, feeding back the wrong byte
        // gives a different result from the second byte on.
        let k = Key::from_psk("camera");
        let plain = b"\xF1\xD0\x00\x10hello, camera";
        let mut c = plain.to_vec();
        k.encrypt(&mut c);
        let mut wrong = plain.to_vec();
        let mut prev = 0u8;
        for b in &mut wrong {
            let p = *b;
            *b ^= k.mask(prev);
            prev = p; // plaintext feedback: not what cameras do
        }
        assert_eq!(c[0], wrong[0]);
        assert_ne!(c[1..], wrong[1..]);
        k.decrypt(&mut c);
        assert_eq!(c, plain);
    }

    #[test]
    fn psk_settings_take_names_none_or_hex() {
        assert_eq!(parse_psk_setting("none"), Ok(Obfuscation::None));
        assert_eq!(
            parse_psk_setting("camera"),
            Ok(Obfuscation::Xor(Key([0x69, 0x97, 0xCC, 0x19])))
        );
        for s in ["69 97 CC 19", "6997cc19", "0x6997cc19"] {
            assert_eq!(
                parse_psk_setting(s),
                Ok(Obfuscation::Xor(Key([0x69, 0x97, 0xCC, 0x19]))),
                "{s}"
            );
        }
        assert_eq!(
            parse_psk_setting("DD F1 01 81"),
            Ok(Obfuscation::Xor(Key([0xDD, 0xF1, 0x01, 0x81])))
        );
        assert!(parse_psk_setting(&"x".repeat(65)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn decrypt_reverses_encrypt(key in proptest::array::uniform4(proptest::num::u8::ANY), data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let k = Key(key);
            let mut d = data.clone();
            k.encrypt(&mut d);
            k.decrypt(&mut d);
            proptest::prop_assert_eq!(d, data);
        }
    }
}
