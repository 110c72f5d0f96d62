//! The Wyze intercom back channel (`wyze.md` §1.6; the TUTK document §10.2
//! and §12), as a sub-machine the [`super::TutkSession`] drains.
//!
//! After the camera accepted K10010 `[3, 1]` (ReturnAudio on) it dials us on
//! IOTC **channel 1** of the same session, and there the roles turn: the
//! camera is the DTLS *client* and we are the *server* (PSK, suite 0x00AE
//! `TLS_PSK_WITH_AES_128_CBC_SHA256`, [`dtls_config`]). Inside, the camera
//! sends its AV login; we answer with a 60-byte `0x2100` reply (its nonce
//! echoed, bytes 29 and 31 set, `4` @36, caps @40, `3`/`2` @54/56), as often
//! as it asks. Then we send one audio frame per DTLS record
//! ([`encode_frame`]): a 36-byte header, the payload and a 16-byte TX
//! FRAMEINFO, paced in real time by a [`Pacer`].
//!
//! This module owns the channel-1 DTLS endpoint, the login answer, framing
//! and pacing. It never touches channel 0 (the session sends K10010) and
//! never reads a clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::av::{self, LoginReply, LOGIN_OK};
use super::dtls::{CipherSuite, Dtls, DtlsConfig, DtlsEvent, Psk};
use super::frame::codec;
use crate::model::{AudioCodec, TalkFormat};
use crate::proto::codec::LimitedHex;
use crate::proto::talk::{Pacer, QueueFull, TalkId};

/// How long the camera may take to dial the back channel and log in.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Samples in one G.711 or PCM frame (`wyze.md` §1.6).
pub const SAMPLES_PER_FRAME: usize = 160;

/// Size of the TX frame header.
pub const HEADER_LEN: usize = 36;
/// Size of the TX FRAMEINFO at a frame's end.
pub const FRAMEINFO_LEN: usize = 16;

/// The back channel's DTLS settings: the camera's PSK and identity, and only
/// the suite the cameras use there (`wyze.md` §1.3, "Back channel 1").
pub fn dtls_config(psk: Psk) -> DtlsConfig {
    let mut cfg = DtlsConfig::new(psk);
    cfg.suites = vec![CipherSuite::PskAes128CbcSha256];
    cfg
}

/// The answer to the camera's AV login on the back channel (`wyze.md` §1.6
/// step 3): the normal 60-byte reply with the camera's nonce echoed, plus
/// `3` @54 and `2` @56 as go2rtc sends them.
pub fn login_answer(nonce: [u8; 4]) -> Vec<u8> {
    let mut p = LoginReply {
        result: LOGIN_OK,
        nonce,
        two_way_audio: true,
    }
    .encode();
    debug_assert_eq!(p.len(), 60, "LoginReply::encode makes 60 bytes");
    if let Some(b) = p.get_mut(54) {
        *b = 3;
    }
    if let Some(b) = p.get_mut(56) {
        *b = 2;
    }
    p
}

/// The TUTK audio codec id of a talk format, if the camera can take it.
pub fn codec_id(c: AudioCodec) -> Option<u16> {
    match c {
        AudioCodec::Mulaw => Some(codec::PCMU),
        AudioCodec::Alaw => Some(codec::PCMA),
        AudioCodec::PcmS16Le => Some(codec::PCM),
        AudioCodec::ImaAdpcm | AudioCodec::Aac => None,
    }
}

/// Index of a sample rate in the FRAMEINFO table (TUTK document §11.3).
pub fn rate_index(rate: u32) -> Option<u8> {
    const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
    RATES
        .iter()
        .position(|&r| r == rate)
        .and_then(|i| u8::try_from(i).ok())
}

