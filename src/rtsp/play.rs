//! One RTSP client's media, sans-IO: frames from the camera's live feed in
//! (with the time they arrived), RTP and RTCP packets out, per track.
//!
//! **Video** goes as the camera sent it: H.264/H.265 access units are only
//! cut into RTP packets (no decode, no re-encode), JPEG pictures go as
//! RFC 2435 payloads, and a picture that format cannot carry is re-encoded
//! by the caller's `reencode` and counted.
//!
//! **Timing.** Every track's RTP clock runs from one timeline: the bridge's
//! clock at PLAY, plus a random offset per track. A video frame's place on
//! it is the camera's own timestamp (smooth, whatever the network did),
//! anchored so that the newest frame of the GOP a new client starts with
//! lands at "now"; if the camera's clock and the bridge's drift more than
//! [`REANCHOR`] apart, the anchor moves to the frame's arrival. Audio is
//! placed by sample count, re-placed at its arrival when that is more than
//! [`AUDIO_SLACK`] away. Sender reports tie the same timeline to wall-clock
//! time for every track, so clients line audio up with video.
//!
//! **Audio** goes as the camera sent it where RTP has a format clients take
//! (G.711 at 8 kHz, PCM as L16); IMA ADPCM is decoded to G.711 μ-law, and
//! G.711 at another rate to L16 ([`audio_track`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::jpeg::JpegRtpError;
use super::rtcp::{self, SenderReport};
use super::rtp::{self, RtpStream};
use super::sdp::{pt, AudioTrack, VideoTrack};
use crate::bus::live::LiveAudioChunk;
use crate::media::audio::codec;
use crate::model::{AudioCodec, VideoCodec, VideoFrame};

/// Video RTP clock rate.
pub const VIDEO_CLOCK: u32 = 90_000;
/// How far the camera's clock may drift from the bridge's before the video
/// is re-anchored at a frame's arrival.
pub const REANCHOR: Duration = Duration::from_secs(1);
/// The least time between two video frames on a stream's timeline (90
/// ticks of the video clock): two pictures that reach the bridge together
/// still get distinct, increasing timestamps, as players expect.
pub const MIN_FRAME_GAP: Duration = Duration::from_millis(1);
/// How far audio placed by sample count may be from its arrival.
pub const AUDIO_SLACK: Duration = Duration::from_millis(100);

/// The RTP track for a camera's audio, from a chunk of it: what RTP carries
/// it as (`None`: not offered).
pub fn audio_track(chunk: &LiveAudioChunk) -> Option<AudioTrack> {
    match (chunk.codec, chunk.sample_rate) {
        (AudioCodec::Aac, _) => {
            let (adts, _) = *rtp::adts_frames(&chunk.data).first()?;
            Some(AudioTrack::Aac {
                rate: adts.sample_rate()?,
                channels: adts.channels.max(1),
                config: adts.config(),
            })
        }
        (AudioCodec::Mulaw | AudioCodec::ImaAdpcm, 8000) => Some(AudioTrack::Pcmu),
        (AudioCodec::Alaw, 8000) => Some(AudioTrack::Pcma),
        (AudioCodec::Mulaw | AudioCodec::Alaw | AudioCodec::ImaAdpcm | AudioCodec::PcmS16Le, r)
            if (8000..=48_000).contains(&r) =>
        {
            Some(AudioTrack::L16(r))
        }
        _ => None,
    }
}

/// Where on the timeline (microseconds) a chunk of `samples` at `clock`
/// that arrived at `arrival` starts: right after the one before (`next`)
/// while that is within [`AUDIO_SLACK`] of the arrival, else just before its
/// arrival. Moves `next` past it.
fn place(next: &mut Option<i64>, arrival: i64, samples: usize, clock: u32) -> i64 {
    let duration = i64::try_from(samples).unwrap_or(0) * 1_000_000 / i64::from(clock.max(1));
    let start = match *next {
        Some(n) if (n - arrival).abs() <= AUDIO_SLACK.as_micros() as i64 => n,
        _ => arrival - duration,
    };
    *next = Some(start + duration);
    start
}

/// A packet for a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The track (`trackID`).
    pub track: u8,
    /// RTCP (else RTP).
    pub rtcp: bool,
    /// The packet.
    pub packet: Vec<u8>,
}

