//! The hub every consumer of the bridge shares, and the messages on it.
//!
//! ```text
//! camera tasks, supervisor ─publish─▶ Hub ─ broadcast<BridgeEvent> ─▶ MQTT publisher, HTTP, …
//!                                      ├ view: CameraView per camera (info, online, state, last snapshot)
//!                                      ├ live: per camera latest JPEG + video frames + viewer count
//!                                      └ requests: mpsc<Request> ─▶ supervisor
//! ```
//! - [`Hub::publish`] applies an event to the [`view::Views`] and broadcasts it
//!   in one step, so a consumer that subscribes and then reads the view misses
//!   nothing (it may see an event twice; every event carries whole values).
//! - Nothing a consumer does slows a camera: the broadcast drops the oldest
//!   events for a reader that lags (the reader learns how many and resyncs from
//!   the view), live JPEGs are latest-wins ([`live`]).
//! - Commands go to the supervisor as [`Request::Command`] with an optional
//!   reply; their result is also broadcast as [`BridgeEvent::CommandResult`],
//!   so the MQTT event topic sees commands from every front end.
//!
//! The publisher serialises these types; nothing here knows about MQTT topics
//! or HTTP. `bus` never imports `publisher/` (checked by `tests/layering.rs`).

pub mod health;
pub mod live;
pub mod view;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::model::{
    CameraCommand, CameraId, CameraInfo, CommandError, CommandKind, NightVision, Protocol,
};

/// What a camera's session is doing, as shown in its `state.session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SessionPhase {
    /// A session is starting (handshake, waiting for the first frame).
    #[default]
    Connecting,
    /// Frames are flowing.
    Streaming,
    /// The last session ended; the next attempt waits for its backoff.
    Backoff,
    /// The camera rejected our credentials; retried only after a long backoff.
    AuthFailed,
    /// The camera left the protocol (a demo-mode camera that joined Wi-Fi); it is
    /// looked for again by discovery instead of being retried where it was.
    AwaitingDiscovery,
    /// The bridge stopped the session (shutdown or removal).
    Stopped,
}

impl SessionPhase {
    /// Every phase.
    pub const ALL: [SessionPhase; 6] = [
        Self::Connecting,
        Self::Streaming,
        Self::Backoff,
        Self::AuthFailed,
        Self::AwaitingDiscovery,
        Self::Stopped,
    ];

    /// The name as published.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Streaming => "streaming",
            Self::Backoff => "backoff",
            Self::AuthFailed => "auth_failed",
            Self::AwaitingDiscovery => "awaiting_discovery",
            Self::Stopped => "stopped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SessionPhase;

    #[test]
    fn phase_names_are_their_serialised_form() {
        for p in SessionPhase::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }
}

/// `on` / `off`, as Home Assistant switches expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

impl From<bool> for OnOff {
    fn from(on: bool) -> Self {
        if on {
            Self::On
        } else {
            Self::Off
        }
    }
}

