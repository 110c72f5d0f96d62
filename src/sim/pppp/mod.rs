//! Simulated PPPP (CS2 / iLnk) camera, the camera's side of `pppp.md`.
//!
//! Owns [`PpppCamera`] (a sans-IO [`Device`]), its configuration
//! [`PpppCameraConfig`] / [`PpppQuirks`], and the test handle
//! [`PpppCameraHandle`] with what it records ([`ReceivedCommand`]). Written
//! from the protocol references, not from the bridge's client session: only
//! the wire codecs are shared ([`wire`](crate::proto::pppp::wire),
//! [`obfuscate`](crate::proto::pppp::obfuscate), [`uid`](crate::proto::pppp::uid),
//! [`dialect`](crate::proto::pppp::dialect), the frame header of
//! [`media`](crate::proto::pppp::media)). The camera's reliability
//! ([`reliable`]), command handling (`commands.rs`) and audio encoders
//! ([`audio`]) are its own.
//!
//! # Sockets
//! * [`SEARCH_SOCKET`] (UDP 32108 on a real camera): a `LAN_SEARCH` in the
//!   camera's own obfuscation is answered with `PUNCH_PKT(uid)` **from the
//!   session socket**; searches in any other encoding are ignored, as
//!   encrypted cameras ignore plaintext ones (cam-reverse #30).
//! * [`SESSION_SOCKET`] (a random port on a real camera): everything else.
//!
//! # Session
//! * Handshake: a client echoing the `PUNCH_PKT` (JSON cameras) or sending
//!   `P2P_RDY(uid)` (binary cameras, often from another socket) gets
//!   `P2P_RDY(uid)` [`RDY_COPIES`] times, [`RDY_INTERVAL`] apart. The address
//!   that sent the handshake is the session's peer. Handshakes naming another
//!   UID are ignored.
//! * One session at a time: a handshake from another address replaces the
//!   session ([`SessionEnd::Replaced`]). A handshake from the peer itself is a
//!   retransmission and is answered again, unless it arrives more than
//!   [`HANDSHAKE_GRACE`] into a session in which commands were already
//!   delivered: then it is a client that restarted on the same address, and
//!   a fresh session begins.
//! * Keep-alive: `ALIVE` every 300–500 ms (seeded jitter); `ALIVE` is
//!   answered with `ALIVE_ACK`; after [`SILENCE_LIMIT`] without any datagram
//!   from the peer the session is forgotten (nothing is sent). `CLOSE` from
//!   the peer ends it.
//! * Reliability, device side: every DRW that is delivered, stored or a
//!   duplicate is acked (marker D1) in batches, [`ACK_DELAY`] after the first
//!   unacked index or at once when [`ACK_BATCH`] are waiting. Client commands
//!   are delivered once, in order (a reorder window of 256; the client's
//!   indices start at 0). The camera's own DRW carry u16 indices per channel
//!   from [`PpppCameraConfig::first_index`], and unacked ones are resent with
//!   the same index every [`RESEND_AFTER`] (checked every [`RESEND_TICK`]).
//!   The send buffer of each media channel holds at most
//!   [`PpppCameraConfig::send_buffer`] unacked packets: beyond that the
//!   oldest media frame is forgotten whole (never a command reply), so a
//!   client that does not ack sees gaps, as with a real camera's small buffer.
//!
//! # Commands (channel 0)
//! See `commands.rs`. Choices where the references are silent:
//! * JSON and CGI requests are checked against the credentials each one
//!   carries; no prior login is needed. Wrong credentials: JSON `result`
//!   -1 (user) or -3 (password), CGI `result= -1;`.
//! * Binary commands need a successful login and must carry its ticket
//!   (random per session, or zero with [`PpppQuirks::zero_ticket`]); others
//!   are acked on the DRW level and otherwise ignored. A bad binary login is
//!   answered per [`BinaryLoginFailure`].
//! * Unknown JSON commands are recorded and answered `result: 0`; unknown
//!   CGI paths `result= -1;`; unknown binary ids get an empty ack.
//! * Reboot (a command, or Wi-Fi setup with
//!   [`PpppCameraConfig::leave_after_wifi`]): the reply is sent and resent
//!   until acked (at most [`REBOOT_GRACE`]), then the session ends silently
//!   and the camera is off the air for [`PpppCameraConfig::reboot_delay`]
//!   (hears nothing, sends nothing); then it answers searches again.
//!
//! # Media
//! * Video (channel 1): every `1/fps` s while streaming, frame `n` of the
//!   [`FrameCache`] of the current resolution, after a 32-byte header (type
//!   0x03, `len` = JPEG length, frame number, camera clock), cut into DRW
//!   payloads of at most 1024 bytes. Quirks: no header, or the header in its
//!   own packet. A frame due while the driver was late is skipped, not burst.
//! * Audio (with [`PpppCameraConfig::audio`]): JSON cameras send 8 kHz IMA
//!   ADPCM of a 440 Hz tone on channel 2 after `stream{audio:1}`, each packet
//!   a header `55 AA 15 A8 AA 01 …` and 512 samples (64 ms); binary cameras
//!   interleave A-law frames (type 0x06, 512 samples) with the video on
//!   channel 1 while video streams (LIVEAUDIO_START/STOP also switch it).
//!   CGI cameras send no audio (no command for it is known).
//!
//! Sans-IO: no clock reads, no sockets, no async; time comes in as `now`.
//! [`crate::sim::runner::SimCamera::spawn_pppp`] binds the sockets.

