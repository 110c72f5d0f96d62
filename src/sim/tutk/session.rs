//! One client's session on the simulated Wyze camera: its IOTC link, the
//! DTLS server on channel 0, the AV layer and the media stream, with the
//! timers each of them needs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;

use super::av::{Action, Av};
use super::link::Link;
use super::media::{codec_id, cut_frame, AUDIO_FRAME};
use super::{AccessUnit, Ctx, SentFrame, AUDIO_INTERVAL, MEDIA_HEADER};
use crate::proto::tutk::dtls::{Dtls, DtlsConfig, DtlsEvent, Psk};
use crate::proto::tutk::frame::{codec, FrameInfo, MediaChannel, FRAMEINFO_LEN};
use crate::proto::tutk::kcmd::FrameSize;

/// What the camera streams in a session.
#[derive(Debug, Default)]
pub(super) struct Stream {
    /// Next video frame while video is on.
    pub(super) video_due: Option<Instant>,
    /// Next audio frame while audio is on.
    pub(super) audio_due: Option<Instant>,
    /// Last video frame number sent.
    pub(super) frame_no: u32,
    /// Last audio frame number sent.
    pub(super) audio_no: u32,
    /// The clip of the current size (one or more GOPs).
    pub(super) gop: Option<(FrameSize, Arc<[AccessUnit]>)>,
    /// Next access unit of the clip (0: its first keyframe).
    pub(super) gop_pos: usize,
    /// Media packet counter.
    pub(super) tx_seq: u16,
}

impl Stream {
    /// Makes the next frame a keyframe: the clip's next one, so the picture
    /// keeps moving on rather than starting the clip over.
    pub(super) fn skip_to_next_keyframe(&mut self) {
        let Some((_, units)) = self.gop.as_ref().filter(|(_, u)| !u.is_empty()) else {
            self.gop_pos = 0;
            return;
        };
        let len = units.len();
        self.gop_pos = (0..len)
            .map(|k| (self.gop_pos + k) % len)
            .find(|&i| units.get(i).is_some_and(|u| u.keyframe))
            .unwrap_or(0);
    }
}

/// Where the DTLS handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DtlsPhase {
    Handshake,
    Connected,
    Closed,
}

/// One client's session.
#[derive(Debug)]
pub(super) struct Session {
    /// Where the client is (followed on every packet).
    pub(super) peer: SocketAddr,
    pub(super) link: Link,
    pub(super) last_heard: Instant,
    /// Next keepalive; `None` until the session is up (0x0404 / CC51 seq 3 sent).
    pub(super) next_keepalive: Option<Instant>,
    pub(super) dtls: Dtls,
    pub(super) dtls_phase: DtlsPhase,
    pub(super) av: Av,
    pub(super) stream: Stream,
    /// The intercom back channel, while one is on.
    pub(super) talk: Option<super::talk::Talk>,
}

impl Session {
    pub(super) fn touch(&mut self, ctx: &Ctx, now: Instant, from: SocketAddr) {
        self.last_heard = now;
        if self.peer != from {
            self.peer = from;
            ctx.shared.lock().peer = Some(from);
        }
    }

    /// A client that starts DTLS over on a session whose handshake is done
    /// (it restarted without a new Disco) gets a fresh server, login and
    /// K-auth; streaming stops until it authenticates again.
    pub(super) fn restart_dtls(&mut self, ctx: &mut Ctx) {
        let psk = Psk::from_enr(&ctx.cfg.dtls_enr());
        self.dtls = Dtls::server(DtlsConfig::new(psk), ctx.rng.random());
        self.dtls_phase = DtlsPhase::Handshake;
        self.av = Av::new();
        self.stream.video_due = None;
        self.stream.audio_due = None;
        ctx.settings.video = false;
        ctx.settings.audio = false;
        ctx.publish_settings();
    }

    /// The session is up: keepalives start.
    pub(super) fn up(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.next_keepalive.is_none() {
            self.next_keepalive = Some(now + ctx.keepalive_interval());
        }
    }

    /// Sends what DTLS has queued, as channel-0 data.
    pub(super) fn flush_dtls(&mut self, ctx: &mut Ctx) {
        while let Some(rec) = self.dtls.poll_transmit() {
            let p = self.link.data(&ctx.keys, 0, rec);
            ctx.send(self.peer, p);
        }
    }

