//! Simulated Wyze camera: the camera's side of ThroughTek TUTK/IOTC as Wyze
//! cameras speak it (`wyze.md` §1, `tutk-iotc-wyze-protocol.md` §6–13).
//!
//! Owns [`TutkCamera`] (a sans-IO [`Device`] on one UDP socket), its
//! configuration [`TutkCameraConfig`] / [`TutkQuirks`] / [`Transport`], the
//! test handle [`TutkCameraHandle`], and the [`VideoSource`] it streams from.
//! Written from the protocol references, not from the bridge's client
//! session: only the wire codecs of [`crate::proto::tutk`] are shared
//! (`iotc`, `cc51`, `auth`, `xxtea`, `av`, `kcmd`, `frame`, and the DTLS
//! engine in its server role).
//!
//! # Layers
//! * **IOTC** (`link.rs`): TransCode or CC51 as configured; the other is
//!   ignored silently, since clients try both at once. A wrong AuthKey (or a
//!   CC51 tag that does not verify) gets no answer. One session at a time: a
//!   first contact with a new sid replaces it; a resend of the current one
//!   is answered again. The camera follows the client's address on every
//!   packet, sends keepalives every 1–2 s once the session is up, and
//!   forgets the client after [`TutkCameraConfig::silence_limit`] without a
//!   packet from it.
//! * **DTLS**: a server on channel 0 with PSK = SHA-256(ENR) (NUL rule), no
//!   cookie; a client with another ENR fails the handshake. A new
//!   ClientHello after a finished (or failed) handshake starts DTLS, login
//!   and K-auth over on the same IOTC session.
//! * **AV and K-commands** (`av.rs`): login (user `admin`, password = ENR),
//!   ACKs as liveness, K-auth with the configured status, then commands,
//!   each answered with id + 1, idempotently per command sequence.
//! * **Media** (`media.rs`): after K10003 (with the video flag) or K10010,
//!   one access unit of the [`VideoSource`] (by default the pre-encoded
//!   clips of [`crate::sim::video`]; a size the source lacks is refused by
//!   K10056) every `1/fps`, cut into pieces of at most
//!   [`TutkCameraConfig::max_piece`] bytes, I-frames on channel 0x05 and
//!   P-frames on 0x07, each piece one DTLS record. A stream start and every
//!   K10056/K10052 (also a resend with the current size) restart the GOP at
//!   its keyframe. Audio: 20 ms PCMU frames, one piece each. A frame due
//!   while the driver was late is skipped, not burst.
//!
//! Not simulated: the resend (wrapped) media format (a login with
//! `resend = 1` is recorded, media stay direct), intercom (channel 1 is
//! ignored), K10006/K10008.
//!
//! Sans-IO: no clock reads, no sockets; time comes in as `now`, randomness
//! from a seeded RNG. [`crate::sim::runner::SimCamera::spawn_tutk`] binds
//! the socket.

mod av;
mod config;
mod handle;
mod link;
pub mod media;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use av::{param, CAMERA_HL_VERSION, LOGIN_PAIR_WINDOW, LOGIN_REFUSED};
pub use config::{
    Transport, TutkCameraConfig, TutkQuirks, DEFAULT_ENR, DEFAULT_MAC, DEFAULT_MAX_PIECE,
    DEFAULT_UID,
};
pub use handle::{AuthOutcome, ReceivedCommand, SentFrame, Settings, TutkCameraHandle, MAX_LOG};
pub use media::{AccessUnit, SyntheticVideo, VideoSource};

use self::av::{Action, Av};
use self::handle::Shared;
use self::link::{Heard, Keys, Link, Tag};
use self::media::{codec_id, cut_frame, pcmu_tone, AUDIO_FRAME};
use crate::proto::tutk::auth;
use crate::proto::tutk::cc51::Cc51Key;
use crate::proto::tutk::dtls::{Dtls, DtlsConfig, DtlsEvent, Psk};
use crate::proto::tutk::frame::{codec, FrameInfo, MediaChannel, FRAMEINFO_LEN};
use crate::proto::tutk::iotc::WireUid;
use crate::proto::tutk::kcmd::FrameSize;
use crate::proto::{Datagram, SocketIx, Transmit};
use crate::sim::Device;

/// The camera's one socket (UDP 32761 on a real camera).
pub const SOCKET: SocketIx = SocketIx(0);
/// Shortest time between two keepalives.
pub const KEEPALIVE_MIN: Duration = Duration::from_millis(1000);
/// Longest time between two keepalives.
pub const KEEPALIVE_MAX: Duration = Duration::from_millis(2000);
/// Time between audio frames (160 samples at 8 kHz).
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// How often a paused camera asks to be woken (to notice it was resumed).
const PAUSE_POLL: Duration = Duration::from_millis(100);
/// Largest media header (the long one).
const MEDIA_HEADER: usize = 36;

