//! [`PpppSession`]: the bridge's side of one PPPP camera, sans-IO.
//!
//! Two sockets: 0 searches (LAN_SEARCH to the camera's host or the broadcast
//! address, in the camera's obfuscation or in every known one), 1 holds the
//! session. States, named for what they await:
//! `AwaitPunch` (a PUNCH_PKT from the camera, from its session port) →
//! `AwaitReady` (echo the punch for JSON/CGI cameras, or P2P_RDY for binary
//! ones, until the camera's P2P_RDY) → `AwaitLogin` (the dialect's login on
//! DRW channel 0) → `Streaming` (video on channel 1, audio on 1 or 2,
//! commands on 0) → closed. ALIVE is answered and sent; about 5 s without a
//! datagram ends the session so the camera core reconnects; a camera that
//! answers but never sends video is asked again, then closed with a clear
//! reason. Stopping sends CLOSE three times.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use super::audio::{parse_audio_frame, ADPCM_SAMPLE_RATE};
use super::client::{DialectClient, Expect, Reply, Step, RESOLUTIONS};
use super::dialect::{Dialect, Password};
use super::drw::{Delivered, DrwChannel, DrwConfig, SendEvent};
use super::media::{MediaItem, MjpegAssembler, DEFAULT_MAX_FRAME_BYTES};
use super::obfuscate::{all_obfuscations, detect, Obfuscation};
use super::talk::{TalkPolicy, CH_TALK};
use super::uid::Uid;
use super::wire::{Message, LAN_SEARCH_PORT};
use crate::model::{
    AudioCodec, CameraCommand, CameraDetails, CommandError, FrameValidator, MediaFrame, Protocol,
};
use crate::proto::codec::LimitedHex;
use crate::proto::{
    CloseReason, CommandId, Datagram, Handled, Outbox, Session, SessionEvent, SessionFactory,
    SessionStats, SocketIx, SocketSpec, TimerTable,
};

/// The search socket.
pub const SEARCH: SocketIx = SocketIx(0);
/// The session socket.
pub const SESSION: SocketIx = SocketIx(1);
/// DRW channel for commands.
const CH_CMD: u8 = 0;
/// DRW channel for video (and binary cameras' audio).
const CH_VIDEO: u8 = 1;
/// DRW channel for JSON cameras' audio.
const CH_AUDIO: u8 = 2;
/// Commands queued behind the running one at most.
const MAX_QUEUED: usize = 8;
/// How often LAN_SEARCH and the handshake are repeated.
const RESEND: Duration = Duration::from_millis(500);
/// How often we send ALIVE ourselves.
const ALIVE_EVERY: Duration = Duration::from_secs(1);
/// Counters are reported this often.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// A command that has not finished after this fails.
const COMMAND_DEADLINE: Duration = Duration::from_secs(10);

/// Everything a PPPP session needs; built from config and discovery.
#[derive(Debug, Clone)]
pub struct PpppConfig {
    /// Where LAN searches go: the camera's `host:32108`, and/or a broadcast address.
    pub search_targets: Vec<SocketAddr>,
    /// The camera's UID; `None` accepts the first camera that answers (only
    /// sensible when searching one host).
    pub uid: Option<Uid>,
    /// The camera's obfuscation, when known (config `psk` or remembered from
    /// discovery); `None` searches in every known encoding.
    pub obfuscation: Option<Obfuscation>,
    /// The command dialect; `None` picks it from the obfuscation ([`Dialect::guess`]).
    pub dialect: Option<Dialect>,
    /// Login user; `None` uses the dialect's default.
    pub username: Option<String>,
    /// Login password; `None` uses the dialect's default.
    pub password: Option<Password>,
    /// The resolution asked for at start.
    pub resolution: String,
    /// No datagram from the camera for this long ends the session.
    pub silence_timeout: Duration,
    /// No session established within this long ends the attempt.
    pub connect_timeout: Duration,
    /// No video for this long: ask again; twice as long again: give up.
    pub video_timeout: Duration,
    /// Local address of the search socket (broadcast-capable).
    pub search_bind: SocketAddr,
    /// Checks a frame from a camera that sends no frame header.
    pub validate_jpeg: FrameValidator,
    /// Whether intercom is tried (experimental, [`TalkPolicy`]).
    pub talk: TalkPolicy,
}