/// Counters of one client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayStats {
    /// Video frames sent.
    pub frames: u64,
    /// Video frames skipped waiting for a keyframe.
    pub skipped: u64,
    /// JPEG pictures re-encoded because RTP could not carry them.
    pub reencoded: u64,
    /// Audio chunks sent.
    pub audio_chunks: u64,
}

#[derive(Debug)]
struct Track {
    id: u8,
    rtp: RtpStream,
    base: u32,
    clock: u32,
    packets: u32,
    octets: u32,
    next_report: Option<Instant>,
}

impl Track {
    fn new(id: u8, payload_type: u8, clock: u32, random: u64) -> Self {
        // One random u64 gives SSRC, first sequence number and clock offset.
        let ssrc = (random >> 32) as u32;
        let seq = (random >> 16) as u16;
        let base = (random as u32).wrapping_mul(2_654_435_761);
        Self {
            id,
            rtp: RtpStream::new(payload_type, ssrc, seq),
            base,
            clock,
            packets: 0,
            octets: 0,
            next_report: None,
        }
    }

    /// RTP time of `micros` after the start.
    fn stamp(&self, micros: i64) -> u32 {
        let ticks = i128::from(micros) * i128::from(self.clock) / 1_000_000;
        self.base.wrapping_add(ticks as u32)
    }

    /// Queues `packets`; a track's first packets go after a sender report,
    /// so a player places them on the shared timeline from the start.
    fn push(&mut self, now: &ReportClock, packets: Vec<Vec<u8>>, out: &mut VecDeque<Outgoing>) {
        if self.next_report.is_none() {
            self.report(now, out);
        }
        for p in packets {
            self.packets = self.packets.wrapping_add(1);
            let payload = p.len().saturating_sub(super::rtp::HEADER_LEN);
            self.octets = self
                .octets
                .wrapping_add(u32::try_from(payload).unwrap_or(u32::MAX));
            out.push_back(Outgoing {
                track: self.id,
                rtcp: false,
                packet: p,
            });
        }
    }

    /// A sender report at `now`; the next one is due [`rtcp::INTERVAL`] later.
    fn report(&mut self, now: &ReportClock, out: &mut VecDeque<Outgoing>) {
        let sr = SenderReport {
            ssrc: self.rtp.ssrc,
            ntp: rtcp::ntp(now.wall),
            rtp_timestamp: self.stamp(now.micros),
            packets: self.packets,
            octets: self.octets,
        };
        out.push_back(Outgoing {
            track: self.id,
            rtcp: true,
            packet: sr.to_bytes(&now.cname),
        });
        self.next_report = Some(now.at + rtcp::INTERVAL);
    }
}

/// An instant on a player's clocks, for sender reports.
struct ReportClock {
    at: Instant,
    micros: i64,
    wall: SystemTime,
    cname: Arc<str>,
}

/// The video's mapping from the camera's clock to the timeline.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    camera: Duration,
    micros: i64,
}

/// One client's media (see the module docs).
#[derive(Debug)]
pub struct Player {
    start: Instant,
    wall_start: SystemTime,
    cname: Arc<str>,
    video: Option<(Track, VideoTrack)>,
    audio: Option<(Track, AudioTrack)>,
    anchor: Option<Anchor>,
    last_video: Option<i64>,
    audio_next: Option<i64>,
    want_keyframe: bool,
    out: VecDeque<Outgoing>,
    stats: PlayStats,
}

impl Player {
    /// A player started at `now` (`wall` the same instant on the wall
    /// clock) for the tracks the client set up: `video` and `audio` as
    /// (track id, format); `random` seeds SSRCs, sequence numbers and clock
    /// offsets.
    pub fn new(
        now: Instant,
        wall: SystemTime,
        video: Option<(u8, VideoTrack)>,
        audio: Option<(u8, AudioTrack)>,
        random: [u64; 2],
        cname: String,
    ) -> Self {
        let video = video.map(|(id, v)| {
            let pt = match v {
                VideoTrack::H264 { .. } => pt::H264,
                VideoTrack::H265 { .. } => pt::H265,
                VideoTrack::Jpeg => pt::JPEG,
            };
            (Track::new(id, pt, VIDEO_CLOCK, random[0]), v)
        });
        let audio = audio.map(|(id, a)| {
            let (pt, clock) = match a {
                AudioTrack::Pcmu => (pt::PCMU, 8000),
                AudioTrack::Pcma => (pt::PCMA, 8000),
                AudioTrack::L16(r) => (pt::L16, r),
                AudioTrack::Aac { rate, .. } => (pt::AAC, rate),
            };
            (Track::new(id, pt, clock, random[1]), a)
        });
        Self {
            start: now,
            wall_start: wall,
            cname: cname.into(),
            video,
            audio,
            anchor: None,
            last_video: None,
            audio_next: None,
            want_keyframe: true,
            out: VecDeque::new(),
            stats: PlayStats::default(),
        }
    }

