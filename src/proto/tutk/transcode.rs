//! TransCode ("Charlie"), the obfuscation of IOTC packets on the TransCode
//! transport, exactly as `wyze.md` §1.1 describes what real cameras accepted:
//! 16-byte blocks (rotate, XOR with `"Charlie is the d"`, permute, rotate) and
//! a tail that is XORed and, for some lengths, permuted.
//!
//! Which tail lengths are permuted differs between client versions and no
//! capture settles it, so it is a named per-camera policy, [`TailPolicy`].

/// The key: only the first 16 bytes of "Charlie is the designer of P2P!!" are used.
const KEY: &[u8; 16] = b"Charlie is the d";
/// Block permutation (`out[k] = in[P[k]]`); its own inverse.
const P16: [usize; 16] = [11, 9, 8, 15, 13, 10, 12, 14, 2, 1, 5, 0, 6, 4, 7, 3];
/// 8-byte tail permutation.
const P8: [usize; 8] = [7, 4, 3, 2, 1, 6, 5, 0];
/// 4-byte tail permutation.
const P4: [usize; 4] = [2, 3, 0, 1];
/// 2-byte tail permutation.
const P2: [usize; 2] = [1, 0];

/// Which tails (the bytes after the last full 16-byte block) are permuted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TailPolicy {
    /// Tails of 2, 4 and 8 bytes (go2rtc's unified code, used for Wyze today). Default.
    #[default]
    Permute248,
    /// Only 8-byte tails (seydx's original Wyze code).
    Permute8,
    /// No tail permutation (an independent CuboAI client).
    None,
}

impl TailPolicy {
    fn table(self, n: usize) -> Option<&'static [usize]> {
        match (self, n) {
            (Self::Permute248 | Self::Permute8, 8) => Some(&P8),
            (Self::Permute248, 4) => Some(&P4),
            (Self::Permute248, 2) => Some(&P2),
            _ => None,
        }
    }
}

fn permute(data: &mut [u8], table: &[usize]) {
    let src = data.to_vec();
    for (out, &i) in data.iter_mut().zip(table) {
        *out = src[i];
    }
}

fn word(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Encodes `data` in place ("TransCodePartial").
pub fn encode(data: &mut [u8], tail: TailPolicy) {
    let full = data.len() / 16 * 16;
    let (blocks, rest) = data.split_at_mut(full);
    for block in blocks.chunks_exact_mut(16) {
        for (j, w) in block.chunks_exact_mut(4).enumerate() {
            let r = word(w).rotate_right(4 * j as u32 + 1);
            w.copy_from_slice(&r.to_le_bytes());
        }
        for (b, k) in block.iter_mut().zip(KEY) {
            *b ^= k;
        }
        permute(block, &P16);
        for (j, w) in block.chunks_exact_mut(4).enumerate() {
            let r = word(w).rotate_right(4 * j as u32 + 3);
            w.copy_from_slice(&r.to_le_bytes());
        }
    }
    for (b, k) in rest.iter_mut().zip(KEY) {
        *b ^= k;
    }
    if let Some(t) = tail.table(rest.len()) {
        permute(rest, t);
    }
}

/// Decodes `data` in place ("ReverseTransCodePartial"), the exact inverse of [`encode`].
pub fn decode(data: &mut [u8], tail: TailPolicy) {
    let full = data.len() / 16 * 16;
    let (blocks, rest) = data.split_at_mut(full);
    for block in blocks.chunks_exact_mut(16) {
        for (j, w) in block.chunks_exact_mut(4).enumerate() {
            let r = word(w).rotate_left(4 * j as u32 + 3);
            w.copy_from_slice(&r.to_le_bytes());
        }
        permute(block, &P16);
        for (b, k) in block.iter_mut().zip(KEY) {
            *b ^= k;
        }
        for (j, w) in block.chunks_exact_mut(4).enumerate() {
            let r = word(w).rotate_left(4 * j as u32 + 1);
            w.copy_from_slice(&r.to_le_bytes());
        }
    }
    if let Some(t) = tail.table(rest.len()) {
        permute(rest, t);
    }
    for (b, k) in rest.iter_mut().zip(KEY) {
        *b ^= k;
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

    fn encoded(mut data: Vec<u8>, tail: TailPolicy) -> Vec<u8> {
        encode(&mut data, tail);
        data
    }

    /// `wyze.md` §5.4 (vectors its author computed from go2rtc's algorithm).
    #[test]
    fn reference_vectors() {
        let d: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            encoded(d, TailPolicy::default()),
            hex("debe8d014a30803a2d6b181c00e6ba88dfbf8c115b30813b2c7b191d01f7ba89")
        );
        let d: Vec<u8> = (0u8..21).collect();
        assert_eq!(
            encoded(d, TailPolicy::default()),
            hex("debe8d014a30803a2d6b181c00e6ba885379736178")
        );
        assert_eq!(
            encoded(vec![0; 8], TailPolicy::default()),
            hex("206c726168656943")
        );
    }

    /// The tail policies differ only in which tails they permute.
    #[test]
    fn tail_policies() {
        let four = vec![0u8; 4];
        // XOR with "Char" = 43 68 61 72; P4 swaps the halves.
        assert_eq!(
            encoded(four.clone(), TailPolicy::Permute248),
            hex("61724368")
        );
        assert_eq!(encoded(four.clone(), TailPolicy::Permute8), hex("43686172"));
        assert_eq!(encoded(four, TailPolicy::None), hex("43686172"));
        assert_eq!(encoded(vec![0; 8], TailPolicy::None), b"Charlie ".to_vec());
    }

    proptest::proptest! {
        #[test]
        fn decode_reverses_encode(data in proptest::collection::vec(proptest::num::u8::ANY, 0..100), policy in 0u8..3) {
            let tail = [TailPolicy::Permute248, TailPolicy::Permute8, TailPolicy::None][usize::from(policy)];
            let mut d = data.clone();
            encode(&mut d, tail);
            decode(&mut d, tail);
            proptest::prop_assert_eq!(d, data);
        }
    }
}