impl PpppConfig {
    /// Defaults for a camera searched at `targets`.
    pub fn new(search_targets: Vec<SocketAddr>, validate_jpeg: FrameValidator) -> Self {
        Self {
            search_targets,
            uid: None,
            obfuscation: None,
            dialect: None,
            username: None,
            password: None,
            resolution: RESOLUTIONS[0].to_string(),
            silence_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            video_timeout: Duration::from_secs(5),
            search_bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            validate_jpeg,
            talk: TalkPolicy::default(),
        }
    }

    /// The LAN search target for a camera host.
    pub fn host_target(ip: std::net::IpAddr) -> SocketAddr {
        SocketAddr::new(ip, LAN_SEARCH_PORT)
    }
}

impl SessionFactory for PpppConfig {
    fn protocol(&self) -> Protocol {
        Protocol::Pppp
    }

    /// Search from one socket (broadcast allowed), talk from another.
    fn sockets(&self) -> Vec<SocketSpec> {
        let session_bind = SocketAddr::new(self.search_bind.ip(), 0);
        vec![
            SocketSpec {
                bind: self.search_bind,
                broadcast: true,
            },
            SocketSpec {
                bind: session_bind,
                broadcast: false,
            },
        ]
    }

    fn build(&self, wall: SystemTime) -> Box<dyn Session> {
        Box::new(PpppSession::new(self.clone(), wall))
    }

    fn check(&self, command: &CameraCommand) -> Result<(), CommandError> {
        let bad = |reason: &str| CommandError::BadValue {
            command: command.name(),
            reason: reason.to_string(),
        };
        match command {
            CameraCommand::SetWifi { ssid, password } => {
                check_ssid(ssid).map_err(|r| bad(&r))?;
                check_password(password.expose()).map_err(|r| bad(&r))
            }
            CameraCommand::StageWifiSsid(s) => check_ssid(s).map_err(|r| bad(&r)),
            CameraCommand::StageWifiPassword(p) => check_password(p.expose()).map_err(|r| bad(&r)),
            CameraCommand::SetResolution(r) if !RESOLUTIONS.contains(&r.as_str()) => {
                Err(bad(&format!("{r:?}; allowed: {}", RESOLUTIONS.join(", "))))
            }
            _ => Ok(()),
        }
    }
}

/// Wi-Fi SSID rules the PPPP dialects share: 1–32 bytes, no NUL.
fn check_ssid(ssid: &str) -> Result<(), String> {
    if ssid.is_empty() || ssid.len() > 32 {
        return Err(format!("ssid is {} bytes; it must be 1 to 32", ssid.len()));
    }
    if ssid.contains('\0') {
        return Err("ssid must not contain a NUL byte".into());
    }
    Ok(())
}

/// WPA passphrase rules: empty (open) or 8–63 bytes, no NUL.
fn check_password(pw: &str) -> Result<(), String> {
    if !pw.is_empty() && !(8..=63).contains(&pw.len()) {
        return Err(format!(
            "password must be empty (open network) or 8 to 63 bytes (WPA), got {} bytes",
            pw.len()
        ));
    }
    if pw.contains('\0') {
        return Err("password must not contain a NUL byte".into());
    }
    Ok(())
}

crate::timer_kind! {
    /// The session's own deadlines (the DRW channels keep theirs).
    enum Timer {
        /// Resend LAN_SEARCH or the handshake.
        Resend,
        /// Give up connecting.
        Connect,
        /// Send our ALIVE.
        Alive,
        /// Nothing heard from the camera for too long.
        Silence,
        /// No video for too long.
        Video,
        /// Report counters.
        Stats,
        /// The running command's deadline.
        Command,
        /// Intercom: the talk command's deadline, then the next frame.
        Talk,
    }
}

/// What the session awaits.
#[derive(Debug)]
enum State {
    /// A PUNCH_PKT answering our search.
    AwaitPunch,
    /// The camera's P2P_RDY.
    AwaitReady {
        /// The camera's session address.
        camera: SocketAddr,
        /// What we repeat until it answers (the echoed punch, or our P2P_RDY).
        hello: Vec<u8>,
    },
    /// The answer to our login.
    AwaitLogin {
        /// The camera's session address.
        camera: SocketAddr,
        /// Whether the camera acknowledged the login packet (so silence after
        /// it means the credentials, not the network).
        login_acked: bool,
    },
    /// Logged in: video, audio and commands.
    Streaming {
        /// The camera's session address.
        camera: SocketAddr,
        /// Whether video was asked for again after a silence.
        reasked: bool,
    },
    /// Done; `Closed` was emitted (or the bridge stopped it).
    Closed,
}