pub mod audio;
mod commands;
mod config;
mod handle;
mod link;
mod media;
pub mod reliable;
mod talk;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use config::{BinaryLoginFailure, PpppCameraConfig, PpppQuirks, ScanNetwork};
pub use handle::{
    PpppCameraHandle, PtzMove, ReceivedCommand, Resolution, SessionEnd, StreamRequest, WifiRecord,
    MAX_COMMAND_LOG,
};

use self::commands::{Ctx, Login, Outcome, Split};
use self::handle::{lock, Shared, Switches};
use self::link::{emit, Counted, Out, Wire};
use self::media::AudioClock;
use self::reliable::{PacketKind, RxChannel, TxChannel, MAX_SEND_BUFFER};
use crate::proto::pppp::dialect::{Dialect, Password, LITTLE_STARS_PSK};
use crate::proto::pppp::media::{frame_type, FrameHeader, FRAME_HEADER_LEN};
use crate::proto::pppp::obfuscate::{Key, Obfuscation};
use crate::proto::pppp::uid::Uid;
use crate::proto::pppp::wire::{Message, DRW_MARKER, MAX_DRW_DATA};
use crate::proto::{Datagram, SocketIx, Transmit};
use crate::sim::pattern::{FrameCache, PatternSpec, DEFAULT_DISTINCT};
use crate::sim::Device;

/// The LAN search socket (UDP 32108 on a real camera).
pub const SEARCH_SOCKET: SocketIx = SocketIx(0);
/// The session socket (a random port on a real camera).
pub const SESSION_SOCKET: SocketIx = SocketIx(1);
/// How many `P2P_RDY` answer one handshake.
pub const RDY_COPIES: u8 = 3;
/// Time between those copies.
pub const RDY_INTERVAL: Duration = Duration::from_millis(100);
/// A handshake from the peer later than this into a session that already
/// delivered commands starts a new session.
pub const HANDSHAKE_GRACE: Duration = Duration::from_secs(1);
/// Shortest time between two `ALIVE`.
pub const ALIVE_MIN: Duration = Duration::from_millis(300);
/// Longest time between two `ALIVE`.
pub const ALIVE_MAX: Duration = Duration::from_millis(500);
/// A session with no datagram from the peer for this long is forgotten.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(5);
/// An unacked DRW is resent (same index) after this long.
pub const RESEND_AFTER: Duration = Duration::from_millis(300);
/// How often the send buffers are checked for resends.
pub const RESEND_TICK: Duration = Duration::from_millis(50);
/// Acks wait at most this long to be batched.
pub const ACK_DELAY: Duration = Duration::from_millis(10);
/// This many waiting acks are sent at once.
pub const ACK_BATCH: usize = 12;
/// Most indices in one DRW_ACK.
pub const MAX_ACK_INDICES: usize = 64;
/// The longest a rebooting camera waits for its last reply to be acked.
pub const REBOOT_GRACE: Duration = Duration::from_secs(1);
/// How many `CLOSE` the camera sends when it closes a session.
pub const CLOSE_COPIES: usize = 3;
/// Audio samples per packet (64 ms at 8 kHz).
pub const AUDIO_SAMPLES: usize = 512;
/// Default send buffer per media channel, in packets (about 6 VGA frames).
pub const DEFAULT_SEND_BUFFER: usize = 256;
/// Channels with state: 0 commands, 1 video, 2 audio, 3 talk.
const CHANNELS: usize = 4;
/// How often a paused camera asks to be woken (to notice it was resumed).
const PAUSE_POLL: Duration = Duration::from_millis(100);
/// Most audio packets produced in one catch-up.
const MAX_AUDIO_BURST: u32 = 4;

