//! [`DemoSession`]: the bridge's side of an A9 camera in demo mode. The smallest
//! [`Session`], and the template the other protocols follow.
//!
//! States: `AwaitVideo` (sending `42 76` until the first datagram arrives) →
//! `Streaming` → closed (silence). One local socket serves all three camera
//! ports; datagrams are told apart by their source address.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::assembler::{FrameAssembler, FrameCheck};
use super::wire::{VideoDatagram, WifiRequest, START_AUDIO, START_VIDEO};
use crate::model::{CameraCommand, CameraDetails, CommandError, FrameValidator, Protocol};
use crate::proto::codec::LimitedHex;
use crate::proto::{
    jpeg_event, CloseReason, CommandId, Datagram, Handled, Outbox, Session, SessionEvent,
    SessionFactory, SessionStats, SocketIx, SocketSpec, TimerTable,
};

/// Whether to ask the camera for audio on its audio port.
///
/// The first public scripts sent `30 67` and `30 66` to port 8070 before audio
/// arrived; later ones dropped them because video works without (`pppp.md` §5).
/// Whether a given firmware needs them is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioStart {
    /// Send `30 67` and `30 66` to the audio port at start. The default.
    #[default]
    Request,
    /// Send nothing to the audio port (audio is still counted if it arrives).
    Off,
}

impl fmt::Display for AudioStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Request => "request",
            Self::Off => "off",
        })
    }
}

impl FromStr for AudioStart {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "request" => Ok(Self::Request),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown audio_start {other:?}; expected request or off"
            )),
        }
    }
}

/// Everything a demo session needs to know; built from config.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// The camera's video port (8080).
    pub video: SocketAddr,
    /// The camera's audio port (8070).
    pub audio: SocketAddr,
    /// The camera's Wi-Fi setup port (8090).
    pub command: SocketAddr,
    /// How frames are checked for completeness.
    pub frame_check: FrameCheck,
    /// Whether to request audio.
    pub audio_start: AudioStart,
    /// No complete frame for this long ends the session (availability goes offline).
    pub silence_timeout: Duration,
    /// Resend `42 76` this often until video arrives.
    pub start_retry: Duration,
    /// How long to wait for the camera's answer to Wi-Fi setup.
    pub wifi_timeout: Duration,
    /// Frames bigger than this are dropped (bounds memory).
    pub max_frame_bytes: usize,
    /// `markers` mode's check that a frame decodes (the bridge injects a bounded
    /// JPEG decode; `proto` must not depend on `media`).
    pub validate_jpeg: FrameValidator,
}

impl DemoConfig {
    /// Defaults for a camera whose ports are `video`, `audio`, `command`;
    /// `validate_jpeg` is the frame check `markers` mode uses.
    pub fn new(
        video: SocketAddr,
        audio: SocketAddr,
        command: SocketAddr,
        validate_jpeg: FrameValidator,
    ) -> Self {
        Self {
            validate_jpeg,
            video,
            audio,
            command,
            frame_check: FrameCheck::default(),
            audio_start: AudioStart::default(),
            silence_timeout: Duration::from_secs(10),
            start_retry: Duration::from_secs(1),
            wifi_timeout: Duration::from_secs(3),
            max_frame_bytes: 1 << 20,
        }
    }
}

crate::timer_kind! {
    /// The demo session's deadlines.
    enum Timer {
        /// Resend the start request.
        StartRetry,
        /// No frame for `silence_timeout`.
        Silence,
        /// Report counters.
        Stats,
        /// Wi-Fi answer overdue.
        WifiDeadline,
    }
}

const STATS_EVERY: Duration = Duration::from_secs(1);
/// How often the Wi-Fi request is resent while no answer came (UDP may drop it).
const WIFI_RESEND: Duration = Duration::from_secs(1);

#[derive(Debug)]
enum State {
    /// Waiting for the first video datagram.
    AwaitVideo { attempts: u32 },
    /// Frames flowing.
    Streaming,
    /// Done; `Closed` was emitted.
    Closed,
}

