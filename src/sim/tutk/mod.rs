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
//! * **Intercom** (`talk.rs`): K10010 `[3, 1]` makes a camera with
//!   `two_way_audio` dial the client on channel 1 (DTLS client, AV login)
//!   and record what it receives as a [`Playback`]; one without answers
//!   K10011 `[0]`.
//!
//! Not simulated: the resend (wrapped) media format (a login with
//! `resend = 1` is recorded, media stay direct), K10006/K10008.
//!
//! Sans-IO: no clock reads, no sockets; time comes in as `now`, randomness
//! from a seeded RNG. [`crate::sim::runner::SimCamera::spawn_tutk`] binds
//! the socket.

mod av;
mod config;
mod handle;
mod link;
pub mod media;
mod session;
mod talk;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use av::{param, CAMERA_HL_VERSION, LOGIN_PAIR_WINDOW, LOGIN_REFUSED};
pub use config::{
    Transport, TutkCameraConfig, TutkQuirks, DEFAULT_ENR, DEFAULT_MAC, DEFAULT_MAX_PIECE,
    DEFAULT_UID,
};
pub use handle::{
    AuthOutcome, Playback, ReceivedCommand, SentFrame, Settings, TutkCameraHandle, MAX_LOG,
};
pub use media::{AccessUnit, SyntheticVideo, VideoSource};

use self::av::Av;
use self::handle::Shared;
use self::link::{Heard, Keys, Link, Tag};
use self::media::pcmu_tone;
use self::session::{is_client_hello, next_due, DtlsPhase, Session, Stream};
use crate::proto::tutk::auth;
use crate::proto::tutk::cc51::Cc51Key;
use crate::proto::tutk::dtls::{Dtls, DtlsConfig, Psk};
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
            .clip(self.cfg.codec, size)
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
            talk: None,
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
                    } else if channel == 1 {
                        s.on_talk_datagram(ctx, now, &payload);
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
        s.talk_tick(ctx, now);
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