#[derive(Debug)]
struct Session {
    peer: SocketAddr,
    started: Instant,
    last_heard: Instant,
    next_alive: Instant,
    rdy_left: u8,
    next_rdy: Instant,
    rx: [RxChannel; CHANNELS],
    tx: [TxChannel; CHANNELS],
    acks: [Vec<u16>; CHANNELS],
    ack_due: Option<Instant>,
    resend_check: Option<Instant>,
    /// Channel-0 bytes not yet cut into messages.
    inbox: Vec<u8>,
    login: Login,
    delivered_any: bool,
    /// Next frame time while video streams.
    video: Option<Instant>,
    audio: Option<AudioClock>,
    close_at: Option<Instant>,
    /// Set when rebooting: the session ends when channel 0 is acked or then.
    reboot_at: Option<Instant>,
    /// Talk audio is taken on channel 3 (after the talk command).
    talking: bool,
    /// Answers being "worked on": sent on channel 0 when due.
    answers: std::collections::VecDeque<(Instant, Vec<u8>)>,
}

/// The simulated PPPP camera. Drive it with [`Device`] (e.g.
/// [`crate::sim::runner::run_device`]); observe and control it with
/// [`PpppCamera::handle`].
#[derive(Debug)]
pub struct PpppCamera {
    cfg: PpppCameraConfig,
    shared: Arc<Shared>,
    wire: Wire,
    t0: Instant,
    /// The latest `now` seen.
    now: Instant,
    rng: ChaCha8Rng,
    frame_interval: Duration,
    switches: Switches,
    session: Option<Session>,
    offline_until: Option<Instant>,
    punches_dropped: u32,
    next_frame: u64,
    audio_samples: u64,
    media_group: u64,
    out: VecDeque<Out>,
}

impl PpppCamera {
    /// A camera that is on the air and waiting for a LAN search.
    pub fn new(cfg: PpppCameraConfig, now: Instant) -> Self {
        let caches = [
            FrameCache::lazy(cfg.vga, &cfg.label, cfg.distinct_frames),
            FrameCache::lazy(cfg.qvga, &cfg.label, cfg.distinct_frames),
        ];
        let switches = Switches {
            resolution: cfg.resolution,
            ..Switches::default()
        };
        Self {
            shared: Arc::new(Shared::new(caches, switches)),
            wire: Wire {
                obfuscation: cfg.obfuscation,
                padding: cfg.quirks.trailing_padding.min(1024),
            },
            t0: now,
            now,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            frame_interval: Duration::from_secs(1) / cfg.fps.max(1),
            switches,
            session: None,
            offline_until: None,
            punches_dropped: 0,
            next_frame: 0,
            audio_samples: 0,
            media_group: 0,
            out: VecDeque::new(),
            cfg,
        }
    }