/// A camera's `state` topic payload. Every field is always present (`null`
/// when unknown), so every Home Assistant template that reads the state finds
/// its field; `tests/ha_templates.rs` checks that for every capability set.
/// Never holds a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraState {
    /// Protocol the camera speaks.
    pub protocol: Protocol,
    /// Address it is reached at (empty while unknown).
    pub address: String,
    /// Stable hardware identity (UID, MAC or derived).
    pub uid: String,
    /// Model.
    pub model: String,
    /// Firmware version, once known.
    pub firmware: Option<String>,
    /// Current resolution, once known.
    pub resolution: Option<String>,
    /// Resolutions it offers.
    pub resolutions: Vec<String>,
    /// Frames per second over the last stats period.
    pub fps: f64,
    /// Media bitrate over the last stats period.
    pub bitrate_kbps: f64,
    /// Complete frames received in this session.
    pub frames: u64,
    /// Frames thrown away (missing parts, failed checks) in this session.
    pub frames_dropped: u64,
    /// Audio datagrams received in this session.
    pub audio_packets: u64,
    /// When the last snapshot was published (RFC 3339).
    pub last_snapshot_at: Option<String>,
    /// When the current session started streaming (RFC 3339).
    pub connected_since: Option<String>,
    /// Seconds between snapshots (0 = on demand only).
    pub snapshot_interval_s: u32,
    /// SSID staged for `wifi_apply`, or the last one sent.
    pub wifi_ssid: String,
    /// Whether a password is staged; the password itself is never published.
    pub wifi_password_set: bool,
    /// Night-vision mode, where the camera reports it.
    pub night_vision: Option<NightVision>,
    /// Light / status LED, where the camera reports it.
    pub light: Option<OnOff>,
    /// Infrared LEDs, where the camera reports them.
    pub ir_led: Option<OnOff>,
    /// Wi-Fi signal strength in dBm, where the camera reports dBm.
    pub signal_dbm: Option<i32>,
    /// Wi-Fi signal quality in percent, where the camera reports a percentage.
    pub signal_percent: Option<u8>,
    /// What the session is doing.
    pub session: SessionPhase,
    /// Why the last session ended or failed, in words (never a secret).
    pub last_error: Option<String>,
    /// Sessions restarted since the bridge started.
    pub reconnects: u64,
    /// Snapshots not published because the MQTT queue was full.
    pub snapshots_dropped: u64,
    /// What the speaker does: `idle`, `playing` (a file or URL) or
    /// `talking` (push-to-talk).
    pub intercom: &'static str,
    /// Its RTSP stream (`None`: the RTSP server is off).
    pub rtsp_url: Option<String>,
}

impl CameraState {
    /// The state of a camera before anything is known beyond its description.
    pub fn new(info: &CameraInfo, snapshot_interval_s: u32) -> Self {
        Self {
            protocol: info.protocol,
            address: info.address().map(|a| a.to_string()).unwrap_or_default(),
            uid: info.uid.clone(),
            model: info.model.clone(),
            firmware: info.firmware.clone(),
            resolution: None,
            resolutions: info.resolutions.clone(),
            fps: 0.0,
            bitrate_kbps: 0.0,
            frames: 0,
            frames_dropped: 0,
            audio_packets: 0,
            last_snapshot_at: None,
            connected_since: None,
            snapshot_interval_s,
            wifi_ssid: String::new(),
            wifi_password_set: false,
            night_vision: None,
            light: None,
            ir_led: None,
            signal_dbm: None,
            signal_percent: None,
            session: SessionPhase::Connecting,
            last_error: None,
            reconnects: 0,
            snapshots_dropped: 0,
            intercom: "idle",
            rtsp_url: None,
        }
    }
}

impl CameraState {
    /// True if `self` and `other` differ only in the counters that change
    /// with every frame (fps, bitrate, frame and packet counts, the last
    /// snapshot time, dropped snapshots): such a change waits for the next
    /// stats period instead of being published at once.
    pub fn same_but_counters(&self, other: &CameraState) -> bool {
        let calm = |s: &CameraState| CameraState {
            fps: 0.0,
            bitrate_kbps: 0.0,
            frames: 0,
            frames_dropped: 0,
            audio_packets: 0,
            last_snapshot_at: None,
            snapshots_dropped: 0,
            ..s.clone()
        };
        calm(self) == calm(other)
    }
}

/// What the rest of the bridge tells the publisher.
#[derive(Debug, Clone)]
pub enum BridgeEvent {
    /// A camera exists (or its description changed): publish its discovery.
    Registered(CameraInfo),
    /// A camera is gone for good: remove its entities.
    Removed(CameraId),
    /// A camera came online or went offline.
    Availability {
        /// Which camera.
        camera: CameraId,
        /// Online?
        online: bool,
    },
    /// A camera's state changed.
    State {
        /// Which camera.
        camera: CameraId,
        /// The whole state.
        state: Box<CameraState>,
    },
    /// A snapshot to publish (already within the size cap).
    Snapshot {
        /// Which camera.
        camera: CameraId,
        /// JPEG bytes.
        jpeg: Bytes,
        /// When it was taken (RFC 3339), for the `last_snapshot` topic.
        taken_at: String,
    },
    /// A command finished.
    CommandResult {
        /// Which camera.
        camera: CameraId,
        /// Which command.
        command: CommandKind,
        /// Outcome.
        result: Result<(), CommandError>,
        /// For an intercom playback: what was played.
        playback: Option<crate::model::PlaybackReport>,
    },
    /// A requested discovery scan finished.
    Scanned(ScanReport),
    /// The number of live viewers of a camera changed (for pages that show it).
    Viewers {
        /// Which camera.
        camera: CameraId,
        /// Viewers now.
        viewers: usize,
    },
}

