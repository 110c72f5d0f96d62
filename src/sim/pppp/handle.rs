//! What tests see of a running [`super::PpppCamera`]: the commands it
//! executed ([`ReceivedCommand`]), its switches, counters and frames, and its
//! controls, [`PpppCameraHandle::set_paused`] and
//! [`PpppCameraHandle::set_video_stalled`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::proto::pppp::dialect::binary::WifiSettings;
use crate::proto::pppp::dialect::Password;
use crate::sim::pattern::FrameCache;

/// Most commands the handle keeps (the oldest go first).
pub const MAX_COMMAND_LOG: usize = 4096;
/// Most resolution changes remembered for [`PpppCameraHandle::frame_bytes`].
const MAX_RESOLUTION_LOG: usize = 1024;

/// The two picture sizes these cameras have (`pppp.md` §3.4: "1080p" claims
/// are false).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Resolution {
    /// 640x480 (JSON `video:1`, binary value 1 or 2).
    #[default]
    Vga,
    /// 320x240 (JSON `video:2`, binary value 0).
    Qvga,
}

impl Resolution {
    /// Width and height in pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Self::Vga => (640, 480),
            Self::Qvga => (320, 240),
        }
    }

    pub(super) fn slot(self) -> usize {
        match self {
            Self::Vga => 0,
            Self::Qvga => 1,
        }
    }
}

/// A stream request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRequest {
    /// Start (or keep) video at this size.
    Video(Resolution),
    /// Stop video.
    VideoStop,
    /// Audio on or off.
    Audio(bool),
}

/// A pan/tilt request, from either dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtzMove {
    /// Start tilting up.
    Up,
    /// Start tilting down.
    Down,
    /// Start panning left.
    Left,
    /// Start panning right.
    Right,
    /// Stop moving (JSON: an odd `value`, binary: direction 12).
    Stop,
    /// Go to the home position (JSON `parms:1, value:132`).
    Home,
    /// Anything else: JSON `(parms, value)`, binary `(param_type, value)`.
    Other(i64, i64),
}

/// Wi-Fi settings a client gave the camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiRecord {
    /// Network name.
    pub ssid: String,
    /// Network password (redacted in `Debug`).
    pub password: Password,
    /// Channel (binary `chan`, CGI `channel`; JSON has none).
    pub channel: Option<u32>,
    /// Authentication (binary `auth`, CGI `authtype`; JSON has none).
    pub auth: Option<u32>,
    /// The whole 0x108-byte struct of a binary NET_WIFISETTING_SET.
    pub settings: Option<Box<WifiSettings>>,
}

/// A command the camera received and acted on, in any dialect. Commands
/// refused for bad credentials or a wrong ticket are not listed (see
/// [`PpppCameraHandle::refused_commands`]); login attempts always are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedCommand {
    /// A login (JSON check_user, binary USER_CHK, CGI check_user.cgi).
    Login {
        /// The user name sent.
        user: String,
        /// Whether the camera accepted it.
        accepted: bool,
    },
    /// JSON get_parms, binary SYSTEM_STATUS_GET.
    GetParams,
    /// JSON stream, binary LIVEVIDEO_START/STOP and LIVEAUDIO_START/STOP,
    /// CGI livestream.cgi.
    Stream(StreamRequest),
    /// Binary VIDEOPARAM_SET of the resolution.
    Resolution(Resolution),
    /// JSON set_wifi, binary NET_WIFISETTING_SET, CGI set_wifi.cgi.
    SetWifi(WifiRecord),
    /// JSON scan_wifi, binary NET_WIFI_SCAN.
    WifiScan,
    /// JSON dev_control `icut`, CGI camera_control param 14.
    IrCut(bool),
    /// Binary IRCUT_ONOFF (a toggle).
    IrToggle,
    /// JSON dev_control `lamp`.
    Light(bool),
    /// Binary LIGHTFILL_ONOFF (a toggle).
    LightToggle,
    /// JSON set_whiteLight.
    WhiteLight(bool),
    /// JSON dev_control `reboot`, binary SYSTEM_REBOOT, CGI reboot.cgi.
    Reboot,
    /// JSON ptz_control, binary PTZ passthrough.
    Ptz(PtzMove),
    /// JSON set_datetime, binary SYSTEM_DATETIME_SET.
    DateTime {
        /// Seconds since the epoch.
        time: i64,
        /// Time-zone offset as sent.
        tz: i64,
    },
    /// Anything else, as received: the channel-0 message bytes (for JSON the
    /// whole block, for binary the whole frame, for CGI the whole frame).
    Other(Vec<u8>),
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client sent CLOSE.
    ClientClosed,
    /// Nothing from the client for the silence limit (5 s).
    Silent,
    /// The camera closed it (quirk `close_after`).
    CameraClosed,
    /// The camera rebooted (reboot command, or after Wi-Fi setup).
    Reboot,
    /// A new handshake replaced it (one session at a time): another client,
    /// or the same address starting over.
    Replaced,
}

