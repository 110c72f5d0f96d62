//! Gain with clipping protection: a volume of 0.0–2.0 and a soft limiter, so
//! a loud file turned up never wraps or hard-clips on its way to 16 bits.
//!
//! This file owns only the level of `f32` samples (full scale ±1.0); the
//! conversion to `i16` ([`super::decode::f32_to_i16`]) saturates as well.

/// The quietest volume (silence).
pub const MIN_VOLUME: f32 = 0.0;
/// The loudest volume (double amplitude, +6 dB).
pub const MAX_VOLUME: f32 = 2.0;
/// Where the limiter starts bending: below this level samples pass unchanged.
const KNEE: f32 = 0.9;

/// `volume` made usable: clamped to [`MIN_VOLUME`]–[`MAX_VOLUME`]; NaN is 1.0.
pub fn sanitize(volume: f32) -> f32 {
    if volume.is_nan() {
        1.0
    } else {
        volume.clamp(MIN_VOLUME, MAX_VOLUME)
    }
}

/// The soft limiter: the identity up to ±[`KNEE`], then a tanh curve that
/// approaches ±1.0 without reaching it (slope 1 at the knee, so no click).
/// NaN becomes 0.
pub fn soft_limit(x: f32) -> f32 {
    if x.is_nan() {
        return 0.0;
    }
    let a = x.abs();
    if a <= KNEE {
        return x;
    }
    let head = 1.0 - KNEE;
    let y = KNEE + head * ((a - KNEE) / head).tanh();
    y.min(1.0).copysign(x)
}

/// Scales `samples` by `volume` (sanitized) and limits them to (−1, 1).
pub fn apply(samples: &mut [f32], volume: f32) {
    let gain = sanitize(volume);
    for s in samples {
        *s = soft_limit(*s * gain);
    }
}

#[cfg(test)]
mod tests {
    use super::super::decode::f32_to_i16;
    use super::*;

    #[test]
    fn volume_one_leaves_normal_levels_untouched() {
        let mut s = vec![0.0, 0.5, -0.5, 0.9, -0.9];
        apply(&mut s, 1.0);
        assert_eq!(s, vec![0.0, 0.5, -0.5, 0.9, -0.9]);
    }

    #[test]
    fn volume_scales_the_amplitude() {
        let mut s = vec![0.2, -0.4];
        apply(&mut s, 2.0);
        assert!((s[0] - 0.4).abs() < 1e-6 && (s[1] + 0.8).abs() < 1e-6);
        let mut s = vec![0.2, -0.4];
        apply(&mut s, 0.5);
        assert!((s[0] - 0.1).abs() < 1e-6 && (s[1] + 0.2).abs() < 1e-6);
        let mut s = vec![0.7, -1.0];
        apply(&mut s, 0.0);
        assert_eq!(s, vec![0.0, 0.0]);
    }

    #[test]
    fn a_full_scale_signal_doubled_never_wraps_or_reaches_full_scale() {
        let mut s: Vec<f32> = (0..2000).map(|i| (i as f32 * 0.01).sin()).collect();
        s.extend([1.0, -1.0, 40.0, -40.0, f32::INFINITY, f32::NEG_INFINITY]);
        apply(&mut s, 2.0);
        for &x in &s {
            assert!(x.abs() <= 1.0, "{x}");
        }
        // The limited peaks stay on their side: no wrap to the other sign.
        let pcm: Vec<i16> = s.iter().map(|&x| f32_to_i16(x)).collect();
        assert!(pcm[2000] > 32000 && pcm[2001] < -32000);
        assert!(pcm[2002] > 32000 && pcm[2003] < -32000);
    }

    #[test]
    fn the_limiter_is_monotonic_and_continuous_at_the_knee() {
        let mut last = soft_limit(-5.0);
        for i in -5000..=5000 {
            let y = soft_limit(i as f32 / 1000.0);
            assert!(y >= last, "not monotonic at {i}");
            last = y;
        }
        let below = soft_limit(KNEE - 1e-4);
        let above = soft_limit(KNEE + 1e-4);
        assert!((above - below - 2e-4).abs() < 1e-5);
    }

    #[test]
    fn out_of_range_volumes_are_clamped_and_nan_is_neutral() {
        assert_eq!(sanitize(3.0), 2.0);
        assert_eq!(sanitize(-1.0), 0.0);
        assert_eq!(sanitize(f32::NAN), 1.0);
        assert_eq!(sanitize(f32::INFINITY), 2.0);
        let mut s = vec![f32::NAN, 0.5];
        apply(&mut s, f32::NAN);
        assert_eq!(s, vec![0.0, 0.5]);
    }

    #[test]
    fn sixteen_bit_conversion_saturates() {
        assert_eq!(f32_to_i16(2.0), i16::MAX);
        assert_eq!(f32_to_i16(-2.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        assert_eq!(f32_to_i16(0.5), 16384);
    }
}