/// A discovery scan asked for with `bridge/set/discover` finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanReport {
    /// Cameras the sources reported.
    pub found: usize,
}

/// Where a command's result goes besides the broadcast: the REST handler or
/// CLI waiting for it.
pub type Reply = oneshot::Sender<Result<(), CommandError>>;

/// Where a [`Reply`] arrives.
pub type ReplyReceiver = oneshot::Receiver<Result<(), CommandError>>;

/// A [`Reply`] and where it arrives.
pub fn reply_channel() -> (Reply, ReplyReceiver) {
    oneshot::channel()
}

/// A command as a front end received it.
#[derive(Debug, Clone)]
pub enum CommandInput {
    /// A command name's payload, as on MQTT and REST; parsed for the camera
    /// by the supervisor ([`crate::command::parse_for`]).
    Payload {
        /// Which command.
        kind: CommandKind,
        /// Its payload, unread so far.
        payload: Bytes,
    },
    /// A command built in code (the CLI); checked against the camera with
    /// [`crate::command::check`].
    Parsed(CameraCommand),
}

impl CommandInput {
    /// Which command.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Payload { kind, .. } => *kind,
            Self::Parsed(c) => c.kind(),
        }
    }
}

/// A command for one camera.
#[derive(Debug)]
pub struct CommandRequest {
    /// Which camera.
    pub camera: CameraId,
    /// The command.
    pub input: CommandInput,
    /// Who waits for the result (it is broadcast either way).
    pub reply: Option<Reply>,
}

/// What the front ends ask of the supervisor.
#[derive(Debug)]
pub enum Request {
    /// Run a command on a camera.
    Command(CommandRequest),
    /// Scan for cameras now.
    Discover,
}

/// Events the broadcast keeps for a slow reader before it lags (a lagging
/// reader skips ahead and resyncs from the view).
pub const EVENT_CAPACITY: usize = 8192;

/// The bridge's own status, set by the MQTT publisher, read by health and
/// metrics.
#[derive(Debug)]
pub struct BridgeStatus {
    started: std::time::Instant,
    mqtt_connected: AtomicBool,
    mqtt_connects: AtomicU64,
    mqtt_published: AtomicU64,
    live_decoders: AtomicU64,
    rtsp_clients: AtomicU64,
    rtsp_dropped: AtomicU64,
    rtsp_reencoded: AtomicU64,
}

/// The RTSP server's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtspCounters {
    /// Connected clients now.
    pub clients: u64,
    /// Clients dropped since start for not keeping up.
    pub dropped: u64,
    /// JPEG pictures re-encoded since start because RTP could not carry them.
    pub reencoded: u64,
}

impl BridgeStatus {
    fn new() -> Self {
        Self {
            started: crate::io::clock::now(),
            mqtt_connected: AtomicBool::new(false),
            mqtt_connects: AtomicU64::new(0),
            mqtt_published: AtomicU64::new(0),
            live_decoders: AtomicU64::new(0),
            rtsp_clients: AtomicU64::new(0),
            rtsp_dropped: AtomicU64::new(0),
            rtsp_reencoded: AtomicU64::new(0),
        }
    }

