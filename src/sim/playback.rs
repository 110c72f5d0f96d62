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
