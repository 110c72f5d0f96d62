//! `TutkSession`: one Wyze camera over TUTK/IOTC, sans-IO.
//!
//! Layers, bottom up, each a pure machine this session drains:
//! [`Link`] (IOTC over TransCode or CC51, raced) → [`Dtls`] client on channel 0
//! → AV login → K-auth (K10000 … K10003) → media ([`FrameAssembler`]) and
//! K-commands (resolution, night vision, status light).
//!
//! Timing follows `wyze.md` §1.8: Disco every 100 ms for 5 s, Session
//! requests every second, DTLS 5 s, AV login 5 s, ACK every 100 ms, IOCTRL
//! resent every second for 5 s, 5 s of silence ends the session.
//!
//! Closing reasons map to the supervisor's restart policy: a DTLS handshake
//! that fails authentication or a K10003 `connectionRes` other than "1" is
//! [`CloseReason::AuthRejected`] (long backoff, `auth_failed`); a camera that
//! reports it is updating or checking its ENR (K10001 status 2/4/5) is
//! [`CloseReason::Unavailable`] (ordinary backoff); no answer to any Disco
//! within the first step is [`CloseReason::Unanswered`] (a wrong ENR or MAC,
//! or a camera that is off: slow retries until it has answered once).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::auth::{self, ChallengeStatus};
use super::av::{self, Ack, Hl, Ioctrl, Login, LoginReply};
use super::dtls::{Dtls, DtlsConfig, DtlsEvent, Psk};
use super::frame::{self, AvEvent, FrameAssembler};
use super::kcmd::{self, id, FrameSize};
use super::link::{Inbound, Link, TransportPolicy};
use crate::model::{
    AudioCodec, CameraCommand, CameraDetails, CommandError, MediaFrame, NightVision, Protocol,
    VideoCodec, VideoFrame,
};
use crate::proto::codec::LimitedHex;
use crate::proto::talk::{TalkEnd, TalkId, TalkInput};
use crate::proto::{
    CloseReason, CommandId, Datagram, Handled, Outbox, Session, SessionEvent, SessionStats,
    SocketIx, TimerTable,
};
use crate::secret::Secret;
use talk::Talk;

/// `last_error` when no Disco was ever answered (`wyze.md`: a camera ignores
/// a Disco made with the wrong ENR, so this is how a wrong ENR usually shows).
pub const NO_DISCO_ANSWER: &str = "no answer to a Disco made with this camera's UID/ENR/MAC: check the ENR and MAC, or that the camera is on";

pub use config::{resolution_name, KeyframeRequest, Memory, TutkConfig};
use config::{K10052_MODELS, WAKE_MODELS};

/// How long the connection steps may take (Disco, Session, DTLS, AV login).
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Disco resend interval.
const DISCO_EVERY: Duration = Duration::from_millis(100);
/// Session-request / CC51 confirm resend interval.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);
/// Gap between AV login #1 and #2.
const LOGIN_GAP: Duration = Duration::from_millis(10);
/// ACK interval while logged in.
const ACK_EVERY: Duration = Duration::from_millis(100);
/// IOCTRL resend interval and deadline.
const IOCTRL_EVERY: Duration = Duration::from_secs(1);
const IOCTRL_DEADLINE: Duration = Duration::from_secs(5);
/// After K10003, how long the first picture may take.
const FIRST_FRAME_DEADLINE: Duration = Duration::from_secs(10);
/// Least time between two keyframe requests.
const KEYFRAME_REQUEST_GAP: Duration = Duration::from_secs(2);
/// Stats are reported at most this often.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// Commands waiting for the session to be ready (more are refused).
const MAX_QUEUED_COMMANDS: usize = 16;

crate::timer_kind! {
    /// The session's deadlines.
    enum Timer {
        /// Resend the current connection step.
        Resend,
        /// The current step's deadline.
        Step,
        /// Send AV login #2.
        LoginSecond,
        /// Send the next ACK.
        Ack,
        /// Resend or give up a pending IOCTRL.
        Ioctrl,
        /// Nothing heard from the camera.
        Silence,
        /// Report counters.
        Stats,
        /// The intercom back channel's deadline (pacing, setup).
        Talk,
    }
}

/// Where the session stands; named for what it awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// IOTC Disco / Session on both transports.
    AwaitLink,
    /// DTLS handshake on channel 0.
    AwaitDtls,
    /// The camera's `0x2100` answer to the AV login.
    AwaitLogin,
    /// K10001, then K10003.
    AwaitAuth,
    /// Authenticated; waiting for the first decodable picture.
    AwaitFirstFrame,
    /// Pictures flowing.
    Streaming,
    /// Over.
    Closed,
}