    fn clock(&self, now: Instant) -> ReportClock {
        ReportClock {
            at: now,
            micros: self.micros(now),
            wall: self.wall_start + now.saturating_duration_since(self.start),
            cname: self.cname.clone(),
        }
    }

    fn micros(&self, at: Instant) -> i64 {
        if at >= self.start {
            i64::try_from(at.duration_since(self.start).as_micros()).unwrap_or(i64::MAX)
        } else {
            -i64::try_from(self.start.duration_since(at).as_micros()).unwrap_or(i64::MAX)
        }
    }

    /// The GOP a new client starts with (keyframe first), at `now`: its
    /// newest frame is placed at `now`, the others before it.
    pub fn handle_gop(&mut self, now: Instant, gop: &[VideoFrame]) {
        let (Some(first), Some(last)) = (gop.first(), gop.last()) else {
            return;
        };
        let span = last.timestamp.saturating_sub(first.timestamp);
        let span = i64::try_from(span.as_micros()).unwrap_or(0);
        self.anchor = Some(Anchor {
            camera: first.timestamp,
            micros: self.micros(now) - span,
        });
        for f in gop {
            self.handle_video(now, f, None);
        }
    }

    /// A video frame that arrived at `arrived` (`None`: from the GOP).
    pub fn handle_video(&mut self, now: Instant, frame: &VideoFrame, arrived: Option<Instant>) {
        if self.want_keyframe && !frame.keyframe {
            self.stats.skipped += 1;
            return;
        }
        let arrival = arrived.map(|a| self.micros(a));
        let mut micros = match (self.anchor, arrival) {
            (Some(a), arrival) if frame.timestamp >= a.camera => {
                let d = i64::try_from((frame.timestamp - a.camera).as_micros()).unwrap_or(0);
                let mapped = a.micros.saturating_add(d);
                match arrival {
                    Some(at) if (mapped - at).unsigned_abs() > REANCHOR.as_micros() as u64 => {
                        self.reanchor(frame.timestamp, at)
                    }
                    _ => mapped,
                }
            }
            (_, arrival) => {
                let at = arrival.unwrap_or_else(|| self.micros(now));
                self.reanchor(frame.timestamp, at)
            }
        };
        if let Some(last) = self.last_video {
            // Never backwards, never two frames on one tick.
            micros = micros.max(last + MIN_FRAME_GAP.as_micros() as i64);
        }
        let clock = self.clock(now);
        let Some((track, VideoTrack::H264 { .. } | VideoTrack::H265 { .. })) = &mut self.video
        else {
            return;
        };
        let ts = track.stamp(micros);
        let packets = match frame.codec {
            VideoCodec::H264 => track.rtp.h264(ts, &frame.data),
            VideoCodec::H265 => track.rtp.h265(ts, &frame.data),
        };
        self.want_keyframe = false;
        self.last_video = Some(micros);
        self.stats.frames += 1;
        track.push(&clock, packets, &mut self.out);
    }

    fn reanchor(&mut self, camera: Duration, micros: i64) -> i64 {
        self.anchor = Some(Anchor { camera, micros });
        micros
    }

    /// Frames were lost before the next one: wait for a keyframe.
    pub fn handle_video_lost(&mut self) {
        self.want_keyframe = true;
    }

