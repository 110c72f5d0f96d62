//! What tests see of a running [`super::TutkCamera`]: the K-commands it
//! received ([`ReceivedCommand`]), its settings, the frames it sent
//! ([`SentFrame`]), counters, and the one control,
//! [`TutkCameraHandle::set_paused`].

use crate::proto::tutk::kcmd::FrameSize;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most commands and frames the handle keeps (the oldest go first).
pub const MAX_LOG: usize = 4096;

/// A K-command the camera received (once per command sequence; resends of
/// the same `cmd_seq` are counted in [`TutkCameraHandle::duplicate_commands`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCommand {
    /// The K-command id (10000, 10056, …).
    pub command: u16,
    /// The IOCTRL command sequence.
    pub cmd_seq: u16,
    /// The HL payload.
    pub payload: Vec<u8>,
}

/// A video frame the camera sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentFrame {
    /// FRAMEINFO frame number.
    pub frame_no: u32,
    /// Its size.
    pub size: FrameSize,
    /// I-frame (channel 0x05, keyframe flag).
    pub keyframe: bool,
    /// Bytes of the access unit.
    pub len: usize,
    /// Pieces it was cut into.
    pub pieces: u16,
    /// Its place in the clip the camera loops over.
    pub index: usize,
    /// When it was sent (for latency figures).
    pub sent_at: std::time::Instant,
}

pub use crate::sim::playback::{Playback, MAX_PLAYBACKS, MAX_PLAYBACK_SAMPLES};

/// How the last K-auth ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// K10003 `connectionRes` "1".
    Accepted,
    /// K10003 `connectionRes` "2" (wrong answer, or a status that takes none).
    Rejected,
}

/// Settings a client can change, and what the camera streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Current frame size.
    pub resolution: FrameSize,
    /// Night vision: 1 on, 2 off, 3 auto.
    pub night_vision: u8,
    /// IR LED: 1 on, 2 off.
    pub ir_led: u8,
    /// Status light: 1 on, 2 off.
    pub status_light: u8,
    /// Video streaming.
    pub video: bool,
    /// Audio streaming.
    pub audio: bool,
}

