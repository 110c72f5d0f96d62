//! The simulated Wyze camera's side of intercom (`wyze.md` §1.6; the TUTK
//! document §10.2 and §12): after K10010 `[3, 1]` the camera dials the
//! client on IOTC channel 1 as the DTLS *client* (PSK, suite 0x00AE), logs
//! in there (the 570-byte AV login, resent every 500 ms up to three times
//! until the `0x2100` answer), then takes audio frames — a 36-byte header,
//! the payload, a 16-byte TX FRAMEINFO — checks each strictly, decodes it
//! and appends it to the current [`Playback`]. K10010 `[3, 2]` (or `[3, 0]`)
//! ends it: close_notify, and the playback is marked ended cleanly.
//!
//! Written from the references, not from the client's code, so the two can
//! disagree where the client is wrong.

use std::time::{Duration, Instant};

use rand::Rng;

use super::handle::{Playback, MAX_PLAYBACKS, MAX_PLAYBACK_SAMPLES};
use super::Ctx;
use crate::media::audio::codec;
use crate::model::AudioCodec;
use crate::proto::tutk::av::{self, Login};
use crate::proto::tutk::dtls::{CipherSuite, Dtls, DtlsConfig, DtlsEvent, Psk};

/// How long the camera waits for the answer to its login before resending.
pub const LOGIN_RESEND: Duration = Duration::from_millis(500);
/// Logins sent at most.
pub const LOGIN_ATTEMPTS: u8 = 3;
/// Sample rates by FRAMEINFO index (TUTK document §11.3).
const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The DTLS handshake with the client.
    Handshake,
    /// Login sent `attempts` times, last at `at`.
    AwaitAnswer { at: Instant, attempts: u8 },
    /// Logged in: frames are taken.
    Receiving,
    /// Gave up or closed.
    Over,
}

/// One back channel (one playback).
#[derive(Debug)]
pub(super) struct Talk {
    dtls: Dtls,
    phase: Phase,
    nonce: [u8; 4],
    /// Datagrams for channel 1, drained by the session.
    out: Vec<Vec<u8>>,
    /// The previous frame number, to check the sequence.
    last_frame_no: Option<u32>,
}

impl Talk {
    /// Starts dialing the client; a new playback is recorded.
    pub(super) fn start(ctx: &mut Ctx, now: Instant) -> Self {
        let mut cfg = DtlsConfig::new(Psk::from_enr(&ctx.cfg.dtls_enr()));
        cfg.suites = vec![CipherSuite::PskAes128CbcSha256];
        let mut dtls = Dtls::client(cfg, ctx.rng.random());
        dtls.start(now);
        {
            let mut l = ctx.shared.lock();
            if l.playbacks.len() >= MAX_PLAYBACKS {
                l.playbacks.pop_front();
            }
            l.playbacks.push_back(Playback::new(now));
        }
        let mut t = Self {
            dtls,
            phase: Phase::Handshake,
            nonce: ctx.rng.random(),
            out: Vec::new(),
            last_frame_no: None,
        };
        t.pump(ctx, now);
        t
    }