    /// Drains DTLS: transmissions out, events into the AV layer.
    pub(super) fn pump(&mut self, ctx: &mut Ctx, now: Instant) {
        loop {
            self.flush_dtls(ctx);
            let Some(ev) = self.dtls.poll_event() else {
                return;
            };
            match ev {
                DtlsEvent::Connected { .. } => {
                    self.dtls_phase = DtlsPhase::Connected;
                    ctx.shared.count(|c| c.dtls_connected += 1);
                }
                DtlsEvent::Data(d) => {
                    let (mut out, mut actions) = (Vec::new(), Vec::new());
                    self.av.on_message(ctx, now, &d, &mut out, &mut actions);
                    for m in out {
                        // Control answers are far below one record's room.
                        let _ = self.dtls.send(&m);
                    }
                    for a in actions {
                        self.apply(ctx, now, a);
                    }
                }
                DtlsEvent::Closed(_) => {
                    if self.dtls_phase == DtlsPhase::Handshake {
                        ctx.shared.count(|c| c.dtls_failed += 1);
                    }
                    self.dtls_phase = DtlsPhase::Closed;
                    self.stream.video_due = None;
                    self.stream.audio_due = None;
                }
            }
        }
    }

    pub(super) fn apply(&mut self, ctx: &mut Ctx, now: Instant, a: Action) {
        match a {
            Action::Video(true) => {
                if self.stream.video_due.is_none() {
                    self.stream.video_due = Some(now);
                    self.stream.gop_pos = 0;
                }
                ctx.settings.video = true;
            }
            Action::Video(false) => {
                self.stream.video_due = None;
                ctx.settings.video = false;
            }
            Action::Audio(on) => {
                self.stream.audio_due = match (on, self.stream.audio_due) {
                    (true, Some(t)) => Some(t),
                    (true, None) => Some(now),
                    (false, _) => None,
                };
                ctx.settings.audio = on;
            }
            Action::Keyframe => self.stream.skip_to_next_keyframe(),
            Action::Talk(true) => {
                if let Some(mut old) = self.talk.take() {
                    old.stop(ctx, now);
                    self.flush_talk(ctx, &mut old);
                }
                let mut t = super::talk::Talk::start(ctx, now);
                self.flush_talk(ctx, &mut t);
                self.talk = Some(t);
            }
            Action::Talk(false) => {
                if let Some(mut t) = self.talk.take() {
                    t.stop(ctx, now);
                    self.flush_talk(ctx, &mut t);
                }
            }
        }
        ctx.publish_settings();
    }

    /// Sends the back channel's datagrams as channel-1 data.
    pub(super) fn flush_talk(&mut self, ctx: &mut Ctx, t: &mut super::talk::Talk) {
        for d in t.take_out() {
            let p = self.link.data(&ctx.keys, 1, d);
            ctx.send(self.peer, p);
        }
    }

    /// A datagram on channel 1 (the back channel).
    pub(super) fn on_talk_datagram(&mut self, ctx: &mut Ctx, now: Instant, payload: &[u8]) {
        let Some(mut t) = self.talk.take() else {
            ctx.shared.with_playback(|p| p.rejected += 1);
            return;
        };
        t.handle_datagram(ctx, now, payload);
        self.flush_talk(ctx, &mut t);
        self.talk = Some(t);
    }

    /// The back channel's timers.
    pub(super) fn talk_tick(&mut self, ctx: &mut Ctx, now: Instant) {
        let Some(mut t) = self.talk.take() else {
            return;
        };
        if t.poll_timeout().is_some_and(|d| d <= now) {
            t.handle_timeout(ctx, now);
            self.flush_talk(ctx, &mut t);
        }
        self.talk = Some(t);
    }

    /// Sends whatever media is due.
    pub(super) fn stream_tick(&mut self, ctx: &mut Ctx, now: Instant) {
        if let Some(due) = self.stream.video_due.filter(|d| *d <= now) {
            self.send_frame(ctx, now);
            let iv = Duration::from_secs(1) / ctx.fps.max(1);
            self.stream.video_due = Some(next_due(due, iv, now));
        }
        if let Some(due) = self.stream.audio_due.filter(|d| *d <= now) {
            self.send_audio(ctx, now);
            self.stream.audio_due = Some(next_due(due, AUDIO_INTERVAL, now));
        }
        self.flush_dtls(ctx);
    }