/// What a pending IOCTRL is for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// A step of K-auth.
    Auth,
    /// A user command; its outcome on success.
    Command(CommandId, Outcome),
    /// A keyframe request (K10056 re-sent); its answer is ignored.
    Keyframe,
    /// K10010 ReturnAudio on for this playback.
    TalkOn(TalkId),
    /// K10010 ReturnAudio off; its answer is ignored.
    TalkOff,
}

/// What a successful command changes in the camera's details.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Resolution(FrameSize),
    NightVision(NightVision),
    Light(bool),
    IrLed(bool),
}

#[derive(Debug)]
struct Pending {
    frame: Ioctrl,
    expect: u16,
    resend_at: Instant,
    give_up: Instant,
    purpose: Purpose,
}

/// One Wyze camera session (see the module docs).
pub struct TutkSession {
    cfg: TutkConfig,
    state: State,
    link: Link,
    dtls: Dtls,
    timers: TimerTable<Timer>,
    out: Outbox,
    rng: ChaCha8Rng,
    /// AV login nonce (echoed by the camera).
    nonce: [u8; 4],
    /// Our AV sequence counter (ACKs and IOCTRLs).
    av_seq: u32,
    /// Our IOCTRL command counter.
    cmd_seq: u16,
    /// ACKs sent.
    acks: u32,
    /// Highest sequence the camera used in its control messages.
    rx_end: u16,
    pending: Vec<Pending>,
    /// Commands received before the session was ready.
    queued: VecDeque<(CommandId, CameraCommand)>,
    assembler: FrameAssembler,
    details: CameraDetails,
    /// Current frame size (from FRAMEINFO).
    size: Option<FrameSize>,
    last_keyframe_request: Option<Instant>,
    stats: SessionStats,
    reported: SessionStats,
    started: Option<Instant>,
    two_way_audio: bool,
    /// The camera's PSK, for the intercom back channel.
    psk: Psk,
    /// Codec id and rate of the audio the camera streams (the back channel
    /// mirrors it).
    audio_seen: Option<(u16, u32)>,
    /// The intercom playback, if one runs.
    talk: Option<Talk>,
}

