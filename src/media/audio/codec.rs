//! The camera codecs, both directions: G.711 μ-law and A-law (ITU-T G.711),
//! 4-bit IMA/DVI ADPCM and signed 16-bit little-endian PCM, sample by sample
//! ([`mulaw_encode`], [`AdpcmState`], …) and one packet at a time
//! ([`encode`], [`decode`]).
//!
//! This file owns the bit-level codecs only: no resampling, no framing, no
//! file formats (those are [`super`]'s other modules). Every decoder is total:
//! any byte string decodes without panicking.
//!
//! # Conventions
//! * **G.711** follows the Sun/ITU reference `g711.c` as sox uses it: μ-law
//!   from the sample rounded to 14 bits, A-law from it rounded to 13 bits
//!   (round to nearest, where the ITU reference truncates); decoders give the
//!   interval midpoints scaled to 16 bits. Silence is 0xFF in μ-law and 0xD5
//!   in A-law. The tests hold both directions to sox's output bit for bit.
//! * **IMA ADPCM** (IMA "Recommended Practices for Enhancing Digital Audio
//!   Compatibility in Multimedia Systems", 1992): two samples per byte, the
//!   **high nibble first** (the classic `adpcm.c` order PPPP cameras use,
//!   `pppp.md` §3.5). PPPP restarts the state for every packet, so
//!   [`encode`]/[`decode`] start each packet from [`AdpcmState::new`]: the
//!   IMA standard's predictor 0, step index 0.

use super::AudioError;
pub use crate::model::AudioCodec;

/// A short, user-facing name of a codec (for error texts).
pub const fn codec_name(codec: AudioCodec) -> &'static str {
    match codec {
        AudioCodec::PcmS16Le => "PCM",
        AudioCodec::ImaAdpcm => "IMA ADPCM",
        AudioCodec::Alaw => "A-law",
        AudioCodec::Mulaw => "μ-law",
        AudioCodec::Aac => "AAC",
    }
}

// ---- G.711 μ-law ------------------------------------------------------------

/// A 16-bit sample on a `bits`-bit scale, rounded to nearest (half up) and
/// clipped, as sox does before G.711 (plain `>>` would bias it down by half a
/// step).
fn to_bits(sample: i16, bits: u32) -> i32 {
    let shift = 16 - bits;
    let max = (1 << (bits - 1)) - 1;
    ((i32::from(sample) + (1 << (shift - 1))) >> shift).min(max)
}

/// Ends of the μ-law segments on the biased 14-bit magnitude scale.
const MULAW_SEGMENT_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
/// The μ-law bias (0x84 on the 16-bit scale, 33 on the 14-bit one).
const MULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude before the bias is added.
const MULAW_CLIP: i32 = 8159;

/// G.711 μ-law of one 16-bit sample.
pub fn mulaw_encode(sample: i16) -> u8 {
    let mut v = to_bits(sample, 14);
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(MULAW_CLIP) + (MULAW_BIAS >> 2);
    match MULAW_SEGMENT_END.iter().position(|&end| v <= end) {
        Some(seg) => (((seg as i32) << 4 | ((v >> (seg + 1)) & 0x0F)) as u8) ^ mask,
        None => 0x7F ^ mask,
    }
}