/// A command being carried out.
#[derive(Debug)]
struct Active {
    id: CommandId,
    command: CameraCommand,
    /// Steps not sent yet.
    steps: VecDeque<Step>,
    /// The step in flight and, for `Expect::Acked`, the DRW index carrying it.
    waiting: Option<(Expect, Option<u16>)>,
    /// Binary Wi-Fi setup runs a scan first.
    scanning: bool,
}

/// The bridge's side of one PPPP camera.
#[derive(Debug)]
pub struct PpppSession {
    cfg: PpppConfig,
    wall: SystemTime,
    state: State,
    timers: TimerTable<Timer>,
    out: Outbox,
    /// The obfuscation found (or configured).
    obf: Option<Obfuscation>,
    uid: Option<Uid>,
    client: Option<DialectClient>,
    /// Channels 0 (commands), 1 (video), 2 (audio) once the session is up.
    channels: Vec<DrwChannel>,
    media: MjpegAssembler,
    stats: SessionStats,
    reported: SessionStats,
    active: Option<Active>,
    queue: VecDeque<(CommandId, CameraCommand)>,
    /// The Wi-Fi channel of each network from the last scan.
    wifi_channels: BTreeMap<String, u32>,
    resolution: String,
    /// Video frames since the last check.
    video_since_check: u64,
    /// The intercom playback, if one runs.
    talk: Option<talk::Talk>,
}

impl PpppSession {
    /// A session for `cfg`; `wall` is the wall-clock time at start (for the
    /// camera's clock).
    pub fn new(cfg: PpppConfig, wall: SystemTime) -> Self {
        let media = MjpegAssembler::new(DEFAULT_MAX_FRAME_BYTES, cfg.validate_jpeg);
        Self {
            obf: cfg.obfuscation,
            uid: cfg.uid.clone(),
            resolution: cfg.resolution.clone(),
            cfg,
            wall,
            state: State::AwaitPunch,
            timers: TimerTable::default(),
            out: Outbox::default(),
            client: None,
            channels: Vec::new(),
            media,
            stats: SessionStats::default(),
            reported: SessionStats::default(),
            active: None,
            queue: VecDeque::new(),
            wifi_channels: BTreeMap::new(),
            video_since_check: 0,
            talk: None,
        }
    }

    fn camera(&self) -> Option<SocketAddr> {
        match &self.state {
            State::AwaitReady { camera, .. }
            | State::AwaitLogin { camera, .. }
            | State::Streaming { camera, .. } => Some(*camera),
            _ => None,
        }
    }

    fn send(&mut self, socket: SocketIx, dst: SocketAddr, msg: &Message<'_>, obf: Obfuscation) {
        let mut bytes = msg.to_vec();
        obf.seal(&mut bytes);
        self.out.send(socket, dst, bytes);
    }