impl TutkSession {
    /// A session, not started.
    pub fn new(cfg: TutkConfig, wall: SystemTime) -> Self {
        let nanos = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        // go2rtc's sid is the time in nanoseconds; the RNG seed mixes in the
        // UID so two cameras started in the same nanosecond differ.
        let sid = (nanos as u64).to_le_bytes();
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
        for (s, b) in seed[16..].iter_mut().zip(cfg.uid.bytes()) {
            *s = b;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        let enr = cfg.parent.as_ref().map_or(&cfg.enr, |(e, _)| e).clone();
        let policy = match (
            cfg.transport,
            cfg.memory.lock().ok().and_then(|m| m.transport),
        ) {
            (TransportPolicy::Race, Some(t)) => TransportPolicy::Only(t),
            (p, _) => p,
        };
        let link = cfg.link(sid, policy);
        let psk = Psk::from_enr(enr.expose().as_bytes());
        let mut dtls_cfg = DtlsConfig::new(psk.clone());
        dtls_cfg.suites = cfg.suites.clone();
        let mut dtls_seed = [0u8; 32];
        rng.fill_bytes(&mut dtls_seed);
        let mut nonce = [0u8; 4];
        rng.fill_bytes(&mut nonce);
        let details = CameraDetails {
            model: cfg.model(),
            resolutions: cfg.resolutions().into_iter().map(resolution_name).collect(),
            ..CameraDetails::default()
        };
        Self {
            dtls: Dtls::client(dtls_cfg, dtls_seed),
            link,
            cfg,
            state: State::AwaitLink,
            timers: TimerTable::default(),
            out: Outbox::default(),
            rng,
            nonce,
            av_seq: 0,
            cmd_seq: 0,
            acks: 0,
            rx_end: 0,
            pending: Vec::new(),
            queued: VecDeque::new(),
            assembler: FrameAssembler::new(),
            details,
            size: None,
            last_keyframe_request: None,
            stats: SessionStats::default(),
            reported: SessionStats::default(),
            started: None,
            two_way_audio: false,
            psk,
            audio_seen: None,
            talk: None,
        }
    }

    /// Whether the camera said it takes intercom audio (AV login answer).
    pub fn two_way_audio(&self) -> bool {
        self.two_way_audio
    }

    fn flush_link(&mut self) {
        while let Some((dst, d)) = self.link.poll_transmit() {
            self.out.send(SocketIx(0), dst, d);
        }
    }

    /// Moves DTLS output onto the wire and DTLS events into the session.
    fn drive_dtls(&mut self, now: Instant) {
        loop {
            while let Some(rec) = self.dtls.poll_transmit() {
                if let Some(wire) = self.link.wrap(0, rec) {
                    self.out.send(SocketIx(0), self.link.peer(), wire);
                }
            }
            let Some(ev) = self.dtls.poll_event() else {
                break;
            };
            match ev {
                DtlsEvent::Connected { suite } => {
                    tracing::debug!(?suite, "DTLS up; AV login");
                    self.state = State::AwaitLogin;
                    let [one, _] = self.login().encode();
                    self.send_av(now, &one);
                    self.timers.set(Timer::LoginSecond, now + LOGIN_GAP);
                    self.timers.set(Timer::Step, now + STEP_TIMEOUT);
                }
                DtlsEvent::Data(p) => self.on_av(now, &p),
                DtlsEvent::Closed(c) if self.state != State::Closed => {
                    let reason = if c.is_auth_failure() {
                        CloseReason::AuthRejected(format!("{c} — check the camera's ENR"))
                    } else if matches!(
                        c,
                        super::dtls::DtlsClose::HandshakeTimeout {
                            awaiting: "server Finished",
                            ..
                        }
                    ) {
                        // Our Finished (sent, and resent) never got an answer: a
                        // camera with another PSK cannot decrypt it and drops it
                        // silently, as DTLS requires. That is how a wrong ENR shows.
                        CloseReason::AuthRejected(format!(
                            "{c}: the camera never accepted our Finished (wrong ENR?)"
                        ))
                    } else if matches!(c, super::dtls::DtlsClose::PeerClosed) {
                        CloseReason::PeerClosed
                    } else {
                        CloseReason::Protocol(c.to_string())
                    };
                    self.close_with(now, reason);
                }
                DtlsEvent::Closed(_) => {}
            }
        }
        self.rearm_dtls();
    }

    fn rearm_dtls(&mut self) {
        // The DTLS endpoint keeps its own deadline; fold it into `Resend`
        // while handshaking (nothing else uses `Resend` then).
        if self.state == State::AwaitDtls {
            match self.dtls.poll_timeout() {
                Some(t) => self.timers.set(Timer::Resend, t),
                None => self.timers.stop(Timer::Resend),
            }
        }
    }

    fn login(&self) -> Login {
        let password = match &self.cfg.parent {
            Some((e, _)) => e.clone(),
            None => self.cfg.enr.clone(),
        };
        Login {
            user: "admin".into(),
            password,
            nonce: self.nonce,
            resend: 0,
        }
    }

    fn send_av(&mut self, now: Instant, msg: &[u8]) {
        if let Err(e) = self.dtls.send(msg) {
            tracing::debug!(error = %e, "cannot send an AV message");
        }
        let _ = now;
        while let Some(rec) = self.dtls.poll_transmit() {
            if let Some(wire) = self.link.wrap(0, rec) {
                self.out.send(SocketIx(0), self.link.peer(), wire);
            }
        }
    }

    fn send_ack(&mut self, now: Instant) {
        self.av_seq = self.av_seq.wrapping_add(1);
        self.acks = self.acks.wrapping_add(1);
        let ms = self
            .started
            .map_or(0, |s| now.duration_since(s).as_millis());
        let ack = Ack {
            av_seq: self.av_seq,
            rx_start: 0,
            rx_end: self.rx_end,
            count: self.acks,
            time_ms: (ms & 0xFFFF) as u16,
        };
        self.send_av(now, &ack.encode());
    }

    /// Sends a K-command and keeps it until its answer (resent every second).
    fn ioctrl(&mut self, now: Instant, command: u16, payload: Vec<u8>, purpose: Purpose) {
        self.av_seq = self.av_seq.wrapping_add(1);
        self.cmd_seq = self.cmd_seq.wrapping_add(1);
        let frame = Ioctrl {
            av_seq: self.av_seq,
            cmd_seq: self.cmd_seq,
            hl: Hl::new(command, payload),
        };
        self.send_av(now, &frame.encode());
        // A new request for the same answer replaces the old one (a keyframe
        // request racing a resolution change, say).
        let expect = kcmd::reply_to(command);
        if let Some(i) = self.pending.iter().position(|p| p.expect == expect) {
            let old = self.pending.remove(i);
            self.fail(
                old.purpose,
                CommandError::Refused("superseded by a newer command".into()),
            );
        }
        self.pending.push(Pending {
            frame,
            expect,
            resend_at: now + IOCTRL_EVERY,
            give_up: now + IOCTRL_DEADLINE,
            purpose,
        });
        self.rearm_ioctrl();
    }

    fn rearm_ioctrl(&mut self) {
        match self
            .pending
            .iter()
            .map(|p| p.resend_at.min(p.give_up))
            .min()
        {
            Some(t) => self.timers.set(Timer::Ioctrl, t),
            None => self.timers.stop(Timer::Ioctrl),
        }
    }

    fn fail(&mut self, purpose: Purpose, error: CommandError) {
        match purpose {
            Purpose::Command(id, _) => self.out.emit(SessionEvent::CommandDone {
                id,
                result: Err(error),
            }),
            Purpose::TalkOn(id) if self.talk.as_ref().is_some_and(|t| t.id() == id) => {
                self.talk = None;
                self.timers.stop(Timer::Talk);
                self.talk_ended(id, Duration::ZERO, Err(error));
            }
            _ => {}
        }
    }

    fn on_ioctrl_timer(&mut self, now: Instant) {
        let mut expired = Vec::new();
        let mut resend = Vec::new();
        self.pending.retain_mut(|p| {
            if now >= p.give_up {
                expired.push((p.purpose, p.frame.hl.command));
                false
            } else {
                if now >= p.resend_at {
                    resend.push(p.frame.encode());
                    p.resend_at = now + IOCTRL_EVERY;
                }
                true
            }
        });
        for f in resend {
            self.send_av(now, &f);
        }
        for (purpose, command) in expired {
            let what = format!("no answer to K{command}");
            if matches!(purpose, Purpose::Auth) {
                self.close_with(
                    now,
                    CloseReason::Protocol(format!("{what} during authentication")),
                );
                return;
            }
            self.fail(
                purpose,
                CommandError::TimedOut {
                    what,
                    after: IOCTRL_DEADLINE,
                },
            );
        }
        self.rearm_ioctrl();
    }

    /// One decrypted AV message from channel 0.
    fn on_av(&mut self, now: Instant, p: &[u8]) {
        if frame::is_media(p) {
            if let Err(e) = self.assembler.push(p) {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(error = %e, len = p.len(), bytes = %LimitedHex::new(p, 32), "media packet dropped");
            }
            while let Some(ev) = self.assembler.pull() {
                self.on_media(now, ev);
            }
            return;
        }
        match av::magic(p) {
            Some(av::MAGIC_LOGIN_REPLY) => self.on_login_reply(now, p),
            Some(av::MAGIC_IOCTRL | av::MAGIC_CHANNEL) => match Ioctrl::decode(p) {
                Ok(f) => {
                    self.rx_end = self.rx_end.max((f.av_seq & 0xFFFF) as u16);
                    self.send_ack(now);
                    self.on_hl(now, f.hl);
                }
                Err(e) => {
                    self.stats.datagrams_rejected += 1;
                    tracing::debug!(error = %e, bytes = %LimitedHex::new(p, 48), "control message dropped");
                }
            },
            Some(av::MAGIC_ACK) => {}
            _ => {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(bytes = %LimitedHex::new(p, 32), "unknown AV message");
            }
        }
    }

    fn on_login_reply(&mut self, now: Instant, p: &[u8]) {
        if self.state != State::AwaitLogin {
            return; // a repeated answer
        }
        match LoginReply::decode(p) {
            Ok(r) if r.result == av::LOGIN_OK => {
                self.two_way_audio = r.two_way_audio;
                self.details.speaker = Some(r.two_way_audio);
                self.state = State::AwaitAuth;
                self.timers.stop(Timer::LoginSecond);
                self.timers.stop(Timer::Step);
                self.send_ack(now);
                self.timers.set(Timer::Ack, now + ACK_EVERY);
                let wake = self.cfg.model_is(WAKE_MODELS);
                let req = kcmd::auth_request(&self.cfg.mac, wake);
                self.ioctrl(now, id::AUTH, req, Purpose::Auth);
            }
            Ok(r) => self.close_with(
                now,
                CloseReason::AuthRejected(format!(
                    "the camera refused the AV login (result 0x{:02x})",
                    r.result
                )),
            ),
            Err(e) => {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(error = %e, "bad AV login answer");
            }
        }
    }

    fn on_hl(&mut self, now: Instant, hl: Hl) {
        let Some(i) = self.pending.iter().position(|p| p.expect == hl.command) else {
            tracing::debug!(command = hl.command, "unsolicited K-command");
            return;
        };
        let p = self.pending.remove(i);
        self.rearm_ioctrl();
        match (hl.command, p.purpose) {
            (id::CHALLENGE, Purpose::Auth) => self.on_challenge(now, &hl.payload),
            (id::AUTH_RESULT, Purpose::Auth) => self.on_auth_result(now, &hl.payload),
            (_, Purpose::TalkOn(tid)) => self.on_talk_enabled(now, tid, &hl.payload),
            (_, Purpose::Command(cid, outcome)) => {
                if kcmd::reply_ok(&hl.payload) {
                    self.apply(outcome);
                    self.out.emit(SessionEvent::CommandDone {
                        id: cid,
                        result: Ok(()),
                    });
                } else {
                    self.out.emit(SessionEvent::CommandDone {
                        id: cid,
                        result: Err(CommandError::Refused(format!(
                            "K{} answered {}",
                            hl.command,
                            LimitedHex::new(&hl.payload, 8)
                        ))),
                    });
                }
            }
            _ => {}
        }
    }

    fn on_challenge(&mut self, now: Instant, payload: &[u8]) {
        let (status, challenge) = match kcmd::parse_challenge(payload) {
            Ok(c) => c,
            Err(e) => {
                self.close_with(now, CloseReason::Protocol(format!("bad K10001: {e}")));
                return;
            }
        };
        let enr = match &self.cfg.parent {
            Some((p, _)) => Secret::new(format!("{}{}", self.cfg.enr.expose(), p.expose())),
            None => self.cfg.enr.clone(),
        };
        match auth::challenge_response(ChallengeStatus::from_byte(status), challenge, &enr) {
            Ok(response) => {
                let mut filler = [0u8; 4];
                self.rng.fill_bytes(&mut filler);
                let msg = kcmd::challenge_response(response, filler, true, true);
                self.ioctrl(now, id::CHALLENGE_RESPONSE, msg, Purpose::Auth);
            }
            Err(e @ auth::ChallengeError::NotReady(_)) => {
                self.close_with(now, CloseReason::Unavailable(e.to_string()));
            }
            Err(e) => self.close_with(now, CloseReason::AuthRejected(e.to_string())),
        }
    }

    fn on_auth_result(&mut self, now: Instant, payload: &[u8]) {
        let r = match kcmd::parse_auth_result(payload) {
            Ok(r) => r,
            Err(e) => {
                self.close_with(now, CloseReason::Protocol(format!("bad K10003: {e}")));
                return;
            }
        };
        if !r.accepted {
            self.close_with(
                now,
                CloseReason::AuthRejected(format!(
                    "the camera rejected the ENR (K10003 connectionRes {:?})",
                    r.code
                )),
            );
            return;
        }
        if let Some(model) = r.model {
            if let Ok(mut m) = self.cfg.memory.lock() {
                m.model = Some(model.clone());
            }
            self.details.model = Some(model);
            self.details.resolutions = self
                .cfg
                .resolutions()
                .into_iter()
                .map(resolution_name)
                .collect();
        }
        self.details.firmware = r.firmware;
        // Wyze reports Wi-Fi quality as a percentage (`wifidb`, despite the name).
        self.details.signal_percent = r.wifi_db.and_then(|q| u8::try_from(q.clamp(0, 100)).ok());
        self.state = State::AwaitFirstFrame;
        self.timers.set(Timer::Step, now + FIRST_FRAME_DEADLINE);
        let remembered = self.cfg.memory.lock().ok().and_then(|m| m.resolution);
        if let Some(size) = remembered {
            self.send_resolution(now, size, Purpose::Keyframe);
        }
        while let Some((cid, cmd)) = self.queued.pop_front() {
            self.run_command(now, cid, cmd);
        }
    }

    fn send_resolution(&mut self, now: Instant, size: FrameSize, purpose: Purpose) {
        let (command, payload) = if self.cfg.model_is(K10052_MODELS) {
            (id::RESOLUTION_OLD, kcmd::resolution_old(size, 0))
        } else {
            (id::RESOLUTION, kcmd::resolution(size, 0))
        };
        self.ioctrl(now, command, payload, purpose);
    }

    fn apply(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Resolution(s) => {
                if let Ok(mut m) = self.cfg.memory.lock() {
                    m.resolution = Some(s);
                }
                self.details.resolution = Some(resolution_name(s));
            }
            Outcome::NightVision(n) => self.details.night_vision = Some(n),
            Outcome::Light(l) => self.details.light = Some(l),
            Outcome::IrLed(l) => self.details.ir_led = Some(l),
        }
        self.out.emit(SessionEvent::Details(self.details.clone()));
    }