    pub(super) fn send_frame(&mut self, ctx: &mut Ctx, now: Instant) {
        let size = ctx.settings.resolution;
        let st = &mut self.stream;
        if st.gop.as_ref().map(|(s, _)| *s) != Some(size) {
            st.gop = ctx.source.clip(ctx.cfg.codec, size).map(|g| (size, g));
            st.gop_pos = 0;
        }
        let Some((_, gop)) = st.gop.as_ref().filter(|(_, g)| !g.is_empty()) else {
            return;
        };
        let index = st.gop_pos % gop.len();
        let unit = gop[index].clone();
        st.gop_pos = (st.gop_pos + 1) % gop.len();
        st.frame_no = st.frame_no.wrapping_add(1);
        let frame_no = st.frame_no;
        let (secs, us) = ctx.clock(now);
        let info = FrameInfo {
            codec: codec_id(ctx.cfg.codec),
            flags: u8::from(unit.keyframe),
            fps: u8::try_from(ctx.fps).unwrap_or(u8::MAX),
            frame_size: size.code(),
            bitrate: ctx.bitrate,
            timestamp_us: us,
            timestamp_s: secs,
            payload_size: u32::try_from(unit.data.len()).unwrap_or(u32::MAX),
            frame_no,
        };
        let channel = if unit.keyframe {
            MediaChannel::IVideo
        } else {
            MediaChannel::PVideo
        };
        let room = self
            .dtls
            .max_send()
            .unwrap_or(0)
            .saturating_sub(MEDIA_HEADER + FRAMEINFO_LEN);
        let max_piece = ctx.cfg.max_piece.min(room).max(1);
        let mut pieces = cut_frame(
            channel,
            frame_no,
            &unit.data,
            info,
            max_piece,
            &mut st.tx_seq,
        );
        if pieces.len() > 1 && ctx.chance(ctx.cfg.quirks.reorder_within_frame) {
            pieces.shuffle(&mut ctx.rng);
        }
        for p in &pieces {
            if self.dtls.send(p).is_err() {
                return;
            }
            if ctx.chance(ctx.cfg.quirks.duplicate_media) {
                let _ = self.dtls.send(p);
            }
            self.flush_dtls(ctx);
        }
        ctx.shared.frame(SentFrame {
            frame_no,
            size,
            keyframe: unit.keyframe,
            len: unit.data.len(),
            pieces: u16::try_from(pieces.len()).unwrap_or(u16::MAX),
            index,
            sent_at: now,
        });
    }

    pub(super) fn send_audio(&mut self, ctx: &mut Ctx, now: Instant) {
        let st = &mut self.stream;
        st.audio_no = st.audio_no.wrapping_add(1);
        let (secs, us) = ctx.clock(now);
        let info = FrameInfo {
            codec: codec::PCMU,
            // Rate index 0 (8 kHz), 8-bit, mono.
            flags: 0,
            fps: 50,
            payload_size: u32::try_from(AUDIO_FRAME).unwrap_or(0),
            frame_no: st.audio_no,
            timestamp_us: us,
            timestamp_s: secs,
            ..FrameInfo::default()
        };
        let tone = ctx.tone.clone();
        for p in cut_frame(
            MediaChannel::Audio,
            st.audio_no,
            &tone,
            info,
            usize::MAX,
            &mut st.tx_seq,
        ) {
            if self.dtls.send(&p).is_err() {
                return;
            }
        }
        ctx.shared.count(|c| c.audio_frames += 1);
    }

    pub(super) fn poll_timeout(&self, silence: Duration) -> Option<Instant> {
        [
            Some(self.last_heard + silence),
            self.next_keepalive,
            self.dtls.poll_timeout(),
            self.stream.video_due,
            self.stream.audio_due,
            self.talk.as_ref().and_then(super::talk::Talk::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// True if a datagram starts with an epoch-0 handshake record holding a
/// ClientHello (record type 22, epoch 0, handshake type 1 at byte 13).
pub(super) fn is_client_hello(p: &[u8]) -> bool {
    p.first() == Some(&22) && p.get(3..5) == Some(&[0, 0]) && p.get(13) == Some(&1)
}

/// The next deadline after `due`; when the driver is late, skip ahead
/// rather than burst.
pub(super) fn next_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next <= now {
        now + interval
    } else {
        next
    }
}
