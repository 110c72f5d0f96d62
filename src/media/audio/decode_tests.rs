//! File decoding against the committed 1 kHz fixtures (a quarter second of
//! 44.1 kHz stereo, encoded by sox and ffmpeg) and hostile inputs.

use super::*;
use crate::media::audio::test_util::{fixture, wav, zero_crossing_hz};

/// Every fixture: file, format name, how much longer than 0.25 s the
/// codec may make it (encoder priming and padding).
const TONES: [(&str, &str, f64); 6] = [
    ("tone_1k.wav", "WAV", 0.0),
    ("tone_1k.flac", "FLAC", 0.0),
    ("tone_1k.mp3", "MP3", 0.06),
    ("tone_1k.ogg", "Ogg", 0.03),
    ("tone_1k.aac", "AAC", 0.06),
    ("tone_1k.m4a", "MP4", 0.06),
];

#[test]
fn every_supported_format_decodes_the_tone_to_mono() {
    for (name, format, slack) in TONES {
        let d = decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((d.format, d.sample_rate), (format, 44_100), "{name}");
        let secs = d.duration().as_secs_f64();
        assert!((0.249..=0.251 + slack).contains(&secs), "{name}: {secs} s");
        // Away from the edges (codec fade-in/out), a clean 1 kHz.
        let middle = &d.samples[2205..d.samples.len() - 2205];
        let hz = zero_crossing_hz(middle, d.sample_rate).unwrap();
        assert!((hz - 1000.0).abs() < 10.0, "{name}: {hz} Hz");
        // sox made it at half scale: RMS 0.354; lossy codecs stay close
        // (their peaks overshoot, ffmpeg's AAC to 0.61).
        let rms = (middle.iter().map(|s| s * s).sum::<f32>() / middle.len() as f32).sqrt();
        assert!((0.33..0.37).contains(&rms), "{name}: RMS {rms}");
    }
}

#[test]
fn channels_are_averaged() {
    // Left 0.5, right 0.25 → 0.375; left x, right −x → 0.
    let pcm: Vec<i16> = (0..100).flat_map(|_| [16384, 8192, 1000, -1000]).collect();
    let d = decode(&wav(8000, 2, &pcm)).unwrap();
    assert_eq!(d.samples.len(), 200);
    for pair in d.samples.chunks(2) {
        assert_eq!(pair, [0.375, 0.0]);
    }
    assert_eq!(d.to_i16()[0], 12288);
}

#[test]
fn a_picture_text_or_nothing_is_not_audio() {
    for input in [
        fixture("not_audio.jpg"),
        b"hello, this is text\n".to_vec(),
        Vec::new(),
        vec![0u8; 4096],
        // An MP3 frame header is only accepted at the start of the file.
        [b"junk".as_slice(), &fixture("tone_1k.mp3")].concat(),
    ] {
        assert_eq!(decode(&input), Err(AudioError::NotAudio));
    }
    assert_eq!(
        AudioError::NotAudio.to_string(),
        "not an audio file: expected WAV, MP3, Ogg Vorbis, FLAC, AAC or M4A"
    );
}

#[test]
fn a_wav_cut_in_half_is_truncated_but_one_missing_five_percent_plays() {
    let file = fixture("tone_1k.wav");
    let half = &file[..44 + (file.len() - 44) / 2];
    let err = decode(half).unwrap_err();
    assert_eq!(
        err,
        AudioError::Truncated {
            format: "WAV",
            decoded_percent: 49
        }
    );
    assert_eq!(
        err.to_string(),
        "WAV file is incomplete: only 49% of it could be decoded"
    );
    // Measured against the length the header states: 95% of it plays.
    let most = &file[..44 + (file.len() - 44) * 95 / 100];
    let d = decode(most).unwrap();
    let expected = 11025 * 95 / 100;
    assert!(
        (d.samples.len() as i64 - expected as i64).abs() <= 2,
        "{}",
        d.samples.len()
    );
}

#[test]
fn over_8_mib_is_too_big_before_parsing() {
    let mut file = fixture("tone_1k.wav");
    file.resize(9 << 20, 0);
    assert_eq!(decode(&file), Err(AudioError::TooBig { size: 9 << 20 }));
    assert_eq!(
        AudioError::TooBig { size: 9 << 20 }.to_string(),
        "audio file too big: 9216 KiB, the limit is 8192 KiB"
    );
}