    fn on_media(&mut self, now: Instant, ev: AvEvent) {
        match ev {
            AvEvent::Video {
                codec,
                keyframe,
                info,
                data,
                ..
            } => {
                self.stats.media_bytes += data.len() as u64;
                let codec = match codec {
                    frame::codec::H264 => VideoCodec::H264,
                    frame::codec::H265 => VideoCodec::H265,
                    frame::codec::MJPEG => {
                        self.out.emit(SessionEvent::Media(MediaFrame::Jpeg(data)));
                        return;
                    }
                    other => {
                        self.stats.frames_dropped += 1;
                        tracing::debug!(codec = other, "video in a codec we cannot use");
                        return;
                    }
                };
                let size = FrameSize::from_code(info.frame_size);
                if size != self.size {
                    self.size = size;
                    if let Some(s) = size {
                        self.details.resolution = Some(resolution_name(s));
                        if self.state == State::Streaming {
                            self.out.emit(SessionEvent::Details(self.details.clone()));
                        }
                    }
                }
                if self.state == State::AwaitFirstFrame {
                    self.state = State::Streaming;
                    self.timers.stop(Timer::Step);
                    self.out.emit(SessionEvent::Streaming(self.details.clone()));
                }
                self.out
                    .emit(SessionEvent::Media(MediaFrame::Video(VideoFrame {
                        codec,
                        keyframe,
                        timestamp: info.timestamp(),
                        data,
                    })));
            }
            AvEvent::VideoLost { .. } if self.state != State::Streaming => {}
            AvEvent::VideoLost { frames } => {
                tracing::debug!(frames, "video lost; dropping to the next keyframe");
                self.out.emit(SessionEvent::Media(MediaFrame::VideoLost));
                self.request_keyframe(now);
            }
            AvEvent::Audio { info, data } => {
                self.stats.audio_packets += 1;
                self.stats.audio_bytes += data.len() as u64;
                self.audio_seen = Some((info.codec, info.sample_rate()));
                if self.state != State::Streaming {
                    return; // counted; events start with the first picture
                }
                let codec = match info.codec {
                    frame::codec::PCMU => AudioCodec::Mulaw,
                    frame::codec::PCMA => AudioCodec::Alaw,
                    frame::codec::PCM => AudioCodec::PcmS16Le,
                    frame::codec::AAC_WYZE => AudioCodec::Aac,
                    _ => return,
                };
                self.out.emit(SessionEvent::Media(MediaFrame::Audio {
                    codec,
                    sample_rate: info.sample_rate(),
                    data: Bytes::from(data.to_vec()),
                }));
            }
        }
    }