    /// A JPEG picture that arrived at `arrived`; `reencode` makes one RTP
    /// can carry when this one cannot.
    pub fn handle_jpeg(
        &mut self,
        now: Instant,
        jpeg: &[u8],
        arrived: Instant,
        reencode: impl FnOnce(&[u8]) -> Option<Bytes>,
    ) {
        let mut micros = self.micros(arrived);
        if let Some(last) = self.last_video {
            micros = micros.max(last + MIN_FRAME_GAP.as_micros() as i64);
        }
        let clock = self.clock(now);
        let Some((track, VideoTrack::Jpeg)) = &mut self.video else {
            return;
        };
        let ts = track.stamp(micros);
        let packets = match track.rtp.jpeg(ts, jpeg) {
            Ok(p) => p,
            Err(JpegRtpError::Unsupported(why)) => {
                let Some(again) = reencode(jpeg) else {
                    return;
                };
                self.stats.reencoded += 1;
                tracing::trace!(why, "JPEG re-encoded for RTP");
                match track.rtp.jpeg(ts, &again) {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
            Err(JpegRtpError::Malformed(_)) => return,
        };
        self.last_video = Some(micros);
        self.stats.frames += 1;
        track.push(&clock, packets, &mut self.out);
    }

    /// A chunk of the camera's audio.
    pub fn handle_audio(&mut self, now: Instant, chunk: &LiveAudioChunk) {
        let arrival = self.micros(chunk.at);
        let clock = self.clock(now);
        let Some((track, kind)) = &mut self.audio else {
            return;
        };
        if let AudioTrack::Aac { .. } = kind {
            let frames = rtp::adts_frames(&chunk.data);
            if frames.is_empty() || chunk.codec != AudioCodec::Aac {
                return;
            }
            // 1024 samples a frame (AAC LC).
            let samples = 1024 * frames.len();
            let start = place(&mut self.audio_next, arrival, samples, track.clock);
            let mut ts = track.stamp(start);
            let mut packets = Vec::with_capacity(frames.len());
            for (_, frame) in frames {
                packets.extend(track.rtp.aac(ts, frame));
                ts = ts.wrapping_add(1024);
            }
            self.stats.audio_chunks += 1;
            track.push(&clock, packets, &mut self.out);
            return;
        }
        let payload: Vec<u8> = match (*kind, chunk.codec) {
            (AudioTrack::Pcmu, AudioCodec::Mulaw) | (AudioTrack::Pcma, AudioCodec::Alaw) => {
                chunk.data.to_vec()
            }
            (AudioTrack::Pcmu, c) => match codec::decode(c, &chunk.data) {
                Ok(pcm) => pcm.iter().map(|&s| codec::mulaw_encode(s)).collect(),
                Err(_) => return,
            },
            (AudioTrack::Pcma, c) => match codec::decode(c, &chunk.data) {
                Ok(pcm) => pcm.iter().map(|&s| codec::alaw_encode(s)).collect(),
                Err(_) => return,
            },
            (AudioTrack::L16(_), c) => match codec::decode(c, &chunk.data) {
                Ok(pcm) => pcm.iter().flat_map(|s| s.to_be_bytes()).collect(),
                Err(_) => return,
            },
            (AudioTrack::Aac { .. }, _) => return,
        };
        let samples = match kind {
            AudioTrack::L16(_) => payload.len() / 2,
            _ => payload.len(),
        };
        if samples == 0 {
            return;
        }
        let start = place(&mut self.audio_next, arrival, samples, track.clock);
        let ts = track.stamp(start);
        let packets = match kind {
            AudioTrack::L16(_) => {
                // Whole samples per packet.
                let per = (track.rtp.max_payload / 2).max(1);
                let mut ts = ts;
                payload
                    .chunks(per * 2)
                    .map(|c| {
                        let p = track.rtp.audio(ts, c).remove(0);
                        ts = ts.wrapping_add(u32::try_from(c.len() / 2).unwrap_or(0));
                        p
                    })
                    .collect()
            }
            _ => track.rtp.audio(ts, &payload),
        };
        self.stats.audio_chunks += 1;
        track.push(&clock, packets, &mut self.out);
    }

    /// When [`Player::handle_timeout`] must run (the next sender report).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let v = self.video.as_ref().and_then(|(t, _)| t.next_report);
        let a = self.audio.as_ref().and_then(|(t, _)| t.next_report);
        match (v, a) {
            (Some(v), Some(a)) => Some(v.min(a)),
            (v, a) => v.or(a),
        }
    }

    /// Sends the sender reports due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let clock = self.clock(now);
        let tracks = [
            self.video.as_mut().map(|(t, _)| t),
            self.audio.as_mut().map(|(t, _)| t),
        ];
        for track in tracks.into_iter().flatten() {
            if track.next_report.is_some_and(|t| t <= now) {
                track.report(&clock, &mut self.out);
            }
        }
    }

    /// The next packet to send.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }

    /// Whether the next video frame must be a keyframe.
    pub fn wants_keyframe(&self) -> bool {
        self.want_keyframe
    }

    /// The counters.
    pub fn stats(&self) -> PlayStats {
        self.stats
    }
}

#[cfg(test)]
mod tests;
