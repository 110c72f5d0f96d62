//! The simulated camera's microphone: a test tone, encoded the two ways PPPP
//! cameras send audio (`pppp.md` §3.5) by the shared codecs in
//! [`crate::media::audio::codec`].
//!
//! * IMA/DVI ADPCM, 4 bits per sample, high nibble first. Every packet is
//!   encoded from a fresh state (predictor 0, step index 0): A9_PPPP found
//!   that decoding must restart per packet, so the camera's encoder
//!   evidently does too.
//! * G.711 A-law.
//!
//! This file owns only the tone and which codec each packet uses; the bit
//! work is `media::audio`'s (tested there against sox and the standards).

use crate::media::audio::codec::{self, AudioCodec};

/// Sample rate of both encodings (8 kHz).
pub const SAMPLE_RATE: u32 = 8_000;
/// Frequency of the tone.
pub const TONE_HZ: u32 = 440;

/// Sample `n` of a 440 Hz sine at 8 kHz, at about a third of full scale.
/// Periodic in `n` with period 8000 (whole cycles per second).
pub fn tone_sample(n: u64) -> i16 {
    let k = (n % u64::from(SAMPLE_RATE)) as f64;
    let phase = 2.0 * std::f64::consts::PI * f64::from(TONE_HZ) * k / f64::from(SAMPLE_RATE);
    (phase.sin() * 0.3 * f64::from(i16::MAX)) as i16
}

/// `count` tone samples starting at sample `start`.
pub fn tone(start: u64, count: usize) -> Vec<i16> {
    (0..count as u64)
        .map(|i| tone_sample(start.wrapping_add(i)))
        .collect()
}

/// IMA ADPCM from a fresh state; two samples per byte, the first in the high
/// nibble (an odd count leaves the last low nibble 0).
pub fn ima_adpcm_encode(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len().div_ceil(2));
    codec::AdpcmState::new().encode(samples, &mut out);
    out
}

/// G.711 A-law of `samples`.
pub fn alaw_encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| codec::alaw_encode(s)).collect()
}

/// Decodes what this microphone sent (for tests): one packet of `codec`.
pub fn decode(codec: AudioCodec, data: &[u8]) -> Vec<i16> {
    codec::decode(codec, data).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossings(s: &[i16]) -> usize {
        s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count()
    }

    #[test]
    fn the_tone_survives_both_codecs() {
        let pcm = tone(0, 8000);
        // Samples 0, 100, 200, … sit on a zero crossing; rounding picks a side.
        assert!(
            (crossings(&pcm) as i64 - 880).abs() <= 2,
            "{}",
            crossings(&pcm)
        );
        let alaw = decode(AudioCodec::Alaw, &alaw_encode(&pcm));
        assert!((crossings(&alaw) as i64 - 880).abs() <= 4);
        let adpcm = ima_adpcm_encode(&pcm);
        assert_eq!(adpcm.len(), 4000);
        let back = decode(AudioCodec::ImaAdpcm, &adpcm);
        assert_eq!(back.len(), 8000);
        // After the step size has adapted (a few ms), the decoded wave follows the tone.
        let err: f64 = pcm[100..]
            .iter()
            .zip(&back[100..])
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
            .sum::<f64>()
            / 7900.0;
        assert!(err < 600.0, "mean error {err}");
        assert!((crossings(&back) as i64 - 880).abs() <= 8);
    }
}
