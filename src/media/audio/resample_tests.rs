//! Resampling keeps pitch and length, whole or in chunks of any size.

use super::*;
use crate::media::audio::test_util::{dominant_hz, tone, zero_crossing_hz};

#[test]
fn a_1_khz_tone_at_44_1_khz_keeps_its_frequency_and_length_at_8_khz() {
    let input = tone(1000.0, 44_100, 1.0, 0.5);
    let out = resample(&input, 44_100, 8_000).unwrap();
    assert_eq!(out.len(), 8_000, "ceil(44100 × 8000 / 44100)");
    let hz = zero_crossing_hz(&out[400..7600], 8_000).unwrap();
    assert!((hz - 1000.0).abs() < 10.0, "{hz} Hz");
    assert_eq!(dominant_hz(&out, 8_000), 1000.0);
    // The filter delay is trimmed: output sample 0 lines up with input sample 0
    // (the output is the same sine from its start, to a fraction of a sample).
    for (k, &s) in out.iter().enumerate().take(16).skip(1) {
        let expected = 0.5 * (std::f32::consts::FRAC_PI_4 * k as f32).sin();
        assert!((s - expected).abs() < 0.05, "sample {k}: {s} vs {expected}");
    }
    let peak = out[400..7600].iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!((0.48..0.52).contains(&peak), "peak {peak}");
}

#[test]
fn frequencies_above_the_new_nyquist_are_filtered_out() {
    // 5 kHz cannot exist at 8 kHz; a nearest-neighbour resampler would fold
    // it to 3 kHz at full level.
    let input = tone(5000.0, 48_000, 0.5, 0.5);
    let out = resample(&input, 48_000, 8_000).unwrap();
    let rms = (out.iter().map(|s| s * s).sum::<f32>() / out.len() as f32).sqrt();
    assert!(rms < 0.01, "alias RMS {rms}");
}

#[test]
fn streaming_in_odd_chunks_equals_the_whole_buffer() {
    let input = tone(440.0, 22_050, 0.7, 0.4);
    let whole = resample(&input, 22_050, 16_000).unwrap();
    let mut r = Resampler::new(22_050, 16_000).unwrap();
    let mut streamed = Vec::new();
    let mut rest = input.as_slice();
    let mut sizes = [1usize, 7, 333, 1024, 4999, 2].iter().cycle();
    let mut ready_before_finish = 0;
    while !rest.is_empty() {
        let (now, later) = rest.split_at((*sizes.next().unwrap()).min(rest.len()));
        r.push(now, &mut streamed);
        rest = later;
        ready_before_finish = streamed.len();
    }
    assert!(
        ready_before_finish > 10_000,
        "samples come out while pushing"
    );
    r.finish(&mut streamed);
    assert_eq!(streamed.len(), whole.len());
    for (a, b) in streamed.iter().zip(&whole) {
        assert!((a - b).abs() < 1e-4);
    }
}

#[test]
fn every_common_rate_converts_to_8_and_16_khz_with_the_right_length() {
    for from in [
        8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000, 44_101,
    ] {
        for to in [8_000, 16_000] {
            let input = tone(700.0, from, 0.3, 0.5);
            let out = resample(&input, from, to).unwrap();
            let expected = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from));
            assert_eq!(out.len() as u64, expected, "{from} → {to}");
            let hz = zero_crossing_hz(&out[200..out.len() - 200], to).unwrap();
            assert!((hz - 700.0).abs() < 7.0, "{from} → {to}: {hz} Hz");
        }
    }
}

#[test]
fn equal_rates_pass_through_and_bad_rates_are_refused() {
    let input = vec![0.1, -0.2, 0.3];
    assert_eq!(resample(&input, 8_000, 8_000).unwrap(), input);
    assert!(matches!(
        Resampler::new(0, 8_000),
        Err(AudioError::BadFormat(_))
    ));
    assert!(matches!(
        Resampler::new(8_000, 0),
        Err(AudioError::BadFormat(_))
    ));
    assert!(matches!(
        Resampler::new(8_000, 5_000_000),
        Err(AudioError::BadFormat(_))
    ));
}

#[test]
fn nothing_in_nothing_out() {
    assert!(resample(&[], 44_100, 8_000).unwrap().is_empty());
    let r = Resampler::new(44_100, 8_000).unwrap();
    let mut out = Vec::new();
    r.finish(&mut out);
    assert!(out.is_empty());
}