/// The switches a client can flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Switches {
    pub resolution: Resolution,
    pub ir_cut: bool,
    pub light: bool,
    pub white_light: bool,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub frames_sent: AtomicU64,
    pub audio_packets_sent: AtomicU64,
    pub sessions_established: AtomicU64,
    pub lan_searches_answered: AtomicU64,
    pub ignored_datagrams: AtomicU64,
    pub retransmissions: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub refused_commands: AtomicU64,
    pub reboots: AtomicU64,
    pub acks_sent: AtomicU64,
}

#[derive(Debug, Default)]
pub(super) struct Log {
    pub commands: VecDeque<ReceivedCommand>,
    pub switches: Switches,
    pub peer: Option<SocketAddr>,
    pub last_end: Option<SessionEnd>,
    pub last_frame: Option<u64>,
    /// (first frame number, resolution), oldest first.
    pub resolutions: VecDeque<(u64, Resolution)>,
    /// Talk audio received, oldest first.
    pub playbacks: VecDeque<crate::sim::playback::Playback>,
}

/// State shared between the camera and its handles.
#[derive(Debug)]
pub(super) struct Shared {
    pub paused: AtomicBool,
    /// The video encoder hangs: no frames, everything else as usual.
    pub video_stalled: AtomicBool,
    pub counters: Counters,
    pub log: Mutex<Log>,
    /// Frame caches by [`Resolution::slot`].
    pub caches: [FrameCache; 2],
}

/// Locks a mutex, ignoring poisoning (the data stays usable).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn new(caches: [FrameCache; 2], switches: Switches) -> Self {
        Self {
            paused: AtomicBool::new(false),
            video_stalled: AtomicBool::new(false),
            counters: Counters::default(),
            log: Mutex::new(Log {
                switches,
                ..Log::default()
            }),
            caches,
        }
    }

    pub fn record(&self, cmd: ReceivedCommand) {
        let mut log = lock(&self.log);
        if log.commands.len() >= MAX_COMMAND_LOG {
            log.commands.pop_front();
        }
        log.commands.push_back(cmd);
    }

    /// Changes the current (newest) playback.
    pub fn with_playback(&self, f: impl FnOnce(&mut crate::sim::playback::Playback)) {
        if let Some(p) = lock(&self.log).playbacks.back_mut() {
            f(p);
        }
    }

    /// Starts a playback record.
    pub fn new_playback(&self, at: std::time::Instant) {
        let mut log = lock(&self.log);
        if log.playbacks.len() >= crate::sim::playback::MAX_PLAYBACKS {
            log.playbacks.pop_front();
        }
        let mut p = crate::sim::playback::Playback::new(at);
        // No DTLS and no login on PPPP: the talk command is the whole setup.
        p.dtls_connected = true;
        p.logged_in = true;
        log.playbacks.push_back(p);
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes that frame `n` was produced at `resolution`.
    pub fn frame_made(&self, n: u64, resolution: Resolution) {
        let mut log = lock(&self.log);
        log.last_frame = Some(n);
        if log.resolutions.back().map(|r| r.1) != Some(resolution) {
            if log.resolutions.len() >= MAX_RESOLUTION_LOG {
                log.resolutions.pop_front();
            }
            log.resolutions.push_back((n, resolution));
        }
    }
}

/// Observes and controls a [`super::PpppCamera`] from tests, also while it
/// runs in a driver task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PpppCameraHandle {
    pub(super) shared: Arc<Shared>,
}