/// One G.711 μ-law code to 16-bit PCM (±32124 at the extremes; 0xFF and 0x7F are 0).
pub fn mulaw_decode(code: u8) -> i16 {
    let u = !code;
    let t = ((i32::from(u & 0x0F) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
    // |t - bias| ≤ 32124: always fits.
    (if u & 0x80 != 0 {
        MULAW_BIAS - t
    } else {
        t - MULAW_BIAS
    }) as i16
}

// ---- G.711 A-law ------------------------------------------------------------

/// Ends of the A-law segments on the 13-bit magnitude scale.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// G.711 A-law of one 16-bit sample (even bits inverted on the line).
pub fn alaw_encode(sample: i16) -> u8 {
    let mut v = to_bits(sample, 13);
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let Some(seg) = ALAW_SEGMENT_END.iter().position(|&end| v <= end) else {
        return 0x7F ^ mask;
    };
    let quant = if seg < 2 { v >> 1 } else { v >> seg } & 0x0F;
    (((seg as u8) << 4) | quant as u8) ^ mask
}

/// One G.711 A-law code to 16-bit PCM (ITU-T G.711 Table 1a midpoints × 8).
pub fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let quant = i32::from(a & 0x0F);
    let segment = i32::from((a >> 4) & 0x07);
    let magnitude = if segment == 0 {
        (quant << 4) + 8
    } else {
        ((quant << 4) + 0x108) << (segment - 1)
    };
    // magnitude ≤ 32256: always fits.
    (if a & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

// ---- IMA ADPCM ----------------------------------------------------------------

/// IMA ADPCM quantiser step sizes.
const STEP_TABLE: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449,
    494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272,
    2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493,
    10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];
/// Largest step index.
const MAX_STEP_INDEX: u8 = 88;
/// Step-index change per 3-bit magnitude (the sign bit does not matter).
const INDEX_ADJUST: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// IMA ADPCM coder state, carried from one nibble to the next. The encoder
/// and the decoder keep the same state, so an encoder's state after a chunk
/// is the decoder's state after decoding it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdpcmState {
    /// The predicted (last reconstructed) sample.
    pub predictor: i16,
    /// Index into the step table, 0–88 (larger values are treated as 88).
    pub step_index: u8,
}

impl AdpcmState {
    /// The IMA standard's starting state: predictor 0, step index 0.
    pub const fn new() -> Self {
        Self {
            predictor: 0,
            step_index: 0,
        }
    }

    fn step(&self) -> i32 {
        STEP_TABLE
            .get(usize::from(self.step_index.min(MAX_STEP_INDEX)))
            .copied()
            .unwrap_or(32767)
    }

    /// Applies one 4-bit code as a decoder does and returns the new sample.
    fn apply(&mut self, nibble: u8) -> i16 {
        let step = self.step();
        // diff = (magnitude + 0.5) * step / 4, computed the standard's way.
        let mut diff = step >> 3;
        if nibble & 4 != 0 {
            diff += step;
        }
        if nibble & 2 != 0 {
            diff += step >> 1;
        }
        if nibble & 1 != 0 {
            diff += step >> 2;
        }
        let predictor = if nibble & 8 != 0 {
            i32::from(self.predictor) - diff
        } else {
            i32::from(self.predictor) + diff
        };
        self.predictor = predictor.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        let adjust = INDEX_ADJUST
            .get(usize::from(nibble & 7))
            .copied()
            .unwrap_or(0);
        let index = i32::from(self.step_index.min(MAX_STEP_INDEX)) + adjust;
        self.step_index = index.clamp(0, i32::from(MAX_STEP_INDEX)) as u8;
        self.predictor
    }

    /// Quantises one sample against the current state and applies the code.
    fn encode_sample(&mut self, sample: i16) -> u8 {
        let step = self.step();
        let mut diff = i32::from(sample) - i32::from(self.predictor);
        let mut code = 0u8;
        if diff < 0 {
            code = 8;
            diff = -diff;
        }
        let mut part = step;
        for bit in [4u8, 2, 1] {
            if diff >= part {
                code |= bit;
                diff -= part;
            }
            part >>= 1;
        }
        self.apply(code);
        code
    }

    /// Encodes `pcm`, two samples per byte, high nibble first, appending to
    /// `out`. An odd count pads the last low nibble with code 0, which is
    /// applied to the state too (so the state stays the decoder's).
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        out.reserve(pcm.len().div_ceil(2));
        for pair in pcm.chunks(2) {
            let (hi, lo) = match *pair {
                [a, b] => (self.encode_sample(a), self.encode_sample(b)),
                [a] => {
                    let hi = self.encode_sample(a);
                    self.apply(0);
                    (hi, 0)
                }
                _ => continue,
            };
            out.push(hi << 4 | lo);
        }
    }

    /// Decodes `data` (two samples per byte, high nibble first), appending
    /// to `out` and leaving the state where the data ends.
    pub fn decode(&mut self, data: &[u8], out: &mut Vec<i16>) {
        out.reserve(data.len().saturating_mul(2));
        for &byte in data {
            out.push(self.apply(byte >> 4));
            out.push(self.apply(byte & 0x0F));
        }
    }
}

// ---- Packets ------------------------------------------------------------------

/// Encodes one packet/frame; ADPCM starts from a fresh state (the PPPP
/// per-packet rule). AAC has no encoder: [`AudioError::Unsupported`].
pub fn encode(codec: AudioCodec, pcm: &[i16]) -> Result<Vec<u8>, AudioError> {
    Ok(match codec {
        AudioCodec::PcmS16Le => pcm.iter().flat_map(|s| s.to_le_bytes()).collect(),
        AudioCodec::Mulaw => pcm.iter().map(|&s| mulaw_encode(s)).collect(),
        AudioCodec::Alaw => pcm.iter().map(|&s| alaw_encode(s)).collect(),
        AudioCodec::ImaAdpcm => {
            let mut out = Vec::new();
            AdpcmState::new().encode(pcm, &mut out);
            out
        }
        AudioCodec::Aac => return Err(AudioError::Unsupported(codec)),
    })
}

/// Decodes one packet/frame; ADPCM from a fresh state (two samples per byte);
/// PCM s16le: an odd trailing byte is ignored. AAC has no decoder here:
/// [`AudioError::Unsupported`].
pub fn decode(codec: AudioCodec, data: &[u8]) -> Result<Vec<i16>, AudioError> {
    Ok(match codec {
        AudioCodec::PcmS16Le => data
            .as_chunks::<2>()
            .0
            .iter()
            .map(|&b| i16::from_le_bytes(b))
            .collect(),
        AudioCodec::Mulaw => data.iter().map(|&b| mulaw_decode(b)).collect(),
        AudioCodec::Alaw => data.iter().map(|&b| alaw_decode(b)).collect(),
        AudioCodec::ImaAdpcm => {
            let mut out = Vec::new();
            AdpcmState::new().decode(data, &mut out);
            out
        }
        AudioCodec::Aac => return Err(AudioError::Unsupported(codec)),
    })
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
