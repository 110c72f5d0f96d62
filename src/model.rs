//! Shared domain types: who a camera is, what it can do, what we ask of it and
//! what it sends back. Protocol-neutral; every layer speaks these.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Topic-safe camera id (`[a-z0-9_-]`), unique within one bridge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CameraId(String);

impl CameraId {
    /// Validates `s` as an id: 1–64 characters of `a-z A-Z 0-9 _ -`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 64 {
            return Err(format!(
                "camera id must be 1-64 characters, got {}",
                s.len()
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(format!(
                "camera id {s:?} contains {c:?}; use only letters, digits, '_' and '-'"
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// Derives an id from any text (UID, address) by lower-casing and mapping
    /// every other character to `_`.
    pub fn derive(text: &str) -> Self {
        let mut id = fold_to_id_chars(text);
        id.truncate(64);
        if id.is_empty() {
            id.push_str("camera");
        }
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` lower-cased, with every character but ASCII letters and digits
/// turned into `_`: what camera ids and Home Assistant object ids accept.
pub fn fold_to_id_chars(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl fmt::Display for CameraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which protocol a camera speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// A9 "demo mode": plain UDP MJPEG on 8080, audio 8070, Wi-Fi setup 8090.
    Demo,
    /// CS2 PPPP ("Little Stars", "HDWiFiCamPro").
    Pppp,
    /// ThroughTek TUTK/IOTC (Wyze).
    Tutk,
}

impl Protocol {
    /// Lower-case name as used in config and topics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Pppp => "pppp",
            Self::Tutk => "tutk",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "demo" => Ok(Self::Demo),
            "pppp" => Ok(Self::Pppp),
            "tutk" => Ok(Self::Tutk),
            other => Err(format!(
                "unknown protocol {other:?}; expected demo, pppp or tutk"
            )),
        }
    }
}

/// Something a camera can do; decides its commands and Home Assistant entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Delivers pictures we can publish as snapshots (and change the interval of).
    Snapshot,
    /// Can be told to join a Wi-Fi network.
    Wifi,
    /// Has selectable resolutions.
    Resolution,
    /// Night vision / IR cut control: `on` and `off`.
    NightVision,
    /// Its night vision also takes `auto` (the camera decides); only with
    /// [`Capability::NightVision`].
    NightVisionAuto,
    /// A light or status LED that can be switched.
    Light,
    /// Infrared LEDs that can be switched on and off (Wyze `irled`).
    IrLed,
    /// Can be rebooted remotely.
    Reboot,
    /// Pan/tilt motor.
    Ptz,
    /// Has a speaker we can send audio to.
    Intercom,
    /// Reports its Wi-Fi signal strength in dBm (`signal_dbm`).
    Signal,
    /// Reports its Wi-Fi signal quality as a percentage (`signal_percent`).
    SignalPercent,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 12] = [
        Self::Snapshot,
        Self::Wifi,
        Self::Resolution,
        Self::NightVision,
        Self::NightVisionAuto,
        Self::Light,
        Self::IrLed,
        Self::Reboot,
        Self::Ptz,
        Self::Intercom,
        Self::Signal,
        Self::SignalPercent,
    ];

    /// What a camera without this capability lacks, for error texts
    /// ("this camera has no …").
    pub fn missing(self) -> &'static str {
        match self {
            Self::Snapshot => "picture stream",
            Self::Wifi => "Wi-Fi setup",
            Self::Resolution => "selectable resolution",
            Self::NightVision => "night-vision control",
            Self::NightVisionAuto => "automatic night vision",
            Self::Light => "light",
            Self::IrLed => "switchable infrared LEDs",
            Self::Reboot => "remote reboot",
            Self::Ptz => "pan/tilt motor",
            Self::Intercom => "speaker",
            Self::Signal | Self::SignalPercent => "signal report",
        }
    }
}

/// The static description of a camera: identity and capabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraInfo {
    /// Topic id.
    pub id: CameraId,
    /// Stable hardware identity used in HA `unique_id`s (UID, MAC or address-derived).
    pub uid: String,
    /// Display name.
    pub name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// How it is reached: an address, or a UID (PPPP, TUTK) with the address last seen.
    pub reach: Reach,
    /// Model, when known before connecting.
    pub model: String,
    /// Firmware version, when known.
    pub firmware: Option<String>,
    /// MAC address, when known.
    pub mac: Option<String>,
    /// Selectable resolutions (for the resolution select), when known.
    pub resolutions: Vec<String>,
    /// What it can do.
    pub capabilities: Vec<Capability>,
}

impl CameraInfo {
    /// A PPPP camera `id` (UID `UID-<id>`, named `id`, snapshots only) for
    /// tests.
    #[cfg(test)]
    pub fn fixture(id: &str) -> Self {
        Self {
            id: CameraId::parse(id).unwrap(),
            uid: format!("UID-{id}"),
            name: id.into(),
            protocol: Protocol::Pppp,
            reach: Reach::Host("127.0.0.1:32108".parse().unwrap()),
            model: "m".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot],
        }
    }

    /// Whether `name` names this camera: its id, or its UID in any case,
    /// with or without hyphens (`DGOA-424242-SIMCA`, `dgoa424242simca`).
    /// The one rule the CLI and the HTTP API share (MQTT topics use ids).
    pub fn answers_to(&self, name: &str) -> bool {
        if self.id.as_str() == name {
            return true;
        }
        let fold = |s: &str| -> String {
            s.chars()
                .filter(|c| *c != '-')
                .flat_map(char::to_uppercase)
                .collect()
        };
        !self.uid.is_empty() && !name.is_empty() && fold(&self.uid) == fold(name)
    }

    /// True if the camera offers `cap`.
    pub fn can(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }

    /// The address to talk to now, if one is known.
    pub fn address(&self) -> Option<SocketAddr> {
        self.reach.address()
    }

    /// The night-vision modes the camera accepts (empty without
    /// [`Capability::NightVision`]): what its select offers and what a bad
    /// value's error lists.
    pub fn night_vision_modes(&self) -> &'static [NightVision] {
        if !self.can(Capability::NightVision) {
            &[]
        } else if self.can(Capability::NightVisionAuto) {
            &NightVision::ALL
        } else {
            &NightVision::ON_OFF
        }
    }
}

/// How a camera is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// At a fixed address (demo mode, or a static `host`).
    Host(SocketAddr),
    /// By its UID, found through a LAN search or the cloud; the address it was
    /// last seen at, if any, is only a hint (DHCP may move it).
    Uid {
        /// The UID as the camera reports it.
        uid: String,
        /// Where it answered last.
        last_known: Option<SocketAddr>,
    },
}

impl Reach {
    /// The address to talk to now, if one is known.
    pub fn address(&self) -> Option<SocketAddr> {
        match self {
            Self::Host(a) => Some(*a),
            Self::Uid { last_known, .. } => *last_known,
        }
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(a) => write!(f, "{a}"),
            Self::Uid {
                uid,
                last_known: Some(a),
            } => write!(f, "{uid} at {a}"),
            Self::Uid {
                uid,
                last_known: None,
            } => write!(f, "{uid}"),
        }
    }
}

/// What a session learnt once connected (firmware, resolutions…).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CameraDetails {
    /// Model reported by the camera.
    pub model: Option<String>,
    /// Firmware version reported by the camera.
    pub firmware: Option<String>,
    /// Current resolution, e.g. `640x480`.
    pub resolution: Option<String>,
    /// Resolutions the camera offers.
    pub resolutions: Vec<String>,
    /// Night-vision mode, where the camera reports it.
    pub night_vision: Option<NightVision>,
    /// Light on or off, where the camera reports it.
    pub light: Option<bool>,
    /// Infrared LEDs on or off, where the camera reports it.
    pub ir_led: Option<bool>,
    /// Wi-Fi signal strength in dBm, where the camera reports it so.
    pub signal_dbm: Option<i32>,
    /// Wi-Fi signal quality in percent (0–100), where the camera reports it so.
    pub signal_percent: Option<u8>,
    /// Whether the camera takes intercom audio (a Wyze camera says so in
    /// its login answer); `Some(true)` gives it [`Capability::Intercom`].
    pub speaker: Option<bool>,
}

/// Video codec of an encoded access unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
}

/// Audio encoding of a received chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    /// Signed 16-bit little-endian PCM.
    PcmS16Le,
    /// IMA/DVI ADPCM, 4 bits per sample, high nibble first. Each chunk
    /// (one `MediaFrame::Audio`, one camera packet) decodes from a fresh
    /// state (predictor 0, step index 0), as PPPP cameras encode it; decode
    /// with `media::audio::codec::decode`.
    ImaAdpcm,
    /// G.711 A-law.
    Alaw,
    /// G.711 μ-law.
    Mulaw,
    /// AAC (ADTS).
    Aac,
}

/// The audio a camera's speaker takes (intercom), decided by its session and
/// produced by `media::audio`: one frame = `samples_per_frame` mono samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalkFormat {
    /// Encoding.
    pub codec: AudioCodec,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Samples in one frame (one packet to the camera).
    pub samples_per_frame: usize,
}

impl TalkFormat {
    /// How long one frame plays.
    pub fn frame_duration(&self) -> Duration {
        let samples = u64::try_from(self.samples_per_frame).unwrap_or(u64::MAX);
        Duration::from_micros(
            samples.saturating_mul(1_000_000) / u64::from(self.sample_rate.max(1)),
        )
    }
}

/// One encoded video access unit (a whole frame) from a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Codec.
    pub codec: VideoCodec,
    /// Whether decoding can start here (an IDR / IRAP picture with its parameter sets).
    pub keyframe: bool,
    /// The camera's presentation time (from its own clock; only differences matter).
    pub timestamp: Duration,
    /// Annex-B bytes.
    pub data: Bytes,
}

/// Checks that a byte string is a complete picture (e.g. that a JPEG decodes).
/// Injected into protocol cores, which must not depend on `media`.
pub type FrameValidator = fn(&[u8]) -> bool;

/// A complete media unit out of a session.
#[derive(Debug, Clone)]
pub enum MediaFrame {
    /// A verified, complete JPEG picture.
    Jpeg(Bytes),
    /// An encoded video access unit.
    Video(VideoFrame),
    /// One or more video frames were lost: frames that depend on them cannot be
    /// decoded until the next keyframe.
    VideoLost,
    /// A chunk of received audio.
    Audio {
        /// Encoding.
        codec: AudioCodec,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// Encoded bytes.
        data: Bytes,
    },
}

/// What an intercom playback did, reported with its result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaybackReport {
    /// Audio sent to the camera.
    pub played: Duration,
    /// Length of the audio that was to be played (for push-to-talk: what
    /// arrived).
    pub duration: Duration,
    /// Ended by `stop` (or replaced) before its end.
    pub stopped: bool,
}

impl PlaybackReport {
    /// The report as the event topic shows it (seconds, millisecond
    /// precision).
    pub fn to_json(&self) -> serde_json::Value {
        let secs = |d: Duration| (d.as_millis() as f64) / 1000.0;
        serde_json::json!({
            "played_s": secs(self.played),
            "duration_s": secs(self.duration),
            "stopped": self.stopped,
        })
    }
}

/// Where intercom audio comes from.
#[derive(Debug, Clone)]
pub enum IntercomSource {
    /// Audio file bytes.
    File(Bytes),
    /// A URL to fetch.
    Url(String),
    /// Push-to-talk: audio as it is spoken.
    Live(LiveAudio),
    /// A text for Home Assistant's text-to-speech (`set/say`).
    Say(String),
}

impl IntercomSource {
    /// The command that asked for it.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Say(_) => CommandKind::Say,
            _ => CommandKind::Intercom,
        }
    }
}

/// Push-to-talk audio as it arrives (from the web UI's microphone): mono
/// 16-bit chunks at `rate`, ending when the sender is dropped. The stream
/// is taken once, by whoever plays it.
#[derive(Clone)]
pub struct LiveAudio {
    /// Samples per second of the chunks.
    pub rate: u32,
    stream: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<Vec<i16>>>>>,
}

impl LiveAudio {
    /// Audio at `rate` from `stream`.
    pub fn new(rate: u32, stream: tokio::sync::mpsc::Receiver<Vec<i16>>) -> Self {
        Self {
            rate,
            stream: std::sync::Arc::new(std::sync::Mutex::new(Some(stream))),
        }
    }

    /// The stream, the first time it is asked for.
    pub fn take(&self) -> Option<tokio::sync::mpsc::Receiver<Vec<i16>>> {
        self.stream.lock().ok()?.take()
    }
}

impl fmt::Debug for LiveAudio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LiveAudio({} Hz)", self.rate)
    }
}

/// What a playback request does while another one runs on the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaybackMode {
    /// Refuse with `busy` (the default).
    #[default]
    Refuse,
    /// Play after the ones before it (a few may wait).
    Queue,
    /// Stop what plays (and drop what waits), then play this.
    Replace,
}

/// A playback request: `set/intercom` with a file or a URL.
#[derive(Debug, Clone)]
pub struct IntercomRequest {
    /// The audio.
    pub source: IntercomSource,
    /// Gain, 0.0–2.0 (1.0 unchanged).
    pub volume: f32,
    /// While another playback runs.
    pub mode: PlaybackMode,
}

impl IntercomRequest {
    /// A request at normal volume that is refused while another plays.
    pub fn new(source: IntercomSource) -> Self {
        Self {
            source,
            volume: 1.0,
            mode: PlaybackMode::Refuse,
        }
    }
}

/// Night-vision mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NightVision {
    /// IR on.
    On,
    /// IR off.
    Off,
    /// Camera decides.
    Auto,
}

impl NightVision {
    /// Every mode.
    pub const ALL: [NightVision; 3] = [Self::On, Self::Off, Self::Auto];
    /// The modes of a camera that only switches its IR cut.
    pub const ON_OFF: [NightVision; 2] = [Self::On, Self::Off];

    /// The mode's name as in payloads and state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
            Self::Auto => "auto",
        }
    }

    /// `modes` as `on, off`, for error texts.
    pub fn list(modes: &[NightVision]) -> String {
        modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Pan/tilt direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtzMove {
    /// Tilt up.
    Up,
    /// Tilt down.
    Down,
    /// Pan left.
    Left,
    /// Pan right.
    Right,
    /// Stop moving.
    Stop,
    /// Go to the home position.
    Home,
}

/// Every command a camera can be sent; its topic is `<base>/<cam>/set/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandKind {
    /// `set/snapshot`: publish a fresh snapshot now.
    Snapshot,
    /// `set/snapshot_interval`: seconds between snapshots.
    SnapshotInterval,
    /// `set/resolution`.
    Resolution,
    /// `set/wifi`: SSID and password in one JSON.
    Wifi,
    /// `set/wifi_ssid`: stage the SSID.
    WifiSsid,
    /// `set/wifi_password`: stage the password.
    WifiPassword,
    /// `set/wifi_apply`: send what is staged.
    WifiApply,
    /// `set/intercom`: play audio on the camera's speaker.
    Intercom,
    /// `set/say`: speak a text on the camera's speaker (Home Assistant's
    /// text-to-speech makes the audio).
    Say,
    /// `set/night_vision`.
    NightVision,
    /// `set/light`.
    Light,
    /// `set/ir_led`.
    IrLed,
    /// `set/reboot`.
    Reboot,
    /// `set/ptz`.
    Ptz,
}

impl CommandKind {
    /// Every command, in the order the docs list them.
    pub const ALL: [CommandKind; 14] = [
        Self::Snapshot,
        Self::SnapshotInterval,
        Self::Resolution,
        Self::Wifi,
        Self::WifiSsid,
        Self::WifiPassword,
        Self::WifiApply,
        Self::Intercom,
        Self::Say,
        Self::NightVision,
        Self::Light,
        Self::IrLed,
        Self::Reboot,
        Self::Ptz,
    ];

    /// The topic name (`set/<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::SnapshotInterval => "snapshot_interval",
            Self::Resolution => "resolution",
            Self::Wifi => "wifi",
            Self::WifiSsid => "wifi_ssid",
            Self::WifiPassword => "wifi_password",
            Self::WifiApply => "wifi_apply",
            Self::Intercom => "intercom",
            Self::Say => "say",
            Self::NightVision => "night_vision",
            Self::Light => "light",
            Self::IrLed => "ir_led",
            Self::Reboot => "reboot",
            Self::Ptz => "ptz",
        }
    }

    /// The command named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The capability a camera needs for this command.
    pub fn capability(self) -> Capability {
        match self {
            Self::Snapshot | Self::SnapshotInterval => Capability::Snapshot,
            Self::Resolution => Capability::Resolution,
            Self::Wifi | Self::WifiSsid | Self::WifiPassword | Self::WifiApply => Capability::Wifi,
            Self::Intercom | Self::Say => Capability::Intercom,
            Self::NightVision => Capability::NightVision,
            Self::Light => Capability::Light,
            Self::IrLed => Capability::IrLed,
            Self::Reboot => Capability::Reboot,
            Self::Ptz => Capability::Ptz,
        }
    }

    /// All command names, comma-separated (for error texts).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A command for one camera, parsed and validated from MQTT or the CLI.
#[derive(Debug, Clone)]
pub enum CameraCommand {
    /// Publish a fresh snapshot now.
    Snapshot,
    /// Change the snapshot interval (seconds, 0 = on demand only).
    SetSnapshotInterval(u32),
    /// Switch resolution.
    SetResolution(String),
    /// Join a Wi-Fi network in one step.
    SetWifi {
        /// Network name.
        ssid: String,
        /// Network password.
        password: Secret,
    },
    /// Stage the SSID for a later [`CameraCommand::ApplyWifi`].
    StageWifiSsid(String),
    /// Stage the password for a later [`CameraCommand::ApplyWifi`].
    StageWifiPassword(Secret),
    /// Send the staged SSID and password.
    ApplyWifi,
    /// Play audio on the camera's speaker.
    Intercom(IntercomRequest),
    /// Stop the playback (and drop the ones waiting): `set/intercom` `stop`.
    IntercomStop,
    /// Night-vision mode.
    NightVision(NightVision),
    /// Light on/off.
    Light(bool),
    /// Infrared LEDs on or off.
    IrLed(bool),
    /// Reboot.
    Reboot,
    /// Pan/tilt.
    Ptz(PtzMove),
}

impl CameraCommand {
    /// Which command this is.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Snapshot => CommandKind::Snapshot,
            Self::SetSnapshotInterval(_) => CommandKind::SnapshotInterval,
            Self::SetResolution(_) => CommandKind::Resolution,
            Self::SetWifi { .. } => CommandKind::Wifi,
            Self::StageWifiSsid(_) => CommandKind::WifiSsid,
            Self::StageWifiPassword(_) => CommandKind::WifiPassword,
            Self::ApplyWifi => CommandKind::WifiApply,
            Self::Intercom(r) => r.source.kind(),
            Self::IntercomStop => CommandKind::Intercom,
            Self::NightVision(_) => CommandKind::NightVision,
            Self::Light(_) => CommandKind::Light,
            Self::IrLed(_) => CommandKind::IrLed,
            Self::Reboot => CommandKind::Reboot,
            Self::Ptz(_) => CommandKind::Ptz,
        }
    }

    /// The command's name as in its topic (`set/<name>`).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The capability a camera needs for this command.
    pub fn required_capability(&self) -> Capability {
        self.kind().capability()
    }
}

/// Why a command failed. The text is what users see on the `event` topic, so
/// it says what to do, and it never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such command topic.
    #[error("unknown command {0:?}; known commands: {known}", known = CommandKind::names())]
    UnknownCommand(String),
    /// No such camera.
    #[error("unknown camera {0}")]
    UnknownCamera(String),
    /// No such bridge command.
    #[error("unknown bridge command {0:?}; known: discover")]
    UnknownBridgeCommand(String),
    /// The camera lacks the capability the command needs.
    #[error("{command:?} is not supported: this camera has no {what}")]
    Lacks {
        /// Command name.
        command: &'static str,
        /// What it lacks ([`Capability::missing`]).
        what: &'static str,
    },
    /// The camera's protocol or model cannot do this.
    #[error("{command:?} is not supported by this camera ({protocol} protocol)")]
    Unsupported {
        /// Command name.
        command: &'static str,
        /// The camera's protocol.
        protocol: Protocol,
    },
    /// The payload was not acceptable.
    #[error("bad value for {command:?}: {reason}")]
    BadValue {
        /// Command name.
        command: &'static str,
        /// What was wrong and what is allowed.
        reason: String,
    },
    /// No session with the camera right now.
    #[error("camera is offline")]
    Offline,
    /// The camera answered no.
    #[error("camera refused: {0}")]
    Refused(String),
    /// The camera did not answer in time.
    #[error("timed out after {}: {what}", humantime::format_duration(*.after))]
    TimedOut {
        /// What we waited for.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// Another command of the same kind is still running.
    #[error("busy: {0}")]
    Busy(String),
    /// A command carried out through the vendor's cloud failed (the text
    /// says why; it never holds a token or password).
    #[error("cloud: {0}")]
    Cloud(String),
    /// The payload is larger than the command takes (it was not read).
    #[error("payload of {len} bytes is too big for {command:?}; it takes at most {max} bytes")]
    TooBig {
        /// Command name.
        command: String,
        /// Payload size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A retained command would run again at every reconnect, so it is ignored.
    #[error("retained commands are ignored (they would run again at every reconnect); publish {command:?} without the retain flag")]
    Retained {
        /// Command name.
        command: String,
    },
}