impl PpppCameraHandle {
    fn count(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Talk audio received, oldest first.
    pub fn playbacks(&self) -> Vec<crate::sim::playback::Playback> {
        lock(&self.shared.log).playbacks.iter().cloned().collect()
    }

    /// The newest playback, if any.
    pub fn last_playback(&self) -> Option<crate::sim::playback::Playback> {
        lock(&self.shared.log).playbacks.back().cloned()
    }

    /// Pauses or resumes the camera. Paused, it hears nothing and sends
    /// nothing at all (queued datagrams are discarded), like a camera that
    /// lost power or Wi-Fi. Its state is kept, so a pause shorter than the
    /// 5 s silence limit is a hiccup the session survives (unacked packets
    /// are resent, missed frames skipped), and a longer one ends the session
    /// as soon as the camera resumes: the client must then search and
    /// handshake again.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    /// Stalls or resumes the camera's video alone: stalled, it sends no
    /// frames but keeps its session (acks, keepalives, command replies), as a
    /// camera whose encoder hung while its network stayed up. A bridge must
    /// call such a camera unhealthy from the missing frames, not from its
    /// session.
    pub fn set_video_stalled(&self, stalled: bool) {
        self.shared.video_stalled.store(stalled, Ordering::SeqCst);
    }

    /// Whether the camera is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// Every command executed (and every login attempt), oldest first, at
    /// most [`MAX_COMMAND_LOG`].
    pub fn commands(&self) -> Vec<ReceivedCommand> {
        lock(&self.shared.log).commands.iter().cloned().collect()
    }

    /// The most recent Wi-Fi settings received.
    pub fn last_wifi(&self) -> Option<WifiRecord> {
        lock(&self.shared.log)
            .commands
            .iter()
            .rev()
            .find_map(|c| match c {
                ReceivedCommand::SetWifi(w) => Some(w.clone()),
                _ => None,
            })
    }

    /// The current picture size.
    pub fn resolution(&self) -> Resolution {
        lock(&self.shared.log).switches.resolution
    }

    /// Whether night mode (IR-cut) is on.
    pub fn ir_cut(&self) -> bool {
        lock(&self.shared.log).switches.ir_cut
    }

    /// Whether the lamp / fill light is on (JSON `lamp`, binary LIGHTFILL).
    pub fn light(&self) -> bool {
        lock(&self.shared.log).switches.light
    }

    /// Whether the white light is on (JSON set_whiteLight).
    pub fn white_light(&self) -> bool {
        lock(&self.shared.log).switches.white_light
    }

    /// The client of the current session, if there is one.
    pub fn peer(&self) -> Option<SocketAddr> {
        lock(&self.shared.log).peer
    }

    /// Whether a session is up.
    pub fn session_active(&self) -> bool {
        self.peer().is_some()
    }

    /// Why the last session ended.
    pub fn last_session_end(&self) -> Option<SessionEnd> {
        lock(&self.shared.log).last_end
    }

    /// Handshakes that started a session.
    pub fn sessions_established(&self) -> u64 {
        Self::count(&self.shared.counters.sessions_established)
    }

    /// Video frames whose last packet has been handed to the driver.
    pub fn frames_sent(&self) -> u64 {
        Self::count(&self.shared.counters.frames_sent)
    }

    /// The number of the most recent video frame produced.
    pub fn last_frame_number(&self) -> Option<u64> {
        lock(&self.shared.log).last_frame
    }

    /// The exact JPEG of frame `n` (without the 32-byte header), at the
    /// resolution the camera produced it in (the current one for frames not
    /// produced yet or too old to be remembered).
    pub fn frame_bytes(&self, n: u64) -> Vec<u8> {
        let resolution = {
            let log = lock(&self.shared.log);
            log.resolutions
                .iter()
                .rev()
                .find(|(first, _)| *first <= n)
                .map_or(log.switches.resolution, |r| r.1)
        };
        self.shared.caches[resolution.slot()].frame(n)
    }

    /// JPEG encodes so far (at most the cache size per resolution, however
    /// many frames were sent).
    pub fn renders(&self) -> u64 {
        self.shared.caches.iter().map(FrameCache::renders).sum()
    }

    /// Audio packets handed to the driver (ADPCM on channel 2 or A-law on 1).
    pub fn audio_packets_sent(&self) -> u64 {
        Self::count(&self.shared.counters.audio_packets_sent)
    }

    /// LAN searches answered with a PunchPkt.
    pub fn lan_searches_answered(&self) -> u64 {
        Self::count(&self.shared.counters.lan_searches_answered)
    }

    /// Datagrams ignored: another obfuscation, undecodable, wrong UID, or not
    /// from the session's peer.
    pub fn ignored_datagrams(&self) -> u64 {
        Self::count(&self.shared.counters.ignored_datagrams)
    }

    /// DRW packets sent again because no ack came (quirk resends not counted).
    pub fn retransmissions(&self) -> u64 {
        Self::count(&self.shared.counters.retransmissions)
    }

    /// Media frames dropped from the send buffer because the client did not ack.
    pub fn frames_dropped(&self) -> u64 {
        Self::count(&self.shared.counters.frames_dropped)
    }

    /// Commands refused for bad credentials, a wrong ticket or no login.
    pub fn refused_commands(&self) -> u64 {
        Self::count(&self.shared.counters.refused_commands)
    }

    /// Reboots (commanded, or after Wi-Fi setup).
    pub fn reboots(&self) -> u64 {
        Self::count(&self.shared.counters.reboots)
    }

    /// DRW_ACK datagrams sent (copies included).
    pub fn acks_sent(&self) -> u64 {
        Self::count(&self.shared.counters.acks_sent)
    }
}