/// Camera-wide state the session layers share.
pub(super) struct Ctx {
    cfg: TutkCameraConfig,
    shared: Arc<Shared>,
    source: Arc<dyn VideoSource>,
    keys: Keys,
    /// The ENR's bytes (K-auth keys).
    enr_bytes: Vec<u8>,
    rng: ChaCha8Rng,
    t0: Instant,
    out: VecDeque<Transmit>,
    /// Settings (they outlive sessions, as a camera's do).
    settings: Settings,
    /// Current frames per second (K10056 may change it).
    fps: u32,
    /// Current bitrate setting.
    bitrate: u8,
    /// First contacts seen (for [`TutkQuirks::drop_first_discos`]).
    discos_seen: u32,
    /// One PCMU frame of the tone.
    tone: Bytes,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("uid", &self.cfg.uid)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    fn send(&mut self, dst: SocketAddr, payload: Vec<u8>) {
        self.out.push_back(Transmit {
            socket: SOCKET,
            dst,
            payload,
        });
    }

    /// True if the source has video of `size` in the camera's codec.
    fn source_has(&self, size: FrameSize) -> bool {
        self.source
            .gop(self.cfg.codec, size)
            .is_some_and(|g| !g.is_empty())
    }

    fn publish_settings(&self) {
        self.shared.lock().settings = self.settings;
    }

    /// The camera clock: Unix seconds and microseconds within the second.
    fn clock(&self, now: Instant) -> (u32, u32) {
        let e = now.saturating_duration_since(self.t0);
        let secs = self.cfg.epoch.saturating_add(e.as_secs());
        (u32::try_from(secs).unwrap_or(u32::MAX), e.subsec_micros())
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    fn keepalive_interval(&mut self) -> Duration {
        let ms = self.rng.random_range(
            u64::try_from(KEEPALIVE_MIN.as_millis()).unwrap_or(1000)
                ..=u64::try_from(KEEPALIVE_MAX.as_millis()).unwrap_or(2000),
        );
        Duration::from_millis(ms)
    }
}

/// What the camera streams in a session.
#[derive(Debug, Default)]
struct Stream {
    /// Next video frame while video is on.
    video_due: Option<Instant>,
    /// Next audio frame while audio is on.
    audio_due: Option<Instant>,
    /// Last video frame number sent.
    frame_no: u32,
    /// Last audio frame number sent.
    audio_no: u32,
    /// The GOP of the current size.
    gop: Option<(FrameSize, Arc<[AccessUnit]>)>,
    /// Next access unit of the GOP (0: the keyframe).
    gop_pos: usize,
    /// Media packet counter.
    tx_seq: u16,
}

/// Where the DTLS handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DtlsPhase {
    Handshake,
    Connected,
    Closed,
}

/// One client's session.
#[derive(Debug)]
struct Session {
    /// Where the client is (followed on every packet).
    peer: SocketAddr,
    link: Link,
    last_heard: Instant,
    /// Next keepalive; `None` until the session is up (0x0404 / CC51 seq 3 sent).
    next_keepalive: Option<Instant>,
    dtls: Dtls,
    dtls_phase: DtlsPhase,
    av: Av,
    stream: Stream,
}

/// The simulated Wyze camera. Drive it with [`Device`] (e.g.
/// [`crate::sim::runner::run_device`]); observe and control it with
/// [`TutkCamera::handle`].
#[derive(Debug)]
pub struct TutkCamera {
    ctx: Ctx,
    session: Option<Session>,
    /// The latest `now` seen.
    now: Instant,
}

impl TutkCamera {
    /// A camera streaming the pre-encoded clips ([`crate::sim::video::TestVideo`]).
    pub fn new(cfg: TutkCameraConfig, now: Instant) -> Self {
        Self::with_source(cfg, Arc::new(crate::sim::video::TestVideo), now)
    }

    /// A camera streaming from `source`.
    pub fn with_source(cfg: TutkCameraConfig, source: Arc<dyn VideoSource>, now: Instant) -> Self {
        // A UID that does not fit the wire is truncated to what does; the
        // runner validates it before this point.
        let uid = WireUid::new(&cfg.uid).unwrap_or_else(|| {
            let mut u = [0u8; 20];
            for (d, s) in u
                .iter_mut()
                .zip(cfg.uid.bytes().filter(u8::is_ascii_graphic))
            {
                *d = s;
            }
            WireUid(u)
        });
        let authkey = auth::authkey(&cfg.enr, &cfg.mac);
        let keys = Keys {
            transport: cfg.transport,
            uid,
            authkey,
            cc51: Cc51Key::new(&uid.0, &authkey),
        };
        let settings = Settings::new(cfg.resolution);
        let shared = Arc::new(Shared::new(settings));
        Self {
            ctx: Ctx {
                enr_bytes: cfg.enr.expose().as_bytes().to_vec(),
                rng: ChaCha8Rng::seed_from_u64(cfg.seed),
                fps: cfg.fps.max(1),
                bitrate: cfg.bitrate,
                keys,
                shared,
                source,
                t0: now,
                out: VecDeque::new(),
                settings,
                discos_seen: 0,
                tone: Bytes::from(pcmu_tone()),
                cfg,
            },
            session: None,
            now,
        }
    }