    fn request_keyframe(&mut self, now: Instant) {
        let (KeyframeRequest::ResendResolution, Some(size)) = (self.cfg.keyframe, self.size) else {
            return;
        };
        if self
            .last_keyframe_request
            .is_some_and(|t| now.duration_since(t) < KEYFRAME_REQUEST_GAP)
        {
            return;
        }
        self.last_keyframe_request = Some(now);
        self.send_resolution(now, size, Purpose::Keyframe);
    }

    fn run_command(&mut self, now: Instant, cid: CommandId, command: CameraCommand) {
        match command {
            CameraCommand::SetResolution(r) => match self.cfg.parse_resolution(&r) {
                Ok(size) => self.send_resolution(
                    now,
                    size,
                    Purpose::Command(cid, Outcome::Resolution(size)),
                ),
                Err(e) => self.out.emit(SessionEvent::CommandDone {
                    id: cid,
                    result: Err(e),
                }),
            },
            CameraCommand::NightVision(mode) => {
                let v = match mode {
                    NightVision::On => 1,
                    NightVision::Off => 2,
                    NightVision::Auto => 3,
                };
                self.ioctrl(
                    now,
                    id::NIGHT_VISION_SET,
                    vec![v],
                    Purpose::Command(cid, Outcome::NightVision(mode)),
                );
            }
            CameraCommand::Light(on) => self.ioctrl(
                now,
                id::STATUS_LIGHT_SET,
                vec![if on { 1 } else { 2 }],
                Purpose::Command(cid, Outcome::Light(on)),
            ),
            // K10046 `irled`: 1 on, 2 off (wyze.md §2.1).
            CameraCommand::IrLed(on) => self.ioctrl(
                now,
                id::IR_LED_SET,
                vec![if on { 1 } else { 2 }],
                Purpose::Command(cid, Outcome::IrLed(on)),
            ),
            other => self.out.emit(SessionEvent::CommandDone {
                id: cid,
                result: Err(CommandError::Unsupported {
                    command: other.name(),
                    protocol: Protocol::Tutk,
                }),
            }),
        }
    }