    fn send_search(&mut self) {
        let encodings: Vec<Obfuscation> = match self.obf {
            Some(o) => vec![o],
            None => all_obfuscations().map(|(_, o)| o).collect(),
        };
        for dst in self.cfg.search_targets.clone() {
            for o in &encodings {
                self.send(SEARCH, dst, &Message::LanSearch, *o);
            }
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if matches!(self.state, State::Closed) {
            return;
        }
        if let Some(a) = self.active.take() {
            self.out.emit(SessionEvent::CommandDone {
                id: a.id,
                result: Err(CommandError::Offline),
            });
        }
        for (id, _) in std::mem::take(&mut self.queue) {
            self.out.emit(SessionEvent::CommandDone {
                id,
                result: Err(CommandError::Offline),
            });
        }
        self.talk_gone();
        self.report_stats();
        tracing::debug!(%reason, "PPPP session closed");
        self.state = State::Closed;
        self.timers.clear();
        self.out.emit(SessionEvent::Closed(reason));
    }

    fn report_stats(&mut self) {
        let media = self.media.stats();
        self.stats.frames = media.frames;
        self.stats.frames_dropped = media.dropped.total();
        if self.stats != self.reported {
            self.reported = self.stats.clone();
            self.out.emit(SessionEvent::Stats(self.stats.clone()));
        }
    }

    /// Sends what the DRW channels want sent (data, retransmissions, acks).
    fn flush_channels(&mut self) {
        let (Some(camera), Some(obf)) = (self.camera(), self.obf) else {
            return;
        };
        let mut out = Vec::new();
        for ch in &mut self.channels {
            while let Some(d) = ch.poll_datagram() {
                out.push(d);
            }
        }
        for mut d in out {
            obf.seal(&mut d);
            self.out.send(SESSION, camera, d);
        }
    }

    fn on_search_reply(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) -> Handled {
        let Some(first) = payload.first() else {
            return Handled::NotMine;
        };
        let obf = match self.obf {
            Some(o) if o.first_wire_byte() == *first => o,
            Some(_) => return Handled::NotMine,
            None => match detect(*first) {
                Some((psk, o)) => {
                    tracing::debug!(
                        psk = psk.unwrap_or("none"),
                        "camera answered the LAN search"
                    );
                    o
                }
                None => return Handled::NotMine,
            },
        };
        let mut plain = payload.to_vec();
        obf.open(&mut plain);
        let Ok(Message::PunchPkt(uid)) = Message::decode(&plain) else {
            return Handled::NotMine;
        };
        if self.uid.as_ref().is_some_and(|u| *u != uid) {
            return Handled::NotMine; // another camera on the LAN
        }
        let dialect = self.cfg.dialect.unwrap_or_else(|| Dialect::guess(&obf));
        let (user, pw) = {
            let (du, dp) = dialect.default_credentials();
            (
                self.cfg.username.clone().unwrap_or_else(|| du.to_string()),
                self.cfg
                    .password
                    .clone()
                    .unwrap_or_else(|| Password::new(dp)),
            )
        };
        self.client = Some(DialectClient::new(dialect, &user, pw));
        self.obf = Some(obf);
        self.uid = Some(uid.clone());
        // JSON and CGI cameras want their punch back; binary ones a P2P_RDY
        // from a socket of ours other than the search socket (`pppp.md` §1.4).
        let hello = match dialect {
            Dialect::Binary => Message::P2pRdy(uid).to_vec(),
            Dialect::Json | Dialect::Cgi => Message::PunchPkt(uid).to_vec(),
        };
        self.state = State::AwaitReady {
            camera: from,
            hello,
        };
        self.send_hello();
        self.timers.set(Timer::Resend, now + RESEND / 2);
        Handled::Mine
    }

    fn send_hello(&mut self) {
        if let (State::AwaitReady { camera, hello }, Some(obf)) = (&self.state, self.obf) {
            let mut bytes = hello.clone();
            obf.seal(&mut bytes);
            self.out.send(SESSION, *camera, bytes);
        }
    }

    fn on_session_datagram(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) -> Handled {
        let Some(obf) = self.obf else {
            return Handled::NotMine;
        };
        if self.camera() != Some(from) {
            return Handled::NotMine;
        }
        let mut plain = payload.to_vec();
        obf.open(&mut plain);
        let msg = match Message::decode(&plain) {
            Ok(m) => m,
            Err(e) => {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(peer = %from, len = payload.len(), head = %LimitedHex::new(&plain, 16), error = %e, "malformed PPPP datagram");
                return Handled::Mine;
            }
        };
        self.timers
            .set(Timer::Silence, now + self.cfg.silence_timeout);
        match msg {
            Message::P2pRdy(_) => self.on_ready(now, from),
            Message::PunchPkt(_) => {} // repeats of its punch; the handshake goes on
            Message::Alive => self.send(SESSION, from, &Message::AliveAck, obf),
            Message::AliveAck | Message::LanSearch => {}
            Message::Close => self.close(CloseReason::PeerClosed),
            Message::Drw { .. } | Message::DrwAck { .. } => {
                for ch in &mut self.channels {
                    if ch.handle_message(now, &msg) {
                        break;
                    }
                }
                self.after_drw(now);
            }
            Message::Other { kind, .. } => {
                tracing::trace!(kind, "PPPP message ignored");
            }
        }
        Handled::Mine
    }

    fn on_ready(&mut self, now: Instant, camera: SocketAddr) {
        if !matches!(self.state, State::AwaitReady { .. }) {
            return; // P2P_RDY is repeated; the first one counts
        }
        // Receive indices anchor at the first packet of each channel: cameras
        // start at 0 (`pppp.md` §4), but one that does not (or whose first
        // packets were lost) must not be taken for a stream of old packets.
        // Commands cannot be reordered before the first: the login reply is
        // the only one until we send more.
        self.channels = vec![
            DrwChannel::new(CH_CMD, DrwConfig::commands()),
            DrwChannel::new(CH_VIDEO, DrwConfig::media()),
            DrwChannel::new(CH_AUDIO, DrwConfig::media()),
            DrwChannel::new(CH_TALK, DrwConfig::commands()),
        ];
        self.state = State::AwaitLogin {
            camera,
            login_acked: false,
        };
        self.timers.stop(Timer::Resend);
        self.timers.set(Timer::Alive, now + ALIVE_EVERY);
        let Some(login) = self.client.as_ref().map(DialectClient::login) else {
            return;
        };
        match login {
            Ok(step) => {
                let _ = self.send_drw(now, CH_CMD, &step.payload);
            }
            Err(e) => self.close(CloseReason::AuthRejected(e.to_string())),
        }
    }

    fn send_drw(&mut self, now: Instant, channel: u8, data: &[u8]) -> Option<u16> {
        let ch = self.channels.iter_mut().find(|c| c.channel() == channel)?;
        match ch.send.send(now, data) {
            Ok(index) => Some(index),
            Err(e) => {
                tracing::debug!(error = %e, "DRW send refused");
                None
            }
        }
    }

    /// Handles what the channels delivered and reported.
    fn after_drw(&mut self, now: Instant) {
        let mut cmd_data = Vec::new();
        let mut video = Vec::new();
        let mut audio = Vec::new();
        let mut sent = Vec::new();
        for ch in &mut self.channels {
            while let Some(d) = ch.recv.poll_delivered() {
                match ch.channel() {
                    CH_CMD => cmd_data.push(d),
                    CH_VIDEO => video.push(d),
                    _ => audio.push(d),
                }
            }
            while let Some(ev) = ch.send.poll_event() {
                sent.push((ch.channel(), ev));
            }
        }
        for (channel, ev) in sent {
            self.on_send_event(now, channel, ev);
        }
        for d in cmd_data {
            if let Delivered::Data { data, .. } = d {
                self.on_command_data(now, &data);
            }
        }
        for d in video {
            match d {
                Delivered::Data { data, .. } => {
                    self.stats.media_bytes += data.len() as u64;
                    self.media.push(&data);
                }
                Delivered::Gap { .. } => self.media.gap(),
            }
            self.pull_media();
        }
        for d in audio {
            if let Delivered::Data { data, .. } = d {
                self.on_audio_packet(&data);
            }
        }
    }

    fn pull_media(&mut self) {
        while let Some(item) = self.media.pull() {
            match item {
                Ok(MediaItem::Jpeg(jpeg)) => {
                    if matches!(self.state, State::Streaming { .. }) {
                        self.video_since_check += 1;
                        self.out.emit(SessionEvent::Media(MediaFrame::Jpeg(jpeg)));
                    }
                }
                Ok(MediaItem::Audio {
                    codec,
                    sample_rate,
                    data,
                }) => {
                    // Binary cameras: G.711 A-law, 8 kHz, on the video channel.
                    let wire_len = data.len();
                    self.emit_audio(codec, sample_rate, data, wire_len);
                }
                Err(why) => tracing::trace!(?why, "PPPP frame dropped"),
            }
        }
    }

    /// A JSON camera's channel-2 packet: its ADPCM bytes go out as they are
    /// (each packet decodes from a fresh state, see [`AudioCodec::ImaAdpcm`]);
    /// decoding is `media::audio`'s job, not the protocol core's.
    fn on_audio_packet(&mut self, data: &[u8]) {
        match parse_audio_frame(data) {
            Ok(frame) => {
                let adpcm = bytes::Bytes::copy_from_slice(frame.data);
                self.emit_audio(AudioCodec::ImaAdpcm, ADPCM_SAMPLE_RATE, adpcm, data.len());
            }
            Err(e) => tracing::trace!(error = %e, "audio packet dropped"),
        }
    }

    /// Counts an audio packet and, while streaming, emits its encoded bytes.
    fn emit_audio(
        &mut self,
        codec: AudioCodec,
        sample_rate: u32,
        data: bytes::Bytes,
        wire_len: usize,
    ) {
        self.stats.audio_packets += 1;
        self.stats.audio_bytes += wire_len as u64;
        if !matches!(self.state, State::Streaming { .. }) {
            return;
        }
        self.out.emit(SessionEvent::Media(MediaFrame::Audio {
            codec,
            sample_rate,
            data,
        }));
    }

    fn on_send_event(&mut self, now: Instant, channel: u8, ev: SendEvent) {
        match ev {
            SendEvent::Acked { index } => {
                if channel == CH_CMD {
                    if let State::AwaitLogin { login_acked, .. } = &mut self.state {
                        *login_acked = true;
                    }
                }
                let done = self.active.as_ref().is_some_and(
                    |a| matches!(a.waiting, Some((Expect::Acked, Some(i))) if i == index),
                );
                if done && channel == CH_CMD {
                    self.step_done(now, Ok(()));
                }
            }
            SendEvent::Failed { index } => {
                let ours = self
                    .active
                    .as_ref()
                    .is_some_and(|a| matches!(a.waiting, Some((_, Some(i))) if i == index));
                if ours && channel == CH_CMD {
                    self.step_done(
                        now,
                        Err("the camera did not acknowledge the command".to_string()),
                    );
                }
            }
        }
    }

    fn on_command_data(&mut self, now: Instant, data: &[u8]) {
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let replies = match client.parse(data) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, len = data.len(), "unreadable command reply");
                return;
            }
        };
        for r in replies {
            match r {
                Reply::LoggedIn => self.on_logged_in(now),
                Reply::LoginRejected(why) => {
                    if matches!(self.state, State::AwaitLogin { .. }) {
                        self.close(CloseReason::AuthRejected(why));
                    }
                }
                Reply::Details(d) => {
                    if matches!(self.state, State::Streaming { .. }) {
                        self.out.emit(SessionEvent::Details(d));
                    }
                }
                Reply::WifiNetworks(list) => {
                    self.wifi_channels = list.into_iter().collect();
                    self.after_scan(now);
                }
                Reply::Done { expect, result } if self.talk_answer(now, expect, &result) => {}
                Reply::Done { expect, result } => {
                    let ours = self
                        .active
                        .as_ref()
                        .is_some_and(|a| matches!(a.waiting, Some((e, _)) if e == expect));
                    if ours {
                        self.step_done(now, result);
                    }
                }
            }
            if matches!(self.state, State::Closed) {
                return;
            }
        }
    }

    fn on_logged_in(&mut self, now: Instant) {
        let State::AwaitLogin { camera, .. } = self.state else {
            return;
        };
        self.state = State::Streaming {
            camera,
            reasked: false,
        };
        self.timers.stop(Timer::Connect);
        let prefix = self.uid.as_ref().map_or("PPPP", |u| u.prefix()).to_string();
        let dialect = self
            .client
            .as_ref()
            .map_or("json", |c| c.dialect().as_str());
        self.out.emit(SessionEvent::Streaming(CameraDetails {
            model: Some(format!("{prefix} ({dialect} dialect)")),
            resolution: Some(self.resolution.clone()),
            resolutions: if dialect == "cgi" {
                Vec::new()
            } else {
                RESOLUTIONS.map(str::to_string).to_vec()
            },
            speaker: Some(
                self.client
                    .as_ref()
                    .and_then(|c| self.cfg.talk.format(c.dialect()))
                    .is_some(),
            ),
            ..CameraDetails::default()
        }));
        let steps = self
            .client
            .as_ref()
            .map(|c| c.after_login(self.wall, &self.resolution))
            .unwrap_or_default();
        for s in steps {
            let _ = self.send_drw(now, CH_CMD, &s.payload);
        }
        self.video_since_check = 0;
        self.timers.set(Timer::Video, now + self.cfg.video_timeout);
        self.start_next(now);
    }

    fn start_next(&mut self, now: Instant) {
        if self.active.is_some() || !matches!(self.state, State::Streaming { .. }) {
            return;
        }
        let Some((id, command)) = self.queue.pop_front() else {
            return;
        };
        let Some(client) = self.client.as_mut() else {
            return;
        };
        let wifi = matches!(command, CameraCommand::SetWifi { .. });
        let (steps, scanning) = if wifi && client.dialect() == Dialect::Binary {
            match client.wifi_scan() {
                Some(scan) => (Ok(vec![scan]), true),
                None => (client.command(&command, None), false),
            }
        } else {
            (client.command(&command, None), false)
        };
        match steps {
            Ok(steps) => {
                self.active = Some(Active {
                    id,
                    command,
                    steps: steps.into(),
                    waiting: None,
                    scanning,
                });
                self.timers.set(Timer::Command, now + COMMAND_DEADLINE);
                self.next_step(now);
            }
            Err(e) => {
                self.out
                    .emit(SessionEvent::CommandDone { id, result: Err(e) });
                self.start_next(now);
            }
        }
    }

    fn next_step(&mut self, now: Instant) {
        let Some(step) = self.active.as_mut().and_then(|a| a.steps.pop_front()) else {
            self.finish(now, Ok(()));
            return;
        };
        match self.send_drw(now, CH_CMD, &step.payload) {
            Some(index) => {
                if let Some(a) = self.active.as_mut() {
                    a.waiting = Some((step.expect, Some(index)));
                }
            }
            None => self.finish(
                now,
                Err(CommandError::Busy("too many commands in flight".into())),
            ),
        }
    }

    fn after_scan(&mut self, now: Instant) {
        let Some(a) = self.active.as_mut().filter(|a| a.scanning) else {
            return;
        };
        let idle = a.waiting.is_none();
        a.scanning = false;
        let CameraCommand::SetWifi { ssid, .. } = &a.command else {
            return;
        };
        let channel = self.wifi_channels.get(ssid).copied();
        let command = a.command.clone();
        let Some(client) = self.client.as_mut() else {
            return;
        };
        match client.command(&command, channel) {
            Ok(steps) => {
                if let Some(a) = self.active.as_mut() {
                    a.steps.extend(steps);
                }
                if idle {
                    self.next_step(now);
                }
            }
            Err(e) => self.finish(now, Err(e)),
        }
    }

    fn step_done(&mut self, now: Instant, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if let Some(a) = self.active.as_mut() {
                    a.waiting = None;
                }
                if self.active.as_ref().is_some_and(|a| a.scanning) {
                    return; // the scan's networks arrive with the same reply
                }
                self.next_step(now);
            }
            Err(why) => self.finish(now, Err(CommandError::Refused(why))),
        }
    }

    fn finish(&mut self, now: Instant, result: Result<(), CommandError>) {
        let Some(a) = self.active.take() else {
            return;
        };
        self.timers.stop(Timer::Command);
        let ok = result.is_ok();
        if ok {
            if let CameraCommand::SetResolution(r) = &a.command {
                self.resolution = r.clone();
            }
        }
        self.out
            .emit(SessionEvent::CommandDone { id: a.id, result });
        if ok && matches!(a.command, CameraCommand::SetWifi { .. }) {
            // The camera reboots onto the new network, likely at a new address.
            self.close(CloseReason::LeftMode("this network after Wi-Fi setup"));
            return;
        }
        self.start_next(now);
    }
}

