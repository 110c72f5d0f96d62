//! The simulated camera's microphone: a test tone and the two encoders PPPP
//! cameras use (`pppp.md` §3.5), written from the standards, not from the
//! bridge's decoders.
//!
//! * IMA/DVI ADPCM (IMA "Recommended Practices for Enhancing Digital Audio
//!   Compatibility in Multimedia Systems", 1992), 4 bits per sample, high
//!   nibble first. Every packet is encoded from a fresh state (predictor 0,
//!   step index 0): A9_PPPP found that decoding must restart per packet, so
//!   the camera's encoder evidently does too.
//! * G.711 A-law (ITU-T G.711, segment encoding with even bits inverted).

/// Sample rate of both encodings (8 kHz).
pub const SAMPLE_RATE: u32 = 8_000;
/// Frequency of the tone.
pub const TONE_HZ: u32 = 440;

/// IMA ADPCM quantiser steps.
const STEPS: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449,
    494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272,
    2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493,
    10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];
/// Step-index change per code magnitude.
const INDEX_STEP: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

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
    let mut predictor: i32 = 0;
    let mut index: usize = 0;
    let mut nibbles = samples.iter().map(|&s| {
        let mut step = STEPS[index];
        let mut diff = i32::from(s) - predictor;
        let mut code: u8 = 0;
        if diff < 0 {
            code = 8;
            diff = -diff;
        }
        let mut delta = step >> 3;
        if diff >= step {
            code |= 4;
            diff -= step;
            delta += step;
        }
        step >>= 1;
        if diff >= step {
            code |= 2;
            diff -= step;
            delta += step;
        }
        step >>= 1;
        if diff >= step {
            code |= 1;
            delta += step;
        }
        predictor = if code & 8 != 0 {
            predictor - delta
        } else {
            predictor + delta
        }
        .clamp(i32::from(i16::MIN), i32::from(i16::MAX));
        index = (index as i32 + INDEX_STEP[usize::from(code & 7)]).clamp(0, 88) as usize;
        code
    });
    let mut out = Vec::with_capacity(samples.len().div_ceil(2));
    while let Some(hi) = nibbles.next() {
        let lo = nibbles.next().unwrap_or(0);
        out.push(hi << 4 | lo);
    }
    out
}

/// Ends of the A-law segments on the 13-bit magnitude scale.
const ALAW_SEGMENT_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// G.711 A-law of one 16-bit sample.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut v = i32::from(sample) >> 3;
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
    ((seg as u8) << 4 | quant as u8) ^ mask
}

/// G.711 A-law of `samples`.
pub fn alaw_encode(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| linear_to_alaw(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pppp::audio::{alaw_decode, ima_adpcm_decode, AdpcmState};

    fn crossings(s: &[i16]) -> usize {
        s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count()
    }

    #[test]
    fn a_law_round_trips_within_its_quantisation() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let back = alaw_decode(&[linear_to_alaw(s)])[0];
            // Segment 7 steps are 1024 wide on the 16-bit scale.
            let tolerance = (i32::from(s).abs() / 16).max(16);
            assert!(
                (i32::from(back) - i32::from(s)).abs() <= tolerance,
                "{s} -> {back}"
            );
        }
        // ITU-T G.711: +0 and -0 encode as D5 and 55.
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
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
        let alaw = alaw_decode(&alaw_encode(&pcm));
        assert!((crossings(&alaw) as i64 - 880).abs() <= 4);
        let adpcm = ima_adpcm_encode(&pcm);
        assert_eq!(adpcm.len(), 4000);
        let back = ima_adpcm_decode(&adpcm, &mut AdpcmState::new());
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
