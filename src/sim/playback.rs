//! What a simulated camera heard on its speaker: one [`Playback`] per talk
//! (Wyze K10010 on … off; PPPP talk command on … off), kept for tests and
//! written out by `cam2mqtt simulate --record-audio`.

use std::time::{Duration, Instant};

use crate::model::AudioCodec;

/// Playbacks a camera keeps (the oldest go first).
pub const MAX_PLAYBACKS: usize = 16;
/// Most samples one playback keeps (ten minutes at 48 kHz).
pub const MAX_PLAYBACK_SAMPLES: usize = 10 * 60 * 48_000;

/// Intercom audio a simulated camera received in one playback (from the
/// talk command on to off).
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    /// When the client turned intercom on.
    pub started_at: Instant,
    /// The back channel's DTLS handshake finished.
    pub dtls_connected: bool,
    /// The client answered the camera's login.
    pub logged_in: bool,
    /// The camera gave up waiting for that answer.
    pub gave_up: bool,
    /// Codec of the frames (the last one's).
    pub codec: Option<AudioCodec>,
    /// Their sample rate (0 before the first frame).
    pub sample_rate: u32,
    /// Frames taken.
    pub frames: u64,
    /// Messages rejected (malformed frames, bad answers, undecodable).
    pub rejected: u64,
    /// Frames whose number did not follow the previous one (or a first
    /// frame not numbered 1 at time 0).
    pub out_of_sequence: u64,
    /// Codec or rate changed within the playback.
    pub format_changes: u64,
    /// The payloads as received, concatenated.
    pub raw: Vec<u8>,
    /// The payloads decoded to mono PCM.
    pub pcm: Vec<i16>,
    /// When the first frame arrived.
    pub first_frame_at: Option<Instant>,
    /// When the last frame arrived.
    pub last_frame_at: Option<Instant>,
    /// The client turned intercom off (the talk command off).
    pub ended: bool,
    /// When.
    pub ended_at: Option<Instant>,
}

impl Playback {
    /// A playback that began at `started_at`.
    pub fn new(started_at: Instant) -> Self {
        Self {
            started_at,
            dtls_connected: false,
            logged_in: false,
            gave_up: false,
            codec: None,
            sample_rate: 0,
            frames: 0,
            rejected: 0,
            out_of_sequence: 0,
            format_changes: 0,
            raw: Vec::new(),
            pcm: Vec::new(),
            first_frame_at: None,
            last_frame_at: None,
            ended: false,
            ended_at: None,
        }
    }

    /// How long the decoded audio plays.
    pub fn duration(&self) -> Duration {
        if self.sample_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.pcm.len() as f64 / f64::from(self.sample_rate))
    }
}

/// File extension of a codec's raw payload.
pub fn raw_extension(codec: AudioCodec) -> &'static str {
    match codec {
        AudioCodec::Mulaw => "ulaw",
        AudioCodec::Alaw => "alaw",
        AudioCodec::PcmS16Le => "pcm",
        AudioCodec::ImaAdpcm => "adpcm",
        AudioCodec::Aac => "aac",
    }
}

/// The codec's short name for file names.
fn codec_label(codec: AudioCodec) -> &'static str {
    match codec {
        AudioCodec::Mulaw => "pcmu",
        AudioCodec::Alaw => "pcma",
        AudioCodec::PcmS16Le => "pcm16",
        AudioCodec::ImaAdpcm => "adpcm",
        AudioCodec::Aac => "aac",
    }
}

/// A 16-bit mono WAV of `pcm` at `rate` (the 44-byte header written here).
pub fn wav(pcm: &[i16], rate: u32) -> Vec<u8> {
    let data = u32::try_from(pcm.len() * 2).unwrap_or(u32::MAX);
    let mut w = Vec::with_capacity(44 + pcm.len() * 2);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&data.saturating_add(36).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&rate.saturating_mul(2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    for s in pcm {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

/// Writes playback number `n` of camera `label` into `dir`: the payload as
/// received (`<label>-<n>-<codec>-<rate>.<ext>`) and the decoded audio
/// (`… .wav`). Returns the two paths.
pub fn write(
    dir: &std::path::Path,
    label: &str,
    n: usize,
    p: &Playback,
) -> std::io::Result<[std::path::PathBuf; 2]> {
    let codec = p.codec.unwrap_or(AudioCodec::PcmS16Le);
    let stem = format!("{label}-{n}-{}-{}", codec_label(codec), p.sample_rate);
    let raw = dir.join(format!("{stem}.{}", raw_extension(codec)));
    let decoded = dir.join(format!("{stem}.wav"));
    std::fs::write(&raw, &p.raw)?;
    std::fs::write(&decoded, wav(&p.pcm, p.sample_rate.max(1)))?;
    Ok([raw, decoded])
}

/// Watches a camera's playbacks (`read` returns them, oldest first) and
/// writes each one into `dir` once it ended (checked every 200 ms), until
/// the task is dropped or aborted.
pub async fn record(
    dir: std::path::PathBuf,
    label: String,
    read: impl Fn() -> Vec<Playback> + Send + 'static,
) {
    let mut written = 0usize;
    let mut seen_started: Vec<Instant> = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        for p in read() {
            if !(p.ended || p.gave_up) || p.frames == 0 || seen_started.contains(&p.started_at) {
                continue;
            }
            seen_started.push(p.started_at);
            written += 1;
            match write(&dir, &label, written, &p) {
                Ok([raw, decoded]) => tracing::info!(
                    raw = %raw.display(),
                    wav = %decoded.display(),
                    seconds = p.duration().as_secs_f64(),
                    "intercom audio recorded"
                ),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot record intercom audio")
                }
            }
        }
        if seen_started.len() > 4 * MAX_PLAYBACKS {
            seen_started.drain(..MAX_PLAYBACKS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playback_is_written_as_received_and_as_a_wav() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Playback::new(crate::proto::testing::t0());
        p.codec = Some(AudioCodec::Mulaw);
        p.sample_rate = 8000;
        p.raw = vec![0xFF; 160];
        p.pcm = vec![0; 160];
        p.frames = 1;
        let [raw, decoded] = write(dir.path(), "door", 1, &p).unwrap();
        assert_eq!(raw.file_name().unwrap(), "door-1-pcmu-8000.ulaw");
        assert_eq!(std::fs::read(&raw).unwrap(), vec![0xFF; 160]);
        let w = std::fs::read(&decoded).unwrap();
        assert_eq!(w.len(), 44 + 320);
        let d = crate::media::audio::decode::decode(&w).unwrap();
        assert_eq!((d.sample_rate, d.samples.len()), (8000, 160));
    }
}
