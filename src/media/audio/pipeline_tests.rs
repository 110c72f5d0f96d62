//! The intercom pipeline on the committed fixtures: every format prepared
//! for a PCMU 8 kHz camera keeps its pitch and length; framing rules.

use super::*;
use crate::media::audio::test_util::{fixture, tone, wav, zero_crossing_hz};

const PCMU_8K: TalkFormat = TalkFormat {
    codec: AudioCodec::Mulaw,
    sample_rate: 8_000,
    samples_per_frame: 160,
};

fn decode_frames(format: &TalkFormat, frames: &[Bytes]) -> Vec<f32> {
    frames
        .iter()
        .flat_map(|f| codec::decode(format.codec, f).unwrap())
        .map(|s| f32::from(s) / 32768.0)
        .collect()
}

#[test]
fn every_format_prepared_for_pcmu_8_khz_keeps_its_pitch_and_length() {
    for (name, extra_secs) in [
        ("tone_1k.wav", 0.0),
        ("tone_1k.flac", 0.0),
        ("tone_1k.mp3", 0.0),
        ("tone_1k.ogg", 0.0),
        ("tone_1k.aac", 0.0286),
        ("tone_1k.m4a", 0.0286),
    ] {
        let p = prepare(&fixture(name), 1.0, &PCMU_8K).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            p.frames.iter().all(|f| f.len() == 160),
            "{name}: G.711 is a byte per sample"
        );
        // A quarter second is 2000 samples = 12.5 frames; AAC adds its
        // priming (ffmpeg writes no gapless info). ±1 frame.
        let expected_frames = (0.25 + extra_secs) * 8000.0 / 160.0;
        assert!(
            (p.frames.len() as f64 - expected_frames).abs() <= 1.0,
            "{name}: {} frames",
            p.frames.len()
        );
        assert_eq!(
            p.duration,
            Duration::from_millis(20) * p.frames.len() as u32
        );
        let pcm = decode_frames(&PCMU_8K, &p.frames);
        let hz = zero_crossing_hz(&pcm[200..1800], 8_000).unwrap();
        assert!((hz - 1000.0).abs() < 20.0, "{name}: {hz} Hz");
    }
}

#[test]
fn pcm_16_khz_frames_are_little_endian_and_padded_with_silence() {
    let format = TalkFormat {
        codec: AudioCodec::PcmS16Le,
        sample_rate: 16_000,
        samples_per_frame: 320,
    };
    let p = prepare(&fixture("tone_1k.wav"), 1.0, &format).unwrap();
    // 0.25 s at 16 kHz = 4000 samples = 12.5 frames → 13, the last half silent.
    assert_eq!(p.frames.len(), 13);
    assert!(p.frames.iter().all(|f| f.len() == 640));
    let last = codec::decode(AudioCodec::PcmS16Le, &p.frames[12]).unwrap();
    assert!(last[..150].iter().any(|&s| s.abs() > 10_000));
    assert!(last[170..].iter().all(|&s| s == 0));
    assert_eq!(p.duration, Duration::from_millis(260));
}

#[test]
fn adpcm_frames_each_decode_from_a_fresh_state() {
    let format = TalkFormat {
        codec: AudioCodec::ImaAdpcm,
        sample_rate: 8_000,
        samples_per_frame: 512,
    };
    let p = prepare(&fixture("tone_1k.flac"), 1.0, &format).unwrap();
    assert!(p.frames.iter().all(|f| f.len() == 256));
    // Decoded packet by packet (as the camera does), the tone is intact.
    let pcm = decode_frames(&format, &p.frames);
    let hz = zero_crossing_hz(&pcm[100..1900], 8_000).unwrap();
    assert!((hz - 1000.0).abs() < 20.0, "{hz} Hz");
}

#[test]
fn volume_scales_and_never_wraps() {
    let quiet = prepare(&fixture("tone_1k.wav"), 0.5, &PCMU_8K).unwrap();
    let loud = prepare(&fixture("tone_1k.wav"), 2.0, &PCMU_8K).unwrap();
    let peak = |p: &Prepared| {
        decode_frames(&PCMU_8K, &p.frames)
            .iter()
            .fold(0f32, |m, s| m.max(s.abs()))
    };
    assert!((0.23..0.27).contains(&peak(&quiet)), "{}", peak(&quiet));
    // Doubled half scale is full scale, limited below it.
    let loud_peak = peak(&loud);
    assert!((0.9..=1.0).contains(&loud_peak), "{loud_peak}");
    // Full-scale square wave at double volume: limited, same signs.
    let square: Vec<i16> = (0..1600)
        .map(|i| if i / 8 % 2 == 0 { 32767 } else { -32768 })
        .collect();
    let p = prepare(&wav(8000, 1, &square), 2.0, &PCMU_8K).unwrap();
    let pcm = decode_frames(&PCMU_8K, &p.frames);
    for (i, (&s, &x)) in pcm.iter().zip(&square).enumerate().skip(2).take(1500) {
        if i % 8 > 1 && i % 8 < 6 {
            assert_eq!(s > 0.0, x > 0, "sample {i}: {s}");
        }
    }
}

#[test]
fn push_to_talk_gives_whole_frames_as_they_are_ready() {
    let mut enc = StreamEncoder::new(48_000, 1.0, &PCMU_8K).unwrap();
    let input: Vec<i16> = tone(1000.0, 48_000, 1.0, 0.5)
        .iter()
        .map(|&s| (s * 32767.0) as i16)
        .collect();
    let mut frames = Vec::new();
    let mut got_early = false;
    for chunk in input.chunks(937) {
        let out = enc.push(chunk);
        got_early |= !out.is_empty() && frames.is_empty();
        frames.extend(out);
    }
    assert!(got_early);
    let before = frames.len();
    frames.extend(enc.finish());
    // One second at 8 kHz: exactly 50 frames of 160, none padded.
    assert_eq!(frames.len(), 50, "{before} before finish");
    assert!(frames.iter().all(|f| f.len() == 160));
    let pcm = decode_frames(&PCMU_8K, &frames);
    let hz = zero_crossing_hz(&pcm[100..7900], 8_000).unwrap();
    assert!((hz - 1000.0).abs() < 10.0, "{hz} Hz");
}

#[test]
fn an_empty_stream_gives_no_frames() {
    let enc = StreamEncoder::new(16_000, 1.0, &PCMU_8K).unwrap();
    assert!(enc.finish().is_empty());
}

#[test]
fn bad_formats_and_file_errors_are_typed() {
    let aac = TalkFormat {
        codec: AudioCodec::Aac,
        ..PCMU_8K
    };
    assert_eq!(
        prepare(&fixture("tone_1k.wav"), 1.0, &aac),
        Err(AudioError::Unsupported(AudioCodec::Aac))
    );
    for bad in [
        TalkFormat {
            sample_rate: 0,
            ..PCMU_8K
        },
        TalkFormat {
            samples_per_frame: 0,
            ..PCMU_8K
        },
        TalkFormat {
            samples_per_frame: 1 << 20,
            ..PCMU_8K
        },
    ] {
        assert!(matches!(
            prepare(&fixture("tone_1k.wav"), 1.0, &bad),
            Err(AudioError::BadFormat(_))
        ));
        assert!(StreamEncoder::new(8_000, 1.0, &bad).is_err());
    }
    assert!(matches!(
        StreamEncoder::new(0, 1.0, &PCMU_8K),
        Err(AudioError::BadFormat(_))
    ));
    assert_eq!(
        prepare(&fixture("not_audio.jpg"), 1.0, &PCMU_8K),
        Err(AudioError::NotAudio)
    );
}
