//! Test helpers for the audio modules: tones, a frequency estimator and
//! the committed fixtures (`tests/data/audio/`, provenance in its README).

/// A sine of `hz` at `rate`, `secs` long, amplitude `amp` (full scale 1.0).
pub fn tone(hz: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
    let n = (secs * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin()) as f32
        })
        .collect()
}

/// The frequency of a tone from its upward zero crossings, interpolated
/// between samples: (crossings − 1) periods between the first and the last.
/// `None` with fewer than 3 crossings.
pub fn zero_crossing_hz(samples: &[f32], rate: u32) -> Option<f64> {
    let mut crossings = Vec::new();
    for (i, w) in samples.windows(2).enumerate() {
        let (a, b) = (f64::from(w[0]), f64::from(w[1]));
        if a < 0.0 && b >= 0.0 {
            crossings.push(i as f64 + a / (a - b));
        }
    }
    let (first, last) = (crossings.first()?, crossings.last()?);
    if crossings.len() < 3 {
        return None;
    }
    Some((crossings.len() - 1) as f64 / (last - first) * f64::from(rate))
}

/// Goertzel power of `samples` at `hz`.
pub fn goertzel(samples: &[f32], rate: u32, hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency on a 10 Hz grid from 50 Hz to just below Nyquist.
pub fn dominant_hz(samples: &[f32], rate: u32) -> f64 {
    let top = f64::from(rate) / 2.0 - 50.0;
    let mut best = (0.0, f64::MIN);
    let mut hz = 50.0;
    while hz < top {
        let p = goertzel(samples, rate, hz);
        if p > best.1 {
            best = (hz, p);
        }
        hz += 10.0;
    }
    best.0
}

/// A committed fixture by file name.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/audio/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A canonical 16-bit PCM WAV file.
pub fn wav(rate: u32, channels: u16, pcm: &[i16]) -> Vec<u8> {
    let data_len = (pcm.len() * 2) as u32;
    let mut f = Vec::with_capacity(44 + pcm.len() * 2);
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&(36 + data_len).to_le_bytes());
    f.extend_from_slice(b"WAVEfmt ");
    f.extend_from_slice(&16u32.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    f.extend_from_slice(&(channels * 2).to_le_bytes());
    f.extend_from_slice(&16u16.to_le_bytes());
    f.extend_from_slice(b"data");
    f.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        f.extend_from_slice(&s.to_le_bytes());
    }
    f
}