/// One audio frame to the camera. `n` counts frames from 0; the wire's frame
/// number is `n + 1` and the FRAMEINFO time `n × frame duration` in ms
/// (`(frame_no − 1) · samples · 1000 / rate`). `seq` is the TX sequence.
///
/// The flags byte is `(rate index << 2) | 2 | stereo` for every codec, as
/// go2rtc sends it (the "16-bit" bit set even for G.711, which cameras
/// accepted).
pub fn encode_frame(format: &TalkFormat, n: u64, seq: u32, payload: &[u8]) -> Option<Vec<u8>> {
    let codec = codec_id(format.codec)?;
    let sr = rate_index(format.sample_rate)?;
    let frame_no = u32::try_from(n + 1).ok()?;
    let prev = frame_no - 1;
    let samples = u64::try_from(format.samples_per_frame).ok()?;
    let rate = u64::from(format.sample_rate);
    let ms = u32::try_from(n * samples * 1000 / rate).unwrap_or(u32::MAX);
    let us = u32::try_from((n * samples * 1_000_000 / rate) % (1u64 << 32)).unwrap_or(0);
    let len = u32::try_from(payload.len() + FRAMEINFO_LEN).ok()?;
    let mut p = Vec::with_capacity(HEADER_LEN + payload.len() + FRAMEINFO_LEN);
    p.extend_from_slice(&[0x03, 0x09, 0x0C, 0x00]);
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&us.to_le_bytes());
    let flags: u32 = if n == 0 { 0x0000_0001 } else { 0x0010_0001 };
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&[0x03, 0x01]);
    p.extend_from_slice(&((prev & 0xFFFF) as u16).to_le_bytes());
    p.extend_from_slice(&1u16.to_le_bytes());
    p.extend_from_slice(&0x0010u16.to_le_bytes());
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(&prev.to_le_bytes());
    p.extend_from_slice(&frame_no.to_le_bytes());
    p.extend_from_slice(payload);
    // TX FRAMEINFO.
    p.extend_from_slice(&codec.to_le_bytes());
    p.push((sr << 2) | 2);
    p.push(0); // camera index
    p.push(1); // online
    p.push(0); // tags
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&ms.to_le_bytes());
    Some(p)
}

/// What the back channel reports to the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackEvent {
    /// The camera logged in: audio may flow.
    Ready,
    /// Every frame was sent after [`BackChannel::finish`].
    Drained,
    /// The channel failed; the text says why.
    Failed(String),
}

/// Where the channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the camera's DTLS handshake on channel 1.
    AwaitHandshake,
    /// DTLS is up; waiting for the camera's AV login.
    AwaitLogin,
    /// Logged in: frames flow.
    Talking,
    /// Failed, drained or closed.
    Over,
}

/// One playback's back channel (see the module docs).
pub struct BackChannel {
    /// The playback.
    pub id: TalkId,
    format: TalkFormat,
    state: State,
    dtls: Dtls,
    pacer: Pacer,
    /// TX sequence of the audio frames.
    seq: u32,
    /// Setup deadline (handshake and login).
    deadline: Instant,
    /// DTLS datagrams for channel 1.
    out: VecDeque<Vec<u8>>,
    events: VecDeque<BackEvent>,
}

impl BackChannel {
    /// A back channel waiting for the camera to dial in, from `now`.
    pub fn new(id: TalkId, format: TalkFormat, psk: Psk, seed: [u8; 32], now: Instant) -> Self {
        let mut dtls = Dtls::server(dtls_config(psk), seed);
        dtls.start(now);
        let mut bc = Self {
            id,
            format,
            state: State::AwaitHandshake,
            dtls,
            pacer: Pacer::new(&format),
            seq: 0,
            deadline: now + SETUP_TIMEOUT,
            out: VecDeque::new(),
            events: VecDeque::new(),
        };
        bc.drive(now);
        bc
    }

    /// The format the camera gets.
    pub fn format(&self) -> TalkFormat {
        self.format
    }

    /// A DTLS datagram the camera sent on channel 1.
    pub fn handle_datagram(&mut self, now: Instant, payload: &[u8]) {
        if self.state == State::Over {
            return;
        }
        self.dtls.handle_datagram(now, payload);
        self.drive(now);
    }

