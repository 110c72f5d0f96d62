//! "XqBytes" obfuscation of binary-dialect command payloads (`pppp.md` §2.4):
//! encode flips the lowest bit of every byte, then rotates the buffer left by 4
//! bytes; decode flips, then rotates right by 4. Applied after the 4-byte
//! ticket, only when there is a payload. Vectors from cam-reverse's tests.

/// Obfuscates a binary-dialect payload in place.
pub fn encode(data: &mut [u8]) {
    for b in data.iter_mut() {
        *b ^= 1;
    }
    if data.len() > 4 {
        data.rotate_left(4);
    }
}

/// Reverses [`encode`] in place.
pub fn decode(data: &mut [u8]) {
    for b in data.iter_mut() {
        *b ^= 1;
    }
    if data.len() > 4 {
        data.rotate_right(4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cam-reverse `tests/fn.test.js` "encrypts simple input" / "decrypts simple input".
    #[test]
    fn simple_vector() {
        let mut dec = [0u8; 32];
        dec[3] = 1;
        let mut enc = [1u8; 32];
        enc[31] = 0;
        let mut buf = dec;
        encode(&mut buf);
        assert_eq!(buf, enc);
        decode(&mut buf);
        assert_eq!(buf, dec);
    }

    fn from_hex(s: &str) -> Vec<u8> {
        let s = s.trim();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// cam-reverse `tests/fn.test.js` "encrypts/decrypts more complex input":
    /// the 264-byte Wi-Fi struct for BATC-609531-EXLVS, password 12345678
    /// (`tests/data/pppp_xq_wifi_struct.*`; provenance in the `.txt`).
    #[test]
    fn wifi_struct_vector() {
        let dec = from_hex(include_str!(
            "../../../tests/data/pppp_xq_wifi_struct.dec.hex"
        ));
        let enc = from_hex(include_str!(
            "../../../tests/data/pppp_xq_wifi_struct.enc.hex"
        ));
        assert_eq!(dec.len(), 264);
        let mut buf = dec.clone();
        encode(&mut buf);
        assert_eq!(buf, enc);
        decode(&mut buf);
        assert_eq!(buf, dec);
    }

    proptest::proptest! {
        #[test]
        fn decode_reverses_encode(data in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let mut d = data.clone();
            encode(&mut d);
            decode(&mut d);
            proptest::prop_assert_eq!(d, data);
        }
    }
}