    /// A handle for tests; cheap to clone, usable from other threads.
    pub fn handle(&self) -> PpppCameraHandle {
        PpppCameraHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PpppCameraConfig {
        &self.cfg
    }

    fn paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    fn count(&self, f: impl Fn(&handle::Counters) -> &std::sync::atomic::AtomicU64) {
        Shared::bump(f(&self.shared.counters));
    }

    /// Camera clock at `now`: seconds since the epoch and milliseconds.
    fn clock(&self, now: Instant) -> (u32, u16) {
        let since = now.saturating_duration_since(self.t0);
        let secs = self.cfg.epoch.saturating_add(since.as_secs());
        (secs as u32, since.subsec_millis() as u16)
    }

    fn end_session(&mut self, reason: SessionEnd) {
        if self.session.take().is_some() {
            let mut log = lock(&self.shared.log);
            log.peer = None;
            log.last_end = Some(reason);
        }
    }

    // ---- incoming ----------------------------------------------------------

    fn on_datagram(&mut self, now: Instant, d: Datagram<'_>) {
        let first = self.cfg.obfuscation.first_wire_byte();
        if d.payload.first() != Some(&first) {
            self.count(|c| &c.ignored_datagrams);
            return;
        }
        let mut plain = d.payload.to_vec();
        self.cfg.obfuscation.open(&mut plain);
        let Ok(msg) = Message::decode(&plain) else {
            self.count(|c| &c.ignored_datagrams);
            return;
        };
        match (d.socket, msg) {
            (SEARCH_SOCKET, Message::LanSearch) => {
                emit(
                    &mut self.out,
                    &self.wire,
                    SESSION_SOCKET,
                    d.from,
                    &Message::PunchPkt(self.cfg.uid.clone()),
                    Counted::Nothing,
                );
                self.count(|c| &c.lan_searches_answered);
            }
            (SESSION_SOCKET, Message::PunchPkt(uid) | Message::P2pRdy(uid)) => {
                self.on_handshake(now, d.from, &uid);
            }
            (SESSION_SOCKET, msg) if self.session.as_ref().is_some_and(|s| s.peer == d.from) => {
                self.on_session_message(now, msg);
            }
            _ => self.count(|c| &c.ignored_datagrams),
        }
    }

    fn on_handshake(&mut self, now: Instant, from: SocketAddr, uid: &Uid) {
        if *uid != self.cfg.uid {
            self.count(|c| &c.ignored_datagrams);
            return;
        }
        if self.punches_dropped < self.cfg.quirks.drop_first_punches {
            self.punches_dropped += 1;
            return;
        }
        if let Some(s) = self.session.as_mut() {
            let restarted =
                s.delivered_any && now.saturating_duration_since(s.started) > HANDSHAKE_GRACE;
            if s.peer == from && !restarted {
                s.last_heard = now;
                s.rdy_left = RDY_COPIES;
                s.next_rdy = now;
                return;
            }
            self.end_session(SessionEnd::Replaced);
        }
        let first = self.cfg.first_index;
        let jitter = self.alive_jitter();
        self.session = Some(Session {
            peer: from,
            started: now,
            last_heard: now,
            next_alive: now + jitter,
            rdy_left: RDY_COPIES,
            next_rdy: now,
            rx: std::array::from_fn(|_| RxChannel::new(0)),
            tx: std::array::from_fn(|_| TxChannel::new(first)),
            acks: Default::default(),
            ack_due: None,
            resend_check: None,
            inbox: Vec::new(),
            login: Login::default(),
            delivered_any: false,
            video: None,
            audio: None,
            close_at: self.cfg.quirks.close_after.map(|d| now + d),
            reboot_at: None,
            talking: false,
            answers: std::collections::VecDeque::new(),
        });
        self.count(|c| &c.sessions_established);
        let mut log = lock(&self.shared.log);
        log.peer = Some(from);
        log.last_end = None;
    }

    fn alive_jitter(&mut self) -> Duration {
        let ms = self
            .rng
            .random_range(ALIVE_MIN.as_millis() as u64..=ALIVE_MAX.as_millis() as u64);
        Duration::from_millis(ms)
    }

    fn on_session_message(&mut self, now: Instant, msg: Message<'_>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.last_heard = now;
        match msg {
            Message::Drw {
                channel,
                index,
                data,
            } => {
                let ch = usize::from(channel);
                let (Some(rx), Some(acks)) = (s.rx.get_mut(ch), s.acks.get_mut(ch)) else {
                    return;
                };
                let r = rx.receive(index, data);
                if r.ack() {
                    if !acks.contains(&index) {
                        acks.push(index);
                    }
                    let waiting: usize = s.acks.iter().map(Vec::len).sum();
                    let due = if waiting >= ACK_BATCH {
                        now
                    } else {
                        now + ACK_DELAY
                    };
                    s.ack_due = Some(s.ack_due.map_or(due, |d| d.min(due)));
                }
                if let reliable::Received::Delivered(list) = r {
                    if ch == 0 {
                        s.delivered_any = true;
                        for d in list {
                            s.inbox.extend_from_slice(&d);
                        }
                        self.run_commands(now);
                    } else if ch == 3 {
                        for d in list {
                            talk::on_packet(&self.shared, self.cfg.dialect, s.talking, now, &d);
                        }
                    }
                    // Channels 1 and 2 from a client are acked and dropped.
                }
            }
            Message::DrwAck {
                channel, indices, ..
            } => {
                if let Some(tx) = s.tx.get_mut(usize::from(channel)) {
                    for i in indices {
                        tx.ack(i);
                    }
                }
            }
            Message::Alive => emit(
                &mut self.out,
                &self.wire,
                SESSION_SOCKET,
                s.peer,
                &Message::AliveAck,
                Counted::Nothing,
            ),
            Message::Close => self.end_session(SessionEnd::ClientClosed),
            _ => {}
        }
    }

    /// Cuts the session's channel-0 bytes into messages and executes them.
    fn run_commands(&mut self, now: Instant) {
        let (epoch, _) = self.clock(now);
        let mut outcomes = Vec::new();
        {
            let Some(s) = self.session.as_mut() else {
                return;
            };
            loop {
                match commands::split(self.cfg.dialect, &s.inbox) {
                    Split::Message(n) => {
                        let message: Vec<u8> = s.inbox.drain(..n).collect();
                        if s.reboot_at.is_some() {
                            // Shutting down: nothing more is executed.
                            continue;
                        }
                        let mut ctx = Ctx {
                            cfg: &self.cfg,
                            switches: &mut self.switches,
                            login: &mut s.login,
                            epoch,
                            new_ticket: self.rng.random(),
                        };
                        outcomes.push(commands::handle(&mut ctx, &message));
                    }
                    Split::Incomplete if s.inbox.len() <= commands::MAX_MESSAGE => break,
                    Split::Incomplete | Split::Garbage => {
                        let junk = std::mem::take(&mut s.inbox);
                        // Zero padding after the last message is not a command.
                        if junk.iter().any(|&b| b != 0) {
                            outcomes.push(Outcome {
                                records: vec![ReceivedCommand::Other(junk)],
                                ..Outcome::default()
                            });
                        }
                        break;
                    }
                }
            }
        }
        lock(&self.shared.log).switches = self.switches;
        for o in outcomes {
            self.apply(now, o);
        }
    }

    fn apply(&mut self, now: Instant, o: Outcome) {
        for r in o.records {
            self.shared.record(r);
        }
        if o.refused {
            self.count(|c| &c.refused_commands);
        }
        let delay = self.cfg.answer_delay;
        if delay.is_zero() {
            for reply in o.replies {
                self.send_drw(now, 0, reply, PacketKind::Command, Counted::Nothing);
            }
        } else if !o.replies.is_empty() {
            // The command's ack first (now), the answer after the work.
            self.flush_acks();
            if let Some(s) = self.session.as_mut() {
                for reply in o.replies {
                    s.answers.push_back((now + delay, reply));
                }
            }
        }
        let audio_capable = self.cfg.audio && self.cfg.dialect != Dialect::Cgi;
        let no_video = self.cfg.quirks.no_video;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match o.video {
            Some(true) if !no_video => {
                s.video.get_or_insert(now);
            }
            Some(_) => s.video = None,
            None => {}
        }
        match o.audio {
            Some(true) if audio_capable => {
                s.audio.get_or_insert(AudioClock {
                    anchor: now,
                    packets: 0,
                });
            }
            Some(_) => s.audio = None,
            None => {}
        }
        match o.talk {
            Some(true) => {
                s.talking = true;
                self.shared.new_playback(now);
            }
            Some(false) if s.talking => {
                s.talking = false;
                self.shared.with_playback(|p| {
                    p.ended = true;
                    p.ended_at = Some(now);
                });
            }
            _ => {}
        }
        if o.reboot {
            s.reboot_at = Some(now + REBOOT_GRACE);
            s.video = None;
            s.audio = None;
            self.count(|c| &c.reboots);
        }
    }

    // ---- outgoing ----------------------------------------------------------

    /// Does everything due at `now`.
    fn advance(&mut self, now: Instant) {
        if self.offline_until.is_some_and(|t| t <= now) {
            self.offline_until = None;
        }
        if self.offline_until.is_some() {
            return;
        }
        let Some(s) = self.session.as_ref() else {
            return;
        };
        if now.saturating_duration_since(s.last_heard) >= SILENCE_LIMIT {
            self.end_session(SessionEnd::Silent);
            return;
        }
        if s.close_at.is_some_and(|t| t <= now) {
            let peer = s.peer;
            for _ in 0..CLOSE_COPIES {
                emit(
                    &mut self.out,
                    &self.wire,
                    SESSION_SOCKET,
                    peer,
                    &Message::Close,
                    Counted::Nothing,
                );
            }
            self.end_session(SessionEnd::CameraClosed);
            return;
        }
        if s.reboot_at.is_some_and(|t| {
            t <= now || (s.answers.is_empty() && s.tx.first().is_none_or(TxChannel::is_empty))
        }) {
            self.flush_acks();
            self.end_session(SessionEnd::Reboot);
            self.offline_until = Some(now + self.cfg.reboot_delay);
            return;
        }
        let rdy_due = s.rdy_left > 0 && s.next_rdy <= now;
        let alive_due = s.next_alive <= now;
        let resend_due = s.resend_check.is_some_and(|t| t <= now);
        let ack_due = s.ack_due.is_some_and(|t| t <= now);
        let peer = s.peer;
        if rdy_due {
            emit(
                &mut self.out,
                &self.wire,
                SESSION_SOCKET,
                peer,
                &Message::P2pRdy(self.cfg.uid.clone()),
                Counted::Nothing,
            );
            if let Some(s) = self.session.as_mut() {
                s.rdy_left -= 1;
                s.next_rdy = now + RDY_INTERVAL;
            }
        }
        if alive_due {
            emit(
                &mut self.out,
                &self.wire,
                SESSION_SOCKET,
                peer,
                &Message::Alive,
                Counted::Nothing,
            );
            let jitter = self.alive_jitter();
            if let Some(s) = self.session.as_mut() {
                s.next_alive = now + jitter;
            }
        }
        if ack_due {
            self.flush_acks();
        }
        let mut due_answers = Vec::new();
        if let Some(s) = self.session.as_mut() {
            while s.answers.front().is_some_and(|(t, _)| *t <= now) {
                if let Some((_, a)) = s.answers.pop_front() {
                    due_answers.push(a);
                }
            }
        }
        for a in due_answers {
            self.send_drw(now, 0, a, PacketKind::Command, Counted::Nothing);
        }
        if resend_due {
            self.resend(now);
        }
        self.advance_video(now);
        self.advance_audio(now);
    }
}

impl Device for PpppCamera {
    fn sockets(&self) -> usize {
        2
    }