    /// Datagrams to send on channel 1.
    pub(super) fn take_out(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.out)
    }

    /// A datagram from the client on channel 1.
    pub(super) fn handle_datagram(&mut self, ctx: &mut Ctx, now: Instant, payload: &[u8]) {
        self.dtls.handle_datagram(now, payload);
        self.pump(ctx, now);
    }

    /// Resends the login, or gives up.
    pub(super) fn handle_timeout(&mut self, ctx: &mut Ctx, now: Instant) {
        if let Phase::AwaitAnswer { at, attempts } = self.phase {
            if now >= at + LOGIN_RESEND {
                if attempts >= LOGIN_ATTEMPTS {
                    tracing::debug!("sim: no answer to the back-channel login; giving up");
                    self.phase = Phase::Over;
                    ctx.shared.with_playback(|p| p.gave_up = true);
                } else {
                    self.send_login(now, attempts + 1);
                }
            }
        }
        if self.dtls.poll_timeout().is_some_and(|t| t <= now) {
            self.dtls.handle_timeout(now);
        }
        self.pump(ctx, now);
    }

    /// The next deadline.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        let login = match self.phase {
            Phase::AwaitAnswer { at, .. } => Some(at + LOGIN_RESEND),
            _ => None,
        };
        [login, self.dtls.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// K10010 off: goodbye on the channel, the playback ended cleanly.
    pub(super) fn stop(&mut self, ctx: &mut Ctx, now: Instant) {
        self.dtls.close(now);
        self.phase = Phase::Over;
        while let Some(d) = self.dtls.poll_transmit() {
            self.out.push(d);
        }
        ctx.shared.with_playback(|p| {
            p.ended = true;
            p.ended_at = Some(now);
        });
    }

    fn send_login(&mut self, now: Instant, attempts: u8) {
        let [one, _] = Login {
            user: "admin".into(),
            password: crate::secret::Secret::new(String::new()),
            nonce: self.nonce,
            resend: 0,
        }
        .encode();
        let _ = self.dtls.send(&one);
        self.phase = Phase::AwaitAnswer { at: now, attempts };
    }

    fn pump(&mut self, ctx: &mut Ctx, now: Instant) {
        loop {
            while let Some(d) = self.dtls.poll_transmit() {
                self.out.push(d);
            }
            let Some(ev) = self.dtls.poll_event() else {
                return;
            };
            match ev {
                DtlsEvent::Connected { .. } => {
                    ctx.shared.with_playback(|p| p.dtls_connected = true);
                    self.send_login(now, 1);
                }
                DtlsEvent::Data(d) => self.on_message(ctx, now, &d),
                DtlsEvent::Closed(_) => {
                    if self.phase != Phase::Over {
                        self.phase = Phase::Over;
                    }
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx, now: Instant, m: &[u8]) {
        match self.phase {
            Phase::AwaitAnswer { .. } if av::magic(m) == Some(av::MAGIC_LOGIN_REPLY) => {
                match check_answer(m, self.nonce) {
                    Ok(()) => {
                        self.phase = Phase::Receiving;
                        ctx.shared.with_playback(|p| p.logged_in = true);
                    }
                    Err(why) => {
                        tracing::debug!(why, "sim: bad back-channel login answer");
                        ctx.shared.with_playback(|p| p.rejected += 1);
                    }
                }
            }
            Phase::Receiving if av::magic(m) == Some(av::MAGIC_LOGIN_REPLY) => {
                // A repeated answer to a resent login.
            }
            Phase::Receiving => match parse_frame(m) {
                Ok(f) => self.on_frame(ctx, now, &f),
                Err(why) => {
                    tracing::debug!(why, "sim: intercom frame rejected");
                    ctx.shared.with_playback(|p| p.rejected += 1);
                }
            },
            _ => ctx.shared.with_playback(|p| p.rejected += 1),
        }
    }

    fn on_frame(&mut self, ctx: &mut Ctx, now: Instant, f: &Frame<'_>) {
        if let Some(prev) = self.last_frame_no {
            if f.frame_no != prev.wrapping_add(1) || f.prev_frame_no != prev {
                tracing::debug!(
                    prev,
                    got = f.frame_no,
                    "sim: intercom frame out of sequence"
                );
                ctx.shared.with_playback(|p| p.out_of_sequence += 1);
            }
        } else if f.frame_no != 1 || f.timestamp_ms != 0 {
            ctx.shared.with_playback(|p| p.out_of_sequence += 1);
        }
        self.last_frame_no = Some(f.frame_no);
        let pcm = match codec::decode(f.codec, f.payload) {
            Ok(pcm) => pcm,
            Err(_) => {
                ctx.shared.with_playback(|p| p.rejected += 1);
                return;
            }
        };
        ctx.shared.with_playback(|p| {
            if p.codec.is_some_and(|c| c != f.codec)
                || (p.sample_rate != 0 && p.sample_rate != f.rate)
            {
                p.format_changes += 1;
            }
            p.codec = Some(f.codec);
            p.sample_rate = f.rate;
            p.frames += 1;
            p.first_frame_at.get_or_insert(now);
            p.last_frame_at = Some(now);
            if p.pcm.len() + pcm.len() <= MAX_PLAYBACK_SAMPLES {
                p.raw.extend_from_slice(f.payload);
                p.pcm.extend_from_slice(&pcm);
            }
        });
    }
}

/// The client's answer to the camera's login (`wyze.md` §1.6 step 3).
fn check_answer(m: &[u8], nonce: [u8; 4]) -> Result<(), &'static str> {
    if m.len() < 57 {
        return Err("shorter than the 60-byte answer");
    }
    if m.get(20..24) != Some(&nonce[..]) {
        return Err("the nonce is not echoed");
    }
    if m.get(29) != Some(&1) || m.get(31) != Some(&1) {
        return Err("bytes 29 and 31 are not 1");
    }
    if m.get(54) != Some(&3) || m.get(56) != Some(&2) {
        return Err("bytes 54 and 56 are not 3 and 2");
    }
    Ok(())
}

/// One checked audio frame.
#[derive(Debug)]
struct Frame<'a> {
    codec: AudioCodec,
    rate: u32,
    frame_no: u32,
    prev_frame_no: u32,
    timestamp_ms: u32,
    payload: &'a [u8],
}

fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(p.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

/// Parses a TX audio frame as the TUTK document's §12.2 lays it out.
fn parse_frame(p: &[u8]) -> Result<Frame<'_>, &'static str> {
    const HEADER: usize = 36;
    const INFO: usize = 16;
    if p.len() < HEADER + INFO {
        return Err("shorter than a header and a FRAMEINFO");
    }
    if p.get(0..4) != Some(&[0x03, 0x09, 0x0C, 0x00][..]) {
        return Err("not an audio frame header (03 09 0C 00)");
    }
    if p.get(16..18) != Some(&[0x03, 0x01][..]) {
        return Err("inner header is not 03 01");
    }
    if u16_at(p, 20) != Some(1) || u16_at(p, 22) != Some(0x0010) {
        return Err("not a single-packet frame");
    }
    let payload_len = p.len() - HEADER - INFO;
    if u32_at(p, 24) != u32::try_from(payload_len + INFO).ok() {
        return Err("the size field does not match");
    }
    let frame_no = u32_at(p, 32).ok_or("no frame number")?;
    let prev_frame_no = u32_at(p, 28).ok_or("no previous frame number")?;
    if u16_at(p, 18) != Some((prev_frame_no & 0xFFFF) as u16) {
        return Err("the two previous-frame fields differ");
    }
    let info = &p[p.len() - INFO..];
    let codec = match u16_at(info, 0) {
        Some(137) => AudioCodec::Mulaw,
        Some(138) => AudioCodec::Alaw,
        Some(140) => AudioCodec::PcmS16Le,
        _ => return Err("a codec the camera does not play"),
    };
    let flags = info[2];
    if flags & 1 != 0 {
        return Err("stereo");
    }
    let rate = RATES
        .get(usize::from(flags >> 2))
        .copied()
        .ok_or("an unknown rate index")?;
    if info[4] != 1 {
        return Err("online is not 1");
    }
    Ok(Frame {
        codec,
        rate,
        frame_no,
        prev_frame_no,
        timestamp_ms: u32_at(info, 12).unwrap_or(0),
        payload: &p[HEADER..p.len() - INFO],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame built by hand from the document's table (not by the client).
    fn frame(n: u32, codec: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x03, 0x09, 0x0C, 0x00];
        p.extend_from_slice(&n.to_le_bytes());
        p.extend_from_slice(&(n * 20_000).to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[0x03, 0x01]);
        p.extend_from_slice(&((n.saturating_sub(1)) as u16).to_le_bytes());
        p.extend_from_slice(&1u16.to_le_bytes());
        p.extend_from_slice(&0x10u16.to_le_bytes());
        p.extend_from_slice(&(payload.len() as u32 + 16).to_le_bytes());
        p.extend_from_slice(&n.saturating_sub(1).to_le_bytes());
        p.extend_from_slice(&n.to_le_bytes());
        p.extend_from_slice(payload);
        p.extend_from_slice(&codec.to_le_bytes());
        p.extend_from_slice(&[flags, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&((n - 1) * 20).to_le_bytes());
        p
    }

    #[test]
    fn frames_laid_out_as_documented_parse_and_others_are_rejected() {
        let f = frame(1, 137, 0x02, &[0xFF; 160]);
        let got = parse_frame(&f).unwrap();
        assert_eq!(
            (got.codec, got.rate, got.frame_no),
            (AudioCodec::Mulaw, 8000, 1)
        );
        assert_eq!(got.payload.len(), 160);
        let f = frame(2, 140, 0x0E, &[0; 320]);
        assert_eq!(parse_frame(&f).unwrap().rate, 16000);
        assert!(
            parse_frame(&frame(1, 0x90, 2, &[1; 10])).is_err(),
            "AAC is refused"
        );
        let mut bad = frame(1, 137, 2, &[0xFF; 160]);
        bad[24] ^= 1;
        assert!(parse_frame(&bad).is_err());
        assert!(parse_frame(&bad[..40]).is_err());
        assert!(parse_frame(&[]).is_err());
    }

    #[test]
    fn the_login_answer_is_checked_field_by_field() {
        let mut a = vec![0u8; 60];
        a[0..2].copy_from_slice(&[0x00, 0x21]);
        a[20..24].copy_from_slice(&[1, 2, 3, 4]);
        a[29] = 1;
        a[31] = 1;
        a[54] = 3;
        a[56] = 2;
        assert_eq!(check_answer(&a, [1, 2, 3, 4]), Ok(()));
        assert!(check_answer(&a, [1, 2, 3, 5]).is_err());
        a[54] = 0;
        assert!(check_answer(&a, [1, 2, 3, 4]).is_err());
    }
}