impl Settings {
    pub(super) fn new(resolution: FrameSize) -> Self {
        Self {
            resolution,
            night_vision: 3,
            ir_led: 2,
            status_light: 1,
            video: false,
            audio: false,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(super) struct Counters {
    pub sessions: u64,
    pub discos_answered: u64,
    pub discos_dropped: u64,
    pub ignored_datagrams: u64,
    pub keepalives_sent: u64,
    pub keepalive_replies: u64,
    pub dtls_connected: u64,
    pub dtls_failed: u64,
    pub logins_accepted: u64,
    pub logins_rejected: u64,
    pub acks_received: u64,
    pub duplicate_commands: u64,
    pub audio_frames: u64,
    pub video_frames: u64,
    pub sessions_expired: u64,
}

#[derive(Debug)]
pub(super) struct Log {
    pub commands: VecDeque<ReceivedCommand>,
    pub frames: VecDeque<SentFrame>,
    pub settings: Settings,
    pub counters: Counters,
    pub peer: Option<SocketAddr>,
    pub last_auth: Option<AuthOutcome>,
    /// The AV login's `resend` flag.
    pub resend: Option<u32>,
    /// Intercom playbacks, oldest first.
    pub playbacks: VecDeque<Playback>,
}

/// State shared between the camera and its handles.
#[derive(Debug)]
pub(super) struct Shared {
    pub paused: AtomicBool,
    pub log: Mutex<Log>,
}

impl Shared {
    pub fn new(settings: Settings) -> Self {
        Self {
            paused: AtomicBool::new(false),
            log: Mutex::new(Log {
                commands: VecDeque::new(),
                frames: VecDeque::new(),
                settings,
                counters: Counters::default(),
                peer: None,
                last_auth: None,
                resend: None,
                playbacks: VecDeque::new(),
            }),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Log> {
        // A poisoned lock only means a test thread panicked holding it; the
        // log is still readable.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.lock().counters);
    }

    pub fn record(&self, cmd: ReceivedCommand) {
        let mut l = self.lock();
        if l.commands.len() >= MAX_LOG {
            l.commands.pop_front();
        }
        l.commands.push_back(cmd);
    }

    /// Changes the current (newest) playback.
    pub fn with_playback(&self, f: impl FnOnce(&mut Playback)) {
        if let Some(p) = self.lock().playbacks.back_mut() {
            f(p);
        }
    }

    pub fn frame(&self, f: SentFrame) {
        let mut l = self.lock();
        if l.frames.len() >= MAX_LOG {
            l.frames.pop_front();
        }
        l.frames.push_back(f);
        l.counters.video_frames += 1;
    }
}

/// Test and status access to a simulated Wyze camera (cheap to clone).
#[derive(Debug, Clone)]
pub struct TutkCameraHandle {
    pub(super) shared: Arc<Shared>,
}

impl TutkCameraHandle {
    /// Pauses (the camera hears and sends nothing, as a camera that lost
    /// power or Wi-Fi) or resumes it.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::Relaxed);
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Relaxed)
    }

    /// Every K-command received, oldest first.
    pub fn commands(&self) -> Vec<ReceivedCommand> {
        self.shared.lock().commands.iter().cloned().collect()
    }

    /// The K-commands received with this id.
    pub fn commands_with_id(&self, command: u16) -> Vec<ReceivedCommand> {
        self.shared
            .lock()
            .commands
            .iter()
            .filter(|c| c.command == command)
            .cloned()
            .collect()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.shared.lock().settings
    }

    /// The current frame size.
    pub fn resolution(&self) -> FrameSize {
        self.settings().resolution
    }

    /// Night vision (1 on, 2 off, 3 auto).
    pub fn night_vision(&self) -> u8 {
        self.settings().night_vision
    }

    /// IR LED (1 on, 2 off).
    pub fn ir_led(&self) -> u8 {
        self.settings().ir_led
    }

    /// Status light (1 on, 2 off).
    pub fn status_light(&self) -> u8 {
        self.settings().status_light
    }

    /// Video frames sent, oldest first (the last [`MAX_LOG`]).
    pub fn frames(&self) -> Vec<SentFrame> {
        self.shared.lock().frames.iter().copied().collect()
    }

    /// Video frames sent in all.
    pub fn frames_sent(&self) -> u64 {
        self.shared.lock().counters.video_frames
    }

    /// Audio frames sent.
    pub fn audio_frames_sent(&self) -> u64 {
        self.shared.lock().counters.audio_frames
    }

    /// Sessions begun (Disco answered for a new client).
    pub fn sessions(&self) -> u64 {
        self.shared.lock().counters.sessions
    }

    /// Sessions forgotten after the client fell silent.
    pub fn sessions_expired(&self) -> u64 {
        self.shared.lock().counters.sessions_expired
    }

    /// The current client's address.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.shared.lock().peer
    }

    /// Disco requests answered (including retransmissions).
    pub fn discos_answered(&self) -> u64 {
        self.shared.lock().counters.discos_answered
    }

    /// Disco requests dropped by [`super::TutkQuirks::drop_first_discos`].
    pub fn discos_dropped(&self) -> u64 {
        self.shared.lock().counters.discos_dropped
    }

    /// Datagrams ignored (other transport, wrong AuthKey or tag, another
    /// session, undecodable).
    pub fn ignored_datagrams(&self) -> u64 {
        self.shared.lock().counters.ignored_datagrams
    }

    /// Keepalives the camera sent.
    pub fn keepalives_sent(&self) -> u64 {
        self.shared.lock().counters.keepalives_sent
    }

    /// Keepalive answers received.
    pub fn keepalive_replies(&self) -> u64 {
        self.shared.lock().counters.keepalive_replies
    }

    /// DTLS handshakes completed.
    pub fn dtls_connected(&self) -> u64 {
        self.shared.lock().counters.dtls_connected
    }

    /// DTLS handshakes that failed (wrong PSK, timeout).
    pub fn dtls_failed(&self) -> u64 {
        self.shared.lock().counters.dtls_failed
    }

    /// AV logins accepted.
    pub fn logins_accepted(&self) -> u64 {
        self.shared.lock().counters.logins_accepted
    }

    /// AV logins rejected.
    pub fn logins_rejected(&self) -> u64 {
        self.shared.lock().counters.logins_rejected
    }

    /// The `resend` flag of the last accepted AV login.
    pub fn login_resend(&self) -> Option<u32> {
        self.shared.lock().resend
    }

    /// AV ACKs (`0x0009`) received: the client's liveness.
    pub fn acks_received(&self) -> u64 {
        self.shared.lock().counters.acks_received
    }

    /// IOCTRL resends (same command and sequence) answered again.
    pub fn duplicate_commands(&self) -> u64 {
        self.shared.lock().counters.duplicate_commands
    }

    /// How the last K-auth ended.
    pub fn last_auth(&self) -> Option<AuthOutcome> {
        self.shared.lock().last_auth
    }

    /// Intercom playbacks received, oldest first.
    pub fn playbacks(&self) -> Vec<Playback> {
        self.shared.lock().playbacks.iter().cloned().collect()
    }

    /// The newest playback, if any.
    pub fn last_playback(&self) -> Option<Playback> {
        self.shared.lock().playbacks.back().cloned()
    }
}