#[derive(Debug)]
struct PendingWifi {
    id: CommandId,
    request: Vec<u8>,
    deadline: Instant,
    next_resend: Instant,
}

/// The bridge's side of one demo-mode camera.
#[derive(Debug)]
pub struct DemoSession {
    cfg: DemoConfig,
    state: State,
    timers: TimerTable<Timer>,
    assembler: FrameAssembler,
    out: Outbox,
    stats: SessionStats,
    /// Stats as last reported, to skip unchanged reports.
    reported: SessionStats,
    wifi: Option<PendingWifi>,
}

impl DemoSession {
    /// A session for the camera in `cfg`; call [`Session::start`] next.
    pub fn new(cfg: DemoConfig) -> Self {
        let assembler =
            FrameAssembler::new(cfg.frame_check, cfg.max_frame_bytes, cfg.validate_jpeg);
        Self {
            cfg,
            state: State::AwaitVideo { attempts: 0 },
            timers: TimerTable::default(),
            assembler,
            out: Outbox::default(),
            stats: SessionStats::default(),
            reported: SessionStats::default(),
            wifi: None,
        }
    }

    fn send_start(&mut self, now: Instant) {
        self.out
            .send(SocketIx(0), self.cfg.video, START_VIDEO.to_vec());
        if self.cfg.audio_start == AudioStart::Request {
            for bytes in START_AUDIO {
                self.out.send(SocketIx(0), self.cfg.audio, bytes.to_vec());
            }
        }
        self.timers
            .set(Timer::StartRetry, now + self.cfg.start_retry);
    }

    fn close(&mut self, reason: CloseReason) {
        if matches!(self.state, State::Closed) {
            return;
        }
        if let Some(w) = self.wifi.take() {
            self.out.emit(SessionEvent::CommandDone {
                id: w.id,
                result: Err(CommandError::Offline),
            });
        }
        self.report_stats();
        self.state = State::Closed;
        self.timers = TimerTable::default();
        self.out.emit(SessionEvent::Closed(reason));
    }

    fn report_stats(&mut self) {
        if self.stats != self.reported {
            self.reported = self.stats.clone();
            self.out.emit(SessionEvent::Stats(self.stats.clone()));
        }
    }

    fn on_video(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) {
        let dgram = match VideoDatagram::decode(payload) {
            Ok(d) => d,
            Err(e) => {
                self.stats.datagrams_rejected += 1;
                tracing::debug!(
                    peer = %from,
                    len = payload.len(),
                    head = %LimitedHex::new(payload, 16),
                    error = %e,
                    "dropping malformed video datagram"
                );
                return;
            }
        };
        if let State::AwaitVideo { attempts } = self.state {
            tracing::debug!(attempts, "video started");
            self.state = State::Streaming;
            self.timers.stop(Timer::StartRetry);
            self.out.emit(SessionEvent::Streaming(CameraDetails {
                model: Some("A9 (demo mode)".into()),
                ..CameraDetails::default()
            }));
        }
        self.stats.media_bytes += dgram.payload.len() as u64;
        self.assembler.push(&dgram);
        while let Some(result) = self.assembler.pull() {
            match result {
                Ok(jpeg) => {
                    self.stats.frames += 1;
                    self.timers
                        .set(Timer::Silence, now + self.cfg.silence_timeout);
                    self.out.emit(jpeg_event(jpeg));
                }
                Err(why) => {
                    self.stats.frames_dropped += 1;
                    tracing::trace!(%why, "frame dropped");
                }
            }
        }
    }

    fn on_wifi_answer(&mut self, payload: &[u8]) {
        // The camera answers three identical datagrams; the first one settles it.
        if let Some(w) = self.wifi.take() {
            tracing::info!(
                answer_len = payload.len(),
                "camera accepted the Wi-Fi settings and will leave demo mode"
            );
            self.timers.stop(Timer::WifiDeadline);
            self.out.emit(SessionEvent::CommandDone {
                id: w.id,
                result: Ok(()),
            });
            // The camera reboots into station mode: this session is over, and
            // the camera is looked for again through discovery, not retried here.
            self.close(CloseReason::LeftMode("demo mode after Wi-Fi setup"));
        }
    }

