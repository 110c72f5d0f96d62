//! Intercom audio: `media::audio::prepare` (decode → mono → resample →
//! volume → encode and frame) on 30 s of 44.1 kHz stereo, as WAV and as
//! MP3, to PCMU 8 kHz (Wyze G.711 frames of 160) and PCM 16 kHz (frames of
//! 320); and push-to-talk (`StreamEncoder`, 20 ms chunks of 48 kHz) to PCMU.
//!
//! The WAV is synthesised here (a 1 kHz tone with a 330 Hz one under it);
//! the MP3 is that WAV encoded by `ffmpeg -c:a libmp3lame -b:a 128k` into a
//! temporary directory (skipped with a note if ffmpeg is missing; `tests/run.sh`
//! installs it). Besides criterion's times it prints "× real time": seconds
//! of audio prepared per second of CPU.
//!
//! `cargo bench --bench audio_pipeline -- --warm-up-time 1 --measurement-time 5`
#![allow(clippy::disallowed_methods)] // Instant::now for the × real time figure.

use std::process::Command;
use std::time::{Duration, Instant};

use cam2mqtt::media::audio::{prepare, AudioCodec, StreamEncoder, TalkFormat};
use criterion::{criterion_group, criterion_main, Criterion};

const SECONDS: u32 = 30;
const RATE: u32 = 44_100;

const PCMU_8K: TalkFormat = TalkFormat {
    codec: AudioCodec::Mulaw,
    sample_rate: 8_000,
    samples_per_frame: 160,
};
const PCM_16K: TalkFormat = TalkFormat {
    codec: AudioCodec::PcmS16Le,
    sample_rate: 16_000,
    samples_per_frame: 320,
};

/// 30 s of 16-bit stereo at 44.1 kHz as a WAV file.
fn wav() -> Vec<u8> {
    let frames = SECONDS * RATE;
    let data_len = frames * 4;
    let mut f = Vec::with_capacity(44 + data_len as usize);
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&(36 + data_len).to_le_bytes());
    f.extend_from_slice(b"WAVEfmt ");
    for v in [16u32, 0x0002_0001, RATE, RATE * 4, 0x0010_0004] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(b"data");
    f.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(RATE);
        let tau = 2.0 * std::f64::consts::PI;
        let l = 0.4 * (tau * 1000.0 * t).sin() + 0.2 * (tau * 330.0 * t).sin();
        let r = 0.4 * (tau * 1000.0 * t).sin() - 0.2 * (tau * 330.0 * t).sin();
        for s in [l, r] {
            f.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
        }
    }
    f
}

/// The WAV as a 128 kbit/s MP3, by ffmpeg; `None` if ffmpeg is not there.
fn mp3(wav: &[u8]) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().ok()?;
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.mp3"));
    std::fs::write(&input, wav).ok()?;
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&input)
        .args(["-c:a", "libmp3lame", "-b:a", "128k"])
        .arg(&output)
        .status();
    match status {
        Ok(s) if s.success() => std::fs::read(&output).ok(),
        _ => {
            eprintln!("ffmpeg not available: skipping the MP3 benchmarks");
            None
        }
    }
}

/// Prints how many times faster than real time `f` prepares the 30 s.
fn real_time(name: &str, runs: u32, f: impl Fn()) {
    f(); // Warm-up (symphonia's registries, caches).
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    let per_run = start.elapsed() / runs;
    let factor = Duration::from_secs(u64::from(SECONDS)).as_secs_f64() / per_run.as_secs_f64();
    println!("{name}: {per_run:.1?} per 30 s → {factor:.0}× real time");
}

fn bench(c: &mut Criterion) {
    let wav = wav();
    let mut inputs = vec![("wav", wav.clone())];
    inputs.extend(mp3(&wav).map(|m| ("mp3", m)));
    let mut g = c.benchmark_group("audio_prepare_30s_44k1_stereo");
    g.sample_size(10);
    for (kind, file) in &inputs {
        for (name, format) in [("pcmu_8k", PCMU_8K), ("pcm_16k", PCM_16K)] {
            let run = || {
                let p = prepare(file, 1.0, &format).expect("prepares");
                assert!(p.duration >= Duration::from_secs(u64::from(SECONDS)));
            };
            real_time(&format!("{kind} → {name}"), 3, run);
            g.bench_function(format!("{kind}_to_{name}"), |b| b.iter(run));
        }
    }
    g.finish();

    // Push-to-talk: 30 s of 48 kHz mono in 20 ms chunks.
    let talk: Vec<i16> = (0..SECONDS * 48_000)
        .map(|i| ((f64::from(i) * 0.13).sin() * 12_000.0) as i16)
        .collect();
    let stream = || {
        let mut enc = StreamEncoder::new(48_000, 1.0, &PCMU_8K).expect("valid");
        let mut frames = 0;
        for chunk in talk.chunks(960) {
            frames += enc.push(chunk).len();
        }
        frames += enc.finish().len();
        assert_eq!(frames, 1500);
    };
    real_time("push-to-talk 48k → pcmu_8k", 3, stream);
    let mut g = c.benchmark_group("audio_stream_30s_48k_mono");
    g.sample_size(10);
    g.bench_function("20ms_chunks_to_pcmu_8k", |b| b.iter(stream));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