    /// Test and status access.
    pub fn handle(&self) -> TutkCameraHandle {
        TutkCameraHandle {
            shared: Arc::clone(&self.ctx.shared),
        }
    }

    /// The AuthKey clients must send (from the ENR and MAC).
    pub fn authkey(&self) -> [u8; 8] {
        self.ctx.keys.authkey
    }

    fn paused(&self) -> bool {
        self.ctx.shared.paused.load(Ordering::Relaxed)
    }

    fn ignore(&self) {
        self.ctx.shared.count(|c| c.ignored_datagrams += 1);
    }

    fn on_hello(&mut self, now: Instant, from: SocketAddr, sid: [u8; 8]) {
        let ctx = &mut self.ctx;
        ctx.discos_seen = ctx.discos_seen.saturating_add(1);
        if ctx.discos_seen <= ctx.cfg.quirks.drop_first_discos {
            ctx.shared.count(|c| c.discos_dropped += 1);
            return;
        }
        if let Some(s) = self
            .session
            .as_mut()
            .filter(|s| s.link.is_same_client(&sid))
        {
            s.touch(ctx, now, from);
            let reply = s.link.hello_reply(&ctx.keys);
            ctx.send(from, reply);
            ctx.shared.count(|c| c.discos_answered += 1);
            return;
        }
        let camera_sid: [u8; 8] = ctx.rng.random();
        let ticket = ctx.rng.random_range(1..=u16::MAX);
        let link = Link::new(ctx.cfg.transport, sid, camera_sid, ticket);
        let psk = Psk::from_enr(&ctx.cfg.dtls_enr());
        let dtls = Dtls::server(DtlsConfig::new(psk), ctx.rng.random());
        let s = Session {
            peer: from,
            link,
            last_heard: now,
            next_keepalive: None,
            dtls,
            dtls_phase: DtlsPhase::Handshake,
            av: Av::new(),
            stream: Stream::default(),
        };
        let reply = s.link.hello_reply(&ctx.keys);
        ctx.send(from, reply);
        ctx.settings.video = false;
        ctx.settings.audio = false;
        ctx.publish_settings();
        {
            let mut l = ctx.shared.lock();
            l.counters.sessions += 1;
            l.counters.discos_answered += 1;
            l.peer = Some(from);
        }
        self.session = Some(s);
    }

    fn end_session(&mut self) {
        self.session = None;
        self.ctx.settings.video = false;
        self.ctx.settings.audio = false;
        self.ctx.publish_settings();
        let mut l = self.ctx.shared.lock();
        l.counters.sessions_expired += 1;
        l.peer = None;
    }
}

impl Session {
    fn touch(&mut self, ctx: &Ctx, now: Instant, from: SocketAddr) {
        self.last_heard = now;
        if self.peer != from {
            self.peer = from;
            ctx.shared.lock().peer = Some(from);
        }
    }

    /// A client that starts DTLS over on a session whose handshake is done
    /// (it restarted without a new Disco) gets a fresh server, login and
    /// K-auth; streaming stops until it authenticates again.
    fn restart_dtls(&mut self, ctx: &mut Ctx) {
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
    fn up(&mut self, ctx: &mut Ctx, now: Instant) {
        if self.next_keepalive.is_none() {
            self.next_keepalive = Some(now + ctx.keepalive_interval());
        }
    }

    /// Sends what DTLS has queued, as channel-0 data.
    fn flush_dtls(&mut self, ctx: &mut Ctx) {
        while let Some(rec) = self.dtls.poll_transmit() {
            let p = self.link.data(&ctx.keys, 0, rec);
            ctx.send(self.peer, p);
        }
    }

    /// Drains DTLS: transmissions out, events into the AV layer.
    fn pump(&mut self, ctx: &mut Ctx, now: Instant) {
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

    fn apply(&mut self, ctx: &mut Ctx, now: Instant, a: Action) {
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
            Action::Keyframe => self.stream.gop_pos = 0,
        }
        ctx.publish_settings();
    }

    /// Sends whatever media is due.
    fn stream_tick(&mut self, ctx: &mut Ctx, now: Instant) {
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

    fn send_frame(&mut self, ctx: &mut Ctx, now: Instant) {
        let size = ctx.settings.resolution;
        let st = &mut self.stream;
        if st.gop.as_ref().map(|(s, _)| *s) != Some(size) {
            st.gop = ctx.source.gop(ctx.cfg.codec, size).map(|g| (size, g));
            st.gop_pos = 0;
        }
        let Some((_, gop)) = st.gop.as_ref().filter(|(_, g)| !g.is_empty()) else {
            return;
        };
        let unit = gop[st.gop_pos % gop.len()].clone();
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
        });
    }