#[test]
fn a_six_minute_wav_is_too_long_while_decoding() {
    // Six minutes of 8 kHz 16-bit mono silence: 5.8 MB, under the size limit.
    let file = wav(8000, 1, &vec![0; 6 * 60 * 8000]);
    assert!(file.len() < crate::media::audio::MAX_INPUT_BYTES);
    assert_eq!(decode(&file), Err(AudioError::TooLong { format: "WAV" }));
    assert_eq!(
        AudioError::TooLong { format: "WAV" }.to_string(),
        "WAV file too long: the limit is 5 minutes"
    );
}

#[test]
fn a_stream_without_a_stated_length_stops_as_soon_as_it_is_too_long() {
    // ADTS has no length header: the check while decoding is what stops it.
    let aac = fixture("tone_1k.aac");
    assert!(decode_with_limit(&aac, Duration::from_millis(400)).is_ok());
    assert_eq!(
        decode_with_limit(&aac, Duration::from_millis(100)),
        Err(AudioError::TooLong { format: "AAC" })
    );
    // Six minutes of ADTS frames (the quarter second repeated) is refused
    // long before it would have decoded.
    let long: Vec<u8> = aac.repeat(6 * 60 * 4);
    assert!(long.len() < crate::media::audio::MAX_INPUT_BYTES);
    assert_eq!(decode(&long), Err(AudioError::TooLong { format: "AAC" }));
}

#[test]
fn a_wav_holding_gsm_names_the_unsupported_codec() {
    let err = decode(&fixture("tone_gsm.wav")).unwrap_err();
    assert_eq!(
        err,
        AudioError::UnsupportedCodec("WAV with GSM 6.10 (format 0x0031)".into())
    );
    assert_eq!(
        err.to_string(),
        "unsupported audio codec: WAV with GSM 6.10 (format 0x0031)"
    );
}

#[test]
fn a_wav_claiming_no_or_an_absurd_sample_rate_is_damaged() {
    for rate in [0u32, 4_000_000] {
        let mut file = wav(8000, 1, &[1000; 800]);
        file[24..28].copy_from_slice(&rate.to_le_bytes());
        let err = decode(&file).unwrap_err();
        assert!(
            matches!(err, AudioError::Corrupt { format: "WAV", .. }),
            "{rate}: {err:?}"
        );
    }
}

#[test]
fn a_wav_with_no_samples_has_no_sound() {
    assert_eq!(
        decode(&wav(8000, 1, &[])),
        Err(AudioError::NoSound { format: "WAV" })
    );
}

#[test]
fn sniffing_knows_the_formats_by_their_first_bytes() {
    for (name, format, _) in TONES {
        assert_eq!(sniff(&fixture(name)), Some(format), "{name}");
    }
    assert_eq!(
        sniff(b"ID3\x04\x00\x00\x7F\x7F\x7F\x7F"),
        None,
        "a tag running past the end"
    );
    assert_eq!(sniff(&[0xFF, 0xF1]), Some("AAC"));
    assert_eq!(sniff(&[0xFF, 0xFB]), Some("MP3"));
    assert_eq!(
        sniff(&[0xFF, 0xE1]),
        None,
        "MPEG sync with the reserved layer"
    );
}

/// Starts of every format, for the fuzz-like property below.
fn prefixes() -> Vec<Vec<u8>> {
    TONES
        .iter()
        .map(|(name, _, _)| fixture(name)[..64].to_vec())
        .chain([
            b"RIFF\0\0\0\0WAVE".to_vec(),
            b"ID3\x03\0\0\0\0\0\x05xxxxx\xFF\xFB".to_vec(),
        ])
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn any_bytes_behind_a_real_header_decode_or_fail_cleanly(
        which in 0usize..8,
        tail in proptest::collection::vec(proptest::num::u8::ANY, 0..2000),
    ) {
        let prefixes = prefixes();
        let mut file = prefixes[which % prefixes.len()].clone();
        file.extend_from_slice(&tail);
        if let Ok(d) = decode(&file) {
            proptest::prop_assert!(d.sample_rate > 0 && !d.samples.is_empty());
        }
    }

    #[test]
    fn cutting_a_real_file_anywhere_never_panics(
        which in 0usize..6,
        cut in 0.0f64..1.0,
    ) {
        let file = fixture(TONES[which].0);
        let end = (file.len() as f64 * cut) as usize;
        let _ = decode(&file[..end]);
    }
}