    fn start_wifi(&mut self, now: Instant, id: CommandId, ssid: &str, password: &str) {
        if self.wifi.is_some() {
            self.out.emit(SessionEvent::CommandDone {
                id,
                result: Err(CommandError::Busy(
                    "a Wi-Fi setup is already waiting for the camera".into(),
                )),
            });
            return;
        }
        let request = match WifiRequest::new(ssid, password) {
            Ok(r) => r,
            Err(e) => {
                self.out.emit(SessionEvent::CommandDone {
                    id,
                    result: Err(CommandError::BadValue {
                        command: "wifi",
                        reason: e.to_string(),
                    }),
                });
                return;
            }
        };
        let mut bytes = Vec::new();
        request.encode(&mut bytes);
        self.out.send(SocketIx(0), self.cfg.command, bytes.clone());
        let deadline = now + self.cfg.wifi_timeout;
        self.wifi = Some(PendingWifi {
            id,
            request: bytes,
            deadline,
            next_resend: now + WIFI_RESEND,
        });
        self.timers
            .set(Timer::WifiDeadline, deadline.min(now + WIFI_RESEND));
    }

    fn on_wifi_timer(&mut self, now: Instant) {
        let Some(w) = self.wifi.as_mut() else { return };
        if now >= w.deadline {
            let id = w.id;
            self.wifi = None;
            self.out.emit(SessionEvent::CommandDone {
                id,
                result: Err(CommandError::TimedOut {
                    what: format!(
                        "no answer to Wi-Fi setup from {} (is the camera still in demo mode?)",
                        self.cfg.command
                    ),
                    after: self.cfg.wifi_timeout,
                }),
            });
            return;
        }
        if now >= w.next_resend {
            w.next_resend = now + WIFI_RESEND;
            let (dst, bytes) = (self.cfg.command, w.request.clone());
            self.out.send(SocketIx(0), dst, bytes);
        }
        let next = w.deadline.min(w.next_resend);
        self.timers.set(Timer::WifiDeadline, next);
    }
}

impl SessionFactory for DemoConfig {
    fn protocol(&self) -> Protocol {
        Protocol::Demo
    }

    /// One socket serves all three camera ports.
    fn sockets(&self) -> Vec<SocketSpec> {
        vec![SocketSpec::any_for(self.video)]
    }

    fn build(&self, _wall: std::time::SystemTime) -> Box<dyn Session> {
        Box::new(DemoSession::new(self.clone()))
    }

    fn check(&self, command: &CameraCommand) -> Result<(), CommandError> {
        let bad = |command: &'static str, e: super::wire::WifiFieldError| CommandError::BadValue {
            command,
            reason: e.to_string(),
        };
        match command {
            CameraCommand::SetWifi { ssid, password } => WifiRequest::new(ssid, password.expose())
                .map(|_| ())
                .map_err(|e| bad("wifi", e)),
            CameraCommand::StageWifiSsid(ssid) => {
                WifiRequest::check_ssid(ssid).map_err(|e| bad("wifi_ssid", e))
            }
            CameraCommand::StageWifiPassword(pw) => {
                WifiRequest::check_password(pw.expose()).map_err(|e| bad("wifi_password", e))
            }
            _ => Ok(()),
        }
    }
}