    fn send_audio(&mut self, ctx: &mut Ctx, now: Instant) {
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

    fn poll_timeout(&self, silence: Duration) -> Option<Instant> {
        [
            Some(self.last_heard + silence),
            self.next_keepalive,
            self.dtls.poll_timeout(),
            self.stream.video_due,
            self.stream.audio_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// True if a datagram starts with an epoch-0 handshake record holding a
/// ClientHello (record type 22, epoch 0, handshake type 1 at byte 13).
fn is_client_hello(p: &[u8]) -> bool {
    p.first() == Some(&22) && p.get(3..5) == Some(&[0, 0]) && p.get(13) == Some(&1)
}

/// The next deadline after `due`; when the driver is late, skip ahead
/// rather than burst.
fn next_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next <= now {
        now + interval
    } else {
        next
    }
}

impl Device for TutkCamera {
    fn sockets(&self) -> usize {
        1
    }

    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) {
        self.now = now;
        if self.paused() {
            return;
        }
        let heard = self.ctx.keys.hear(d.payload);
        let from = d.from;
        let ctx = &mut self.ctx;
        match heard {
            Heard::Ignored => self.ignore(),
            Heard::Hello { sid } => self.on_hello(now, from, sid),
            Heard::Stage2 { sid } => match self.session.as_mut() {
                Some(s) if s.link.owns(Tag::Sid(sid)) => s.touch(ctx, now, from),
                _ => self.ignore(),
            },
            Heard::SessionRequest { sid } => match self.session.as_mut() {
                Some(s) if s.link.owns(Tag::Sid(sid)) => {
                    s.touch(ctx, now, from);
                    let (secs, _) = ctx.clock(now);
                    if let Some(reply) = s.link.session_reply(&ctx.keys, secs) {
                        ctx.send(from, reply);
                    }
                    s.up(ctx, now);
                }
                _ => self.ignore(),
            },
            Heard::Confirm { ticket } => match self.session.as_mut() {
                Some(s) if s.link.owns(Tag::Ticket(ticket)) => {
                    s.touch(ctx, now, from);
                    if let Some(reply) = s.link.confirm_reply(&ctx.keys) {
                        ctx.send(from, reply);
                    }
                    s.up(ctx, now);
                }
                _ => self.ignore(),
            },
            Heard::Data {
                tag,
                channel,
                payload,
            } => match self.session.as_mut() {
                Some(s) if s.link.owns(tag) => {
                    s.touch(ctx, now, from);
                    if channel == 0 {
                        if s.dtls_phase != DtlsPhase::Handshake && is_client_hello(&payload) {
                            s.restart_dtls(ctx);
                        }
                        s.dtls.handle_datagram(now, &payload);
                        s.pump(ctx, now);
                    }
                }
                _ => self.ignore(),
            },
            Heard::KeepaliveReply => match self.session.as_mut() {
                Some(s) if s.peer == from => {
                    s.touch(ctx, now, from);
                    ctx.shared.count(|c| c.keepalive_replies += 1);
                }
                _ => self.ignore(),
            },
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.paused() {
            return;
        }
        let silence = self.ctx.cfg.silence_limit;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if now.saturating_duration_since(s.last_heard) >= silence {
            self.end_session();
            return;
        }
        let ctx = &mut self.ctx;
        if let Some(k) = s.next_keepalive.filter(|k| *k <= now) {
            let p = s.link.keepalive(&ctx.keys);
            ctx.send(s.peer, p);
            ctx.shared.count(|c| c.keepalives_sent += 1);
            s.next_keepalive = Some(next_due(k, ctx.keepalive_interval(), now));
        }
        if s.dtls.poll_timeout().is_some_and(|t| t <= now) {
            s.dtls.handle_timeout(now);
            s.pump(ctx, now);
        }
        s.stream_tick(ctx, now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ctx.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.paused() {
            return Some(self.now + PAUSE_POLL);
        }
        self.session
            .as_ref()
            .and_then(|s| s.poll_timeout(self.ctx.cfg.silence_limit))
    }
}