impl Session for PpppSession {
    fn start(&mut self, now: Instant) {
        self.send_search();
        self.timers.set(Timer::Resend, now + RESEND);
        self.timers
            .set(Timer::Connect, now + self.cfg.connect_timeout);
        self.timers.set(Timer::Stats, now + STATS_EVERY);
    }

    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) -> Handled {
        if matches!(self.state, State::Closed) {
            return Handled::NotMine;
        }
        let handled = match (&self.state, d.socket) {
            (State::AwaitPunch, SEARCH) => self.on_search_reply(now, d.from, d.payload),
            (State::AwaitPunch, _) => Handled::NotMine,
            // Late punches to the search socket while connected are ignored.
            (_, SEARCH) => Handled::NotMine,
            _ => self.on_session_datagram(now, d.from, d.payload),
        };
        if handled == Handled::NotMine {
            self.stats.datagrams_rejected += 1;
        }
        self.flush_channels();
        handled
    }

    fn handle_timeout(&mut self, now: Instant) {
        for ch in &mut self.channels {
            if ch.poll_timeout().is_some_and(|t| t <= now) {
                ch.handle_timeout(now);
            }
        }
        self.after_drw(now);
        for timer in self.timers.expired(now) {
            if matches!(self.state, State::Closed) {
                return;
            }
            match timer {
                Timer::Resend => {
                    match self.state {
                        State::AwaitPunch => self.send_search(),
                        State::AwaitReady { .. } => self.send_hello(),
                        _ => continue,
                    }
                    self.timers.set(Timer::Resend, now + RESEND);
                }
                Timer::Connect => {
                    if !matches!(self.state, State::Streaming { .. }) {
                        let reason = match self.state {
                            State::AwaitLogin {
                                login_acked: true, ..
                            } => CloseReason::AuthRejected(
                                "the camera took the login but never answered it (wrong user or password?)".into(),
                            ),
                            _ => CloseReason::Silent(self.cfg.connect_timeout),
                        };
                        self.close(reason);
                    }
                }
                Timer::Alive => {
                    if let (Some(camera), Some(obf)) = (self.camera(), self.obf) {
                        self.send(SESSION, camera, &Message::Alive, obf);
                    }
                    self.timers.set(Timer::Alive, now + ALIVE_EVERY);
                }
                Timer::Silence => self.close(CloseReason::Silent(self.cfg.silence_timeout)),
                Timer::Video => {
                    let got = std::mem::take(&mut self.video_since_check);
                    if let State::Streaming { reasked, .. } = &mut self.state {
                        if got > 0 {
                            *reasked = false;
                            self.timers.set(Timer::Video, now + self.cfg.video_timeout);
                        } else if !*reasked {
                            *reasked = true;
                            tracing::info!("no video from the camera; asking again");
                            let steps = self
                                .client
                                .as_ref()
                                .map(|c| c.restart_video(&self.resolution))
                                .unwrap_or_default();
                            for s in steps {
                                let _ = self.send_drw(now, CH_CMD, &s.payload);
                            }
                            self.timers
                                .set(Timer::Video, now + 2 * self.cfg.video_timeout);
                        } else {
                            self.close(CloseReason::NoMedia(3 * self.cfg.video_timeout));
                        }
                    }
                }
                Timer::Stats => {
                    self.report_stats();
                    self.timers.set(Timer::Stats, now + STATS_EVERY);
                }
                Timer::Talk => self.on_talk_timer(now),
                Timer::Command => self.finish(
                    now,
                    Err(CommandError::TimedOut {
                        what: "no answer from the camera".into(),
                        after: COMMAND_DEADLINE,
                    }),
                ),
            }
        }
        self.flush_channels();
    }

    /// Commands that arrive before the login finished wait for it (the CLI
    /// sends its command as soon as the session starts); a session that never
    /// logs in answers them `Offline` when it closes.
    fn handle_talk(&mut self, now: Instant, input: crate::proto::talk::TalkInput) {
        self.on_talk_input(now, input);
        self.flush_channels();
    }

    fn handle_command(&mut self, now: Instant, id: CommandId, command: CameraCommand) {
        if self.queue.len() >= MAX_QUEUED {
            self.out.emit(SessionEvent::CommandDone {
                id,
                result: Err(CommandError::Busy(
                    "the camera is still handling earlier commands".into(),
                )),
            });
            return;
        }
        self.queue.push_back((id, command));
        self.start_next(now);
        self.flush_channels();
    }

    fn poll_transmit(&mut self) -> Option<crate::proto::Transmit> {
        self.out.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<SessionEvent> {
        self.out.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.state, State::Closed) {
            return None;
        }
        self.channels
            .iter()
            .filter_map(DrwChannel::poll_timeout)
            .chain(self.timers.next_timeout())
            .min()
    }

    fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// CLOSE three times, as the reference clients do.
    fn close(&mut self, _now: Instant) {
        if let (Some(camera), Some(obf)) = (self.camera(), self.obf) {
            for _ in 0..3 {
                self.send(SESSION, camera, &Message::Close, obf);
            }
        }
        self.state = State::Closed;
        self.timers.clear();
    }
}

mod talk;