    fn report_stats(&mut self) {
        let a = self.assembler.stats();
        self.stats.frames = a.frames;
        self.stats.frames_dropped = a.dropped;
        if self.stats != self.reported {
            self.reported = self.stats.clone();
            self.out.emit(SessionEvent::Stats(self.stats.clone()));
        }
    }

    fn close_with(&mut self, now: Instant, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        for p in std::mem::take(&mut self.pending) {
            self.fail(p.purpose, CommandError::Offline);
        }
        for (cid, _) in std::mem::take(&mut self.queued) {
            self.out.emit(SessionEvent::CommandDone {
                id: cid,
                result: Err(CommandError::Offline),
            });
        }
        if let Some(talk) = self.talk.take() {
            let played = match &talk {
                Talk::Channel(bc) => bc.played(),
                Talk::AwaitEnable { .. } => Duration::ZERO,
            };
            self.talk_ended(talk.id(), played, Err(CommandError::Offline));
        }
        self.report_stats();
        tracing::debug!(%reason, "TUTK session closed");
        let _ = now;
        self.state = State::Closed;
        self.timers.clear();
        self.out.emit(SessionEvent::Closed(reason));
    }

    fn step_expired(&mut self, now: Instant) {
        let reason = match self.state {
            State::AwaitLink if self.link.transport().is_none() => {
                CloseReason::Unanswered(NO_DISCO_ANSWER.into())
            }
            State::AwaitLink => CloseReason::Silent(STEP_TIMEOUT),
            State::AwaitLogin => CloseReason::Protocol("no answer to the AV login".into()),
            State::AwaitFirstFrame => CloseReason::NoMedia(FIRST_FRAME_DEADLINE),
            _ => return,
        };
        self.close_with(now, reason);
    }
}