    fn handle_datagram(&mut self, now: Instant, datagram: Datagram<'_>) {
        self.now = self.now.max(now);
        if self.paused() {
            return;
        }
        self.advance(now);
        if self.offline_until.is_some() {
            return;
        }
        self.on_datagram(now, datagram);
        self.advance(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.paused() {
            return;
        }
        self.advance(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.paused() {
            self.out.clear();
            return None;
        }
        let o = self.out.pop_front()?;
        let c = &self.shared.counters;
        match o.counted {
            Counted::Nothing => {}
            Counted::FrameDone => Shared::bump(&c.frames_sent),
            Counted::Audio => Shared::bump(&c.audio_packets_sent),
            Counted::Ack => Shared::bump(&c.acks_sent),
        }
        Some(o.transmit)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.paused() {
            return Some(self.now + PAUSE_POLL);
        }
        if let Some(t) = self.offline_until {
            return Some(t);
        }
        let s = self.session.as_ref()?;
        [
            Some(s.last_heard + SILENCE_LIMIT),
            s.close_at,
            s.reboot_at,
            (s.rdy_left > 0).then_some(s.next_rdy),
            Some(s.next_alive),
            s.ack_due,
            s.answers.front().map(|(t, _)| *t),
            s.resend_check,
            s.video,
            s.audio.as_ref().map(AudioClock::due),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