    /// The deadline from [`BackChannel::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Over {
            return;
        }
        if matches!(self.state, State::AwaitHandshake | State::AwaitLogin) && now >= self.deadline {
            let what = if self.state == State::AwaitHandshake {
                "the camera never opened the intercom channel"
            } else {
                "the camera never logged in on the intercom channel"
            };
            self.fail(format!("{what} (waited {SETUP_TIMEOUT:?})"));
            return;
        }
        self.dtls.handle_timeout(now);
        self.drive(now);
    }

    /// Queues encoded frames.
    pub fn push(&mut self, now: Instant, frames: Vec<Bytes>) -> Result<(), QueueFull> {
        self.pacer.push(now, frames)?;
        self.drive(now);
        Ok(())
    }

    /// No more frames: [`BackEvent::Drained`] once the queue is sent.
    pub fn finish(&mut self, now: Instant) {
        self.pacer.finish();
        self.drive(now);
    }

    /// Audio sent so far.
    pub fn played(&self) -> Duration {
        self.pacer.played()
    }

    /// Says goodbye on the channel (close_notify); nothing more is sent.
    pub fn close(&mut self, now: Instant) {
        self.dtls.close(now);
        self.state = State::Over;
        while let Some(d) = self.dtls.poll_transmit() {
            self.out.push_back(d);
        }
    }

    /// The next datagram for channel 1.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<BackEvent> {
        self.events.pop_front()
    }

    /// When [`BackChannel::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let dtls = self.dtls.poll_timeout();
        let own = match self.state {
            State::AwaitHandshake | State::AwaitLogin => Some(self.deadline),
            State::Talking => self.pacer.poll_timeout(),
            State::Over => None,
        };
        [dtls, own].into_iter().flatten().min()
    }

    fn fail(&mut self, why: String) {
        tracing::debug!(reason = %why, "intercom channel failed");
        self.state = State::Over;
        self.events.push_back(BackEvent::Failed(why));
    }

    fn drive(&mut self, now: Instant) {
        loop {
            while let Some(d) = self.dtls.poll_transmit() {
                self.out.push_back(d);
            }
            let Some(ev) = self.dtls.poll_event() else {
                break;
            };
            match ev {
                DtlsEvent::Connected { suite } => {
                    tracing::debug!(?suite, "intercom channel up; awaiting the camera's login");
                    if self.state == State::AwaitHandshake {
                        self.state = State::AwaitLogin;
                    }
                }
                DtlsEvent::Data(p) => self.on_message(&p),
                DtlsEvent::Closed(c) => {
                    if self.state != State::Over {
                        self.fail(format!("the camera closed the intercom channel ({c})"));
                    }
                }
            }
        }
        if self.state == State::Talking {
            self.send_due(now);
        }
    }

    fn on_message(&mut self, p: &[u8]) {
        match av::magic(p) {
            // Login #1 (0x0000) or #2 (0x2000): answer each, also repeats.
            Some(0x0000 | 0x2000) if matches!(self.state, State::AwaitLogin | State::Talking) => {
                let Some(nonce) = p.get(20..24).and_then(|n| <[u8; 4]>::try_from(n).ok()) else {
                    tracing::debug!(len = p.len(), "short AV login on the intercom channel");
                    return;
                };
                self.send(&login_answer(nonce));
                if self.state == State::AwaitLogin {
                    self.state = State::Talking;
                    self.events.push_back(BackEvent::Ready);
                }
            }
            _ => {
                tracing::trace!(bytes = %LimitedHex::new(p, 24), "intercom channel message ignored")
            }
        }
    }

    fn send(&mut self, msg: &[u8]) {
        if let Err(e) = self.dtls.send(msg) {
            tracing::debug!(error = %e, "cannot send on the intercom channel");
        }
        while let Some(d) = self.dtls.poll_transmit() {
            self.out.push_back(d);
        }
    }

    fn send_due(&mut self, now: Instant) {
        while let Some((n, payload)) = self.pacer.poll(now) {
            let Some(frame) = encode_frame(&self.format, n, self.seq, &payload) else {
                self.fail(format!(
                    "cannot frame {:?} audio for this camera",
                    self.format.codec
                ));
                return;
            };
            self.seq = self.seq.wrapping_add(1);
            self.send(&frame);
        }
        if self.pacer.is_done() {
            self.state = State::Over;
            self.events.push_back(BackEvent::Drained);
        }
    }
}

#[cfg(test)]
mod tests;