impl Session for TutkSession {
    fn start(&mut self, now: Instant) {
        self.started = Some(now);
        self.link.connect_tick();
        self.flush_link();
        self.timers.set(Timer::Resend, now + DISCO_EVERY);
        self.timers.set(Timer::Step, now + STEP_TIMEOUT);
        self.timers
            .set(Timer::Silence, now + self.cfg.silence.max(STEP_TIMEOUT));
        self.timers.set(Timer::Stats, now + STATS_EVERY);
    }

    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) -> Handled {
        if self.state == State::Closed {
            return Handled::NotMine;
        }
        let inbound = self.link.handle(d.from, d.payload);
        self.flush_link();
        match inbound {
            Inbound::Foreign(e) => {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(
                    peer = %d.from,
                    len = d.payload.len(),
                    bytes = %LimitedHex::new(d.payload, 24),
                    error = e.map(|e| e.to_string()),
                    "datagram dropped"
                );
                return Handled::NotMine;
            }
            Inbound::Step | Inbound::Keepalive => {}
            Inbound::Up(t) => {
                tracing::debug!(transport = %t, peer = %self.link.peer(), "IOTC session up; DTLS");
                if let Ok(mut m) = self.cfg.memory.lock() {
                    m.transport = Some(t);
                    m.address = Some(self.link.peer());
                }
                self.state = State::AwaitDtls;
                self.timers.stop(Timer::Step);
                self.dtls.start(now);
                self.drive_dtls(now);
            }
            Inbound::Data {
                channel: 0,
                payload,
            } => {
                self.dtls.handle_datagram(now, &payload);
                self.drive_dtls(now);
            }
            Inbound::Data {
                channel: 1,
                payload,
            } => match &mut self.talk {
                Some(Talk::Channel(bc)) => {
                    bc.handle_datagram(now, &payload);
                    self.drive_talk(now);
                }
                _ => tracing::debug!("intercom channel data without a playback"),
            },
            Inbound::Data { channel, .. } => {
                tracing::debug!(channel, "data on a channel we do not use");
            }
        }
        if self.state == State::AwaitDtls {
            // The DTLS handshake has its own deadline, which tells a wrong
            // ENR from a silent camera; the silence timer would hide that.
            self.timers.stop(Timer::Silence);
        } else if self.state != State::Closed {
            self.timers.set(Timer::Silence, now + self.cfg.silence);
            if self.link.transport().is_some() && self.state == State::AwaitLink {
                // Confirming: resend every second instead of every 100 ms.
                self.timers.set_earliest(Timer::Resend, now + CONFIRM_EVERY);
            }
        }
        Handled::Mine
    }

    fn handle_timeout(&mut self, now: Instant) {
        for t in self.timers.expired(now) {
            if self.state == State::Closed {
                return;
            }
            match t {
                Timer::Resend => match self.state {
                    State::AwaitLink => {
                        self.link.connect_tick();
                        self.flush_link();
                        let every = if self.link.transport().is_some() {
                            CONFIRM_EVERY
                        } else {
                            DISCO_EVERY
                        };
                        self.timers.set(Timer::Resend, now + every);
                    }
                    State::AwaitDtls => {
                        self.dtls.handle_timeout(now);
                        self.drive_dtls(now);
                    }
                    _ => {}
                },
                Timer::Step => self.step_expired(now),
                Timer::LoginSecond => {
                    let [_, two] = self.login().encode();
                    self.send_av(now, &two);
                }
                Timer::Ack => {
                    self.send_ack(now);
                    self.timers.set(Timer::Ack, now + ACK_EVERY);
                }
                Timer::Ioctrl => self.on_ioctrl_timer(now),
                Timer::Silence => self.close_with(now, CloseReason::Silent(self.cfg.silence)),
                Timer::Stats => {
                    self.report_stats();
                    self.timers.set(Timer::Stats, now + STATS_EVERY);
                }
                Timer::Talk => {
                    if let Some(Talk::Channel(bc)) = &mut self.talk {
                        bc.handle_timeout(now);
                    }
                    self.drive_talk(now);
                }
            }
        }
    }

    fn handle_talk(&mut self, now: Instant, input: TalkInput) {
        match input {
            TalkInput::Open { id } => self.open_talk(now, id),
            TalkInput::Frames { id, frames } => {
                let Some(Talk::Channel(bc)) = &mut self.talk else {
                    return; // not ready, or over: the caller has its Ended
                };
                if bc.id != id {
                    return;
                }
                if let Err(e) = bc.push(now, frames) {
                    self.end_talk(
                        now,
                        Err(CommandError::BadValue {
                            command: "intercom",
                            reason: e.to_string(),
                        }),
                    );
                    return;
                }
                self.drive_talk(now);
            }
            TalkInput::Finish { id } => match &mut self.talk {
                Some(Talk::Channel(bc)) if bc.id == id => {
                    bc.finish(now);
                    self.drive_talk(now);
                }
                // Finished before the camera was ready: nothing was played.
                Some(Talk::AwaitEnable { id: t, .. }) if *t == id => {
                    self.end_talk(now, Ok(TalkEnd::Finished));
                }
                _ => {}
            },
            TalkInput::Stop { id } => {
                if self.talk.as_ref().is_some_and(|t| t.id() == id) {
                    self.end_talk(now, Ok(TalkEnd::Stopped));
                }
            }
        }
    }

    fn handle_command(&mut self, now: Instant, cid: CommandId, command: CameraCommand) {
        match self.state {
            State::Closed => self.out.emit(SessionEvent::CommandDone {
                id: cid,
                result: Err(CommandError::Offline),
            }),
            State::AwaitFirstFrame | State::Streaming => self.run_command(now, cid, command),
            _ if self.queued.len() < MAX_QUEUED_COMMANDS => self.queued.push_back((cid, command)),
            _ => self.out.emit(SessionEvent::CommandDone {
                id: cid,
                result: Err(CommandError::Offline),
            }),
        }
    }

    fn poll_transmit(&mut self) -> Option<crate::proto::Transmit> {
        self.out.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<SessionEvent> {
        self.out.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    fn close(&mut self, now: Instant) {
        if self.link.is_up() {
            self.dtls.close(now);
            while let Some(rec) = self.dtls.poll_transmit() {
                if let Some(wire) = self.link.wrap(0, rec) {
                    self.out.send(SocketIx(0), self.link.peer(), wire);
                }
            }
        }
    }
}

mod config;
mod talk;
#[cfg(test)]
mod tests;