impl Session for DemoSession {
    fn start(&mut self, now: Instant) {
        self.send_start(now);
        self.timers
            .set(Timer::Silence, now + self.cfg.silence_timeout);
        self.timers.set(Timer::Stats, now + STATS_EVERY);
    }

    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) -> Handled {
        if matches!(self.state, State::Closed) {
            return Handled::NotMine;
        }
        if d.from == self.cfg.video {
            self.on_video(now, d.from, d.payload);
        } else if d.from == self.cfg.audio {
            self.stats.audio_packets += 1;
            self.stats.audio_bytes += d.payload.len() as u64;
        } else if d.from == self.cfg.command {
            self.on_wifi_answer(d.payload);
        } else {
            self.stats.datagrams_rejected += 1;
            return Handled::NotMine;
        }
        Handled::Mine
    }

    fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.expired(now) {
            match timer {
                Timer::StartRetry => {
                    if let State::AwaitVideo { attempts } = &mut self.state {
                        *attempts += 1;
                        self.send_start(now);
                    }
                }
                Timer::Silence => {
                    self.close(CloseReason::Silent(self.cfg.silence_timeout));
                    return;
                }
                Timer::Stats => {
                    self.report_stats();
                    self.timers.set(Timer::Stats, now + STATS_EVERY);
                }
                Timer::WifiDeadline => self.on_wifi_timer(now),
            }
        }
    }

    fn handle_talk(&mut self, _now: Instant, input: crate::proto::talk::TalkInput) {
        // Demo mode's 8070 port carries the camera's microphone only; no
        // reference knows a way to its speaker.
        if let Some(ev) = crate::proto::no_talk(&input, Protocol::Demo) {
            self.out.emit(ev);
        }
    }

    fn handle_command(&mut self, now: Instant, id: CommandId, command: CameraCommand) {
        let result = match command {
            CameraCommand::SetWifi { ssid, password } => {
                self.start_wifi(now, id, &ssid, password.expose());
                return;
            }
            other => Err(CommandError::Unsupported {
                command: other.name(),
                protocol: Protocol::Demo,
            }),
        };
        self.out.emit(SessionEvent::CommandDone { id, result });
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
        matches!(self.state, State::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn session(audio: AudioStart) -> DemoSession {
        let mut cfg = DemoConfig::new(
            addr("127.0.0.2:8080"),
            addr("127.0.0.2:8070"),
            addr("127.0.0.2:8090"),
            |_| true,
        );
        cfg.audio_start = audio;
        DemoSession::new(cfg)
    }

    /// `pppp.md` §5 and the forum scripts: `42 76` to the video port starts the
    /// stream; the first scripts sent `30 67` then `30 66` to the audio port.
    #[test]
    fn start_sends_the_documented_bytes_and_repeats_until_video_arrives() {
        let t0 = crate::proto::testing::t0();
        let mut s = session(AudioStart::Request);
        s.start(t0);
        let sent: Vec<(SocketAddr, Vec<u8>)> = std::iter::from_fn(|| s.poll_transmit())
            .map(|t| (t.dst, t.payload))
            .collect();
        assert_eq!(
            sent,
            vec![
                (addr("127.0.0.2:8080"), vec![0x42, 0x76]),
                (addr("127.0.0.2:8070"), vec![0x30, 0x67]),
                (addr("127.0.0.2:8070"), vec![0x30, 0x66]),
            ]
        );
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        s.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(s.poll_transmit().map(|t| t.payload), Some(vec![0x42, 0x76]));

        let mut quiet = session(AudioStart::Off);
        quiet.start(t0);
        assert_eq!(std::iter::from_fn(|| quiet.poll_transmit()).count(), 1);
    }

    #[test]
    fn datagrams_from_strangers_are_not_mine_and_counted() {
        let t0 = crate::proto::testing::t0();
        let mut s = session(AudioStart::Off);
        s.start(t0);
        let d = Datagram {
            socket: SocketIx(0),
            from: addr("127.0.0.9:8080"),
            payload: &[1, 2, 3],
        };
        assert_eq!(s.handle_datagram(t0, d), Handled::NotMine);
        let d = Datagram {
            socket: SocketIx(0),
            from: addr("127.0.0.2:8080"),
            payload: &[1, 2, 3],
        };
        assert_eq!(s.handle_datagram(t0, d), Handled::Mine);
        s.handle_timeout(t0 + STATS_EVERY);
        let stats = std::iter::from_fn(|| s.poll_event()).find_map(|e| match e {
            SessionEvent::Stats(st) => Some(st),
            _ => None,
        });
        assert_eq!(stats.map(|s| s.datagrams_rejected), Some(2));
    }
}