    /// An RTSP client connected (`true`) or left.
    pub fn rtsp_client(&self, connected: bool) {
        if connected {
            self.rtsp_clients.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self
                .rtsp_clients
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// An RTSP client was dropped for not keeping up.
    pub fn rtsp_dropped(&self) {
        self.rtsp_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// A JPEG was re-encoded for RTP.
    pub fn rtsp_reencoded(&self) {
        self.rtsp_reencoded.fetch_add(1, Ordering::Relaxed);
    }

    /// The RTSP counters.
    pub fn rtsp(&self) -> RtspCounters {
        RtspCounters {
            clients: self.rtsp_clients.load(Ordering::Relaxed),
            dropped: self.rtsp_dropped.load(Ordering::Relaxed),
            reencoded: self.rtsp_reencoded.load(Ordering::Relaxed),
        }
    }

    /// The MQTT connection came up or went down.
    pub fn set_mqtt_connected(&self, up: bool) {
        if up {
            self.mqtt_connects.fetch_add(1, Ordering::Relaxed);
        }
        self.mqtt_connected.store(up, Ordering::Relaxed);
    }

    /// `n` more messages were handed to the MQTT client.
    pub fn published(&self, n: u64) {
        self.mqtt_published.fetch_add(n, Ordering::Relaxed);
    }

    /// A live decoder started (`true`) or stopped.
    pub fn live_decoder(&self, running: bool) {
        if running {
            self.live_decoders.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self
                .live_decoders
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// Whether the broker connection is up.
    pub fn mqtt_connected(&self) -> bool {
        self.mqtt_connected.load(Ordering::Relaxed)
    }

    /// Connections made to the broker since start.
    pub fn mqtt_connects(&self) -> u64 {
        self.mqtt_connects.load(Ordering::Relaxed)
    }

    /// Messages handed to the MQTT client since start.
    pub fn mqtt_published(&self) -> u64 {
        self.mqtt_published.load(Ordering::Relaxed)
    }

    /// Live decoders running now.
    pub fn live_decoders(&self) -> u64 {
        self.live_decoders.load(Ordering::Relaxed)
    }

    /// How long the bridge has run.
    pub fn uptime(&self) -> Duration {
        crate::io::clock::now().saturating_duration_since(self.started)
    }
}

/// The hub: cheap to clone, shared by the supervisor, camera tasks and every
/// front end.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    status: BridgeStatus,
    events: broadcast::Sender<BridgeEvent>,
    views: RwLock<view::Views>,
    live: live::LiveFeeds,
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub whose requests go to `requests` (the supervisor's inbox).
    pub fn new(requests: mpsc::Sender<Request>) -> Self {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                status: BridgeStatus::new(),
                events,
                views: RwLock::new(view::Views::default()),
                live: live::LiveFeeds::default(),
                requests,
            }),
        }
    }

    /// Applies `event` to the view and broadcasts it (never blocks on readers).
    pub fn publish(&self, event: BridgeEvent) {
        let mut views = self
            .inner
            .views
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        views.apply(&event);
        if let BridgeEvent::Removed(id) = &event {
            self.inner.live.remove(id);
        }
        // Sent under the lock, so the broadcast's order is the view's.
        let _ = self.inner.events.send(event);
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BridgeEvent> {
        self.inner.events.subscribe()
    }

    /// Runs `f` on the current view.
    pub fn read<T>(&self, f: impl FnOnce(&view::Views) -> T) -> T {
        let views = self
            .inner
            .views
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&views)
    }

    /// A copy of the view.
    pub fn views(&self) -> view::Views {
        self.read(Clone::clone)
    }

    /// The bridge's own status (MQTT connection, counters).
    pub fn status(&self) -> &BridgeStatus {
        &self.inner.status
    }

    /// The live feeds.
    pub fn live(&self) -> &live::LiveFeeds {
        &self.inner.live
    }

    /// The supervisor's inbox.
    pub fn requests(&self) -> &mpsc::Sender<Request> {
        &self.inner.requests
    }

    /// Asks for `input` on `camera` and waits for its result, at most
    /// `timeout` (then [`CommandError::TimedOut`]; the command may still
    /// finish, and its result is still broadcast).
    pub async fn command(
        &self,
        camera: CameraId,
        input: CommandInput,
        timeout: Duration,
    ) -> Result<(), CommandError> {
        let kind = input.kind();
        let (tx, rx) = oneshot::channel();
        let request = Request::Command(CommandRequest {
            camera,
            input,
            reply: Some(tx),
        });
        if self.inner.requests.try_send(request).is_err() {
            return Err(CommandError::Busy(
                "too many commands queued; try again".into(),
            ));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(CommandError::Offline),
            Err(_) => Err(CommandError::TimedOut {
                what: format!("the camera to finish {:?}", kind.name()),
                after: timeout,
            }),
        }
    }
}
