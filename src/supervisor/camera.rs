//! One camera's task: runs its protocol session (restarting it with backoff),
//! keeps the newest frame, publishes snapshots on the interval and on demand,
//! tracks availability and state, and routes commands.
//!
//! The session itself runs in a separate tokio task (so a panic in it is
//! contained and the packet path never waits on this task); it hands frames
//! over through a `watch` channel (latest wins) and other events through a
//! small bounded channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::overrides::{Overridden, OverrideStore, Overrides};
use super::CameraSpec;
use crate::io::{clock, EventSink, SessionCommand, SocketFactory};
use crate::model::{CameraCommand, CameraDetails, CameraId, CommandError, MediaFrame};
use crate::proto::{CloseReason, SessionEvent, SessionStats};
use crate::publisher::BridgeEvent;
use crate::secret::Secret;

/// How long `set/snapshot` waits for a frame newer than the one we hold.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(5);
/// A held frame younger than this counts as fresh for `set/snapshot`.
const FRESH: Duration = Duration::from_secs(1);
/// On-demand snapshot requests that may wait for the next frame at once.
const MAX_WAITING_SNAPSHOTS: usize = 8;
/// Counters in `state` are refreshed this often.
const STATE_EVERY: Duration = Duration::from_secs(10);

/// A command for this camera, with an optional direct reply.
#[derive(Debug)]
pub struct CameraRequest {
    /// The command.
    pub command: CameraCommand,
    /// Where the result goes; `None` = as a [`BridgeEvent::CommandResult`].
    pub reply: Option<oneshot::Sender<Result<(), CommandError>>>,
}

/// The newest complete frame of a camera.
#[derive(Debug, Clone)]
pub struct Frame {
    /// JPEG bytes.
    pub jpeg: Bytes,
    /// When it arrived.
    pub at: Instant,
    /// Running number, to tell frames apart.
    pub seq: u64,
}

/// Settings shared by all camera tasks.
#[derive(Debug, Clone)]
pub struct CameraSettings {
    /// Snapshot size cap.
    pub max_bytes: usize,
    /// JPEG quality when re-encoding.
    pub jpeg_quality: u8,
    /// Session restart policy.
    pub backoff: Backoff,
    /// Where runtime settings are kept across restarts (`None`: not kept).
    pub state_dir: Option<std::path::PathBuf>,
}

/// The camera's `state` topic payload.
#[derive(Debug, Clone, Default, Serialize)]
struct CameraState {
    protocol: &'static str,
    address: String,
    uid: String,
    model: String,
    firmware: Option<String>,
    resolution: Option<String>,
    resolutions: Vec<String>,
    fps: f64,
    bitrate_kbps: f64,
    frames: u64,
    frames_dropped: u64,
    audio_packets: u64,
    last_snapshot_at: Option<String>,
    connected_since: Option<String>,
    snapshot_interval_s: u32,
    wifi_ssid: String,
    /// Whether a password is staged for `wifi_apply`; the password itself is never published.
    wifi_password_set: bool,
    reconnects: u64,
    snapshots_dropped: u64,
}

/// Sink for the session driver: frames to the watch, the rest to the camera task.
struct Sink {
    frames: watch::Sender<Option<Frame>>,
    events: mpsc::Sender<SessionEvent>,
    seq: u64,
}

impl EventSink for Sink {
    fn event(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Media(MediaFrame::Jpeg(jpeg)) => {
                self.seq += 1;
                let frame = Frame {
                    jpeg,
                    at: clock::now(),
                    seq: self.seq,
                };
                self.frames.send_replace(Some(frame));
            }
            SessionEvent::Media(_) => {}
            // Stats are periodic; losing one to a full channel is harmless.
            other => {
                let _ = self.events.try_send(other);
            }
        }
    }
}

/// The running camera.
pub struct CameraTask<F: SocketFactory> {
    spec: CameraSpec,
    factory: Arc<F>,
    settings: CameraSettings,
    publisher: mpsc::Sender<BridgeEvent>,
    requests: mpsc::Receiver<CameraRequest>,
    cancel: CancellationToken,
    rng: ChaCha8Rng,
    frames: watch::Sender<Option<Frame>>,
    state: CameraState,
    online: bool,
    /// State or availability could not be handed to the publisher; resend later.
    dirty: bool,
    /// The state last handed to the publisher (an unchanged state is not resent;
    /// the publisher republishes its copy when needed).
    last_state: Option<serde_json::Value>,
    staged_password: Secret,
    last_published_seq: u64,
    snapshot_interval: Duration,
    /// The snapshot interval the config asks for (before any runtime override).
    configured_interval: u32,
    /// Persisted runtime settings, when a state directory is set.
    store: Option<OverrideStore>,
    overrides: Overrides,
    next_snapshot: Option<tokio::time::Instant>,
    waiting_snapshots: Vec<(Instant, Reply)>,
    last_stats: Option<(Instant, SessionStats)>,
    in_flight: JoinSet<Done>,
}

/// Where a command's result goes (`None`: to the publisher as an event).
type Reply = Option<oneshot::Sender<Result<(), CommandError>>>;
/// A forwarded command's outcome: name, SSID it set (Wi-Fi), reply, result.
type Done = (
    &'static str,
    Option<String>,
    Reply,
    Result<(), CommandError>,
);

impl<F: SocketFactory> CameraTask<F> {
    /// A task for `spec`; `seed` makes its backoff jitter reproducible.
    pub fn new(
        spec: CameraSpec,
        factory: Arc<F>,
        settings: CameraSettings,
        publisher: mpsc::Sender<BridgeEvent>,
        requests: mpsc::Receiver<CameraRequest>,
        cancel: CancellationToken,
        seed: u64,
    ) -> Self {
        let state = CameraState {
            protocol: spec.info.protocol.as_str(),
            address: spec.info.address.to_string(),
            uid: spec.info.uid.clone(),
            model: spec.info.model.clone(),
            resolutions: spec.info.resolutions.clone(),
            snapshot_interval_s: u32::try_from(spec.snapshot_interval.as_secs())
                .unwrap_or(u32::MAX),
            ..CameraState::default()
        };
        let configured_interval =
            u32::try_from(spec.snapshot_interval.as_secs()).unwrap_or(u32::MAX);
        let store = settings
            .state_dir
            .as_deref()
            .map(|d| OverrideStore::new(d, &spec.info.id));
        let overrides = store.as_ref().map(OverrideStore::load).unwrap_or_default();
        let interval = Overridden::resolve(overrides.snapshot_interval_s, configured_interval);
        let mut state = state;
        state.snapshot_interval_s = interval;
        let snapshot_interval = Duration::from_secs(u64::from(interval));
        Self {
            spec,
            factory,
            settings,
            publisher,
            requests,
            cancel,
            rng: ChaCha8Rng::seed_from_u64(seed),
            frames: watch::channel(None).0,
            state,
            online: false,
            dirty: false,
            last_state: None,
            staged_password: Secret::default(),
            last_published_seq: 0,
            snapshot_interval,
            configured_interval,
            store,
            overrides,
            next_snapshot: None,
            waiting_snapshots: Vec::new(),
            last_stats: None,
            in_flight: JoinSet::new(),
        }
    }

    fn id(&self) -> CameraId {
        self.spec.info.id.clone()
    }

    /// Runs until cancelled.
    pub async fn run(mut self) {
        let _ = self
            .publisher
            .send(BridgeEvent::Registered(self.spec.info.clone()))
            .await;
        self.publish_state();
        let mut attempt: u32 = 0;
        while !self.cancel.is_cancelled() {
            let started = clock::now();
            let outcome = self.run_session_once().await;
            self.set_online(false);
            self.state.connected_since = None;
            self.publish_state();
            if self.cancel.is_cancelled() {
                break;
            }
            if clock::now().duration_since(started) >= self.settings.backoff.reset_after {
                attempt = 0;
            }
            let delay = self.settings.backoff.delay(attempt, &mut self.rng);
            attempt = attempt.saturating_add(1);
            self.state.reconnects += 1;
            tracing::info!(camera = %self.id(), reason = %outcome, retry_in = ?delay, "session ended");
            self.idle_for(delay).await;
        }
        self.in_flight.shutdown().await;
    }

    /// Serves requests while no session runs.
    async fn idle_for(&mut self, delay: Duration) {
        let until = clock::deadline_now() + delay;
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep_until(until) => return,
                Some(req) = self.requests.recv() => self.on_request(req, None).await,
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.on_command_done(done).await,
            }
        }
    }

    async fn run_session_once(&mut self) -> String {
        let (cmd_tx, cmd_rx) = mpsc::channel::<SessionCommand>(16);
        let (ev_tx, mut ev_rx) = mpsc::channel::<SessionEvent>(64);
        let mut frames = self.frames.subscribe();
        frames.mark_unchanged();
        let session_cancel = self.cancel.child_token();
        let sink = Sink {
            frames: self.frames.clone(),
            events: ev_tx,
            seq: self.frames.borrow().as_ref().map_or(0, |f| f.seq),
        };
        let socket = match self.factory.bind_for(self.spec.info.address).await {
            Ok(s) => s,
            Err(e) => return format!("cannot bind a socket: {e}"),
        };
        let mut driver =
            self.spec
                .session
                .clone()
                .spawn(socket, cmd_rx, sink, session_cancel.clone());
        let mut state_tick = tokio::time::interval(STATE_EVERY);
        state_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outcome = loop {
            tokio::select! {
                () = self.cancel.cancelled() => {
                    session_cancel.cancel();
                    let _ = (&mut driver).await;
                    break "bridge stopping".to_string();
                }
                r = &mut driver => break match r {
                    Ok(Ok(reason)) => reason.to_string(),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) if e.is_panic() => {
                        tracing::error!(camera = %self.id(), "session panicked (a bug; please report it)");
                        "session panicked".to_string()
                    }
                    Err(e) => e.to_string(),
                },
                Some(ev) = ev_rx.recv() => self.on_session_event(ev),
                Ok(()) = frames.changed() => {
                    let frame = frames.borrow_and_update().clone();
                    if let Some(frame) = frame {
                        self.on_frame(frame).await;
                    }
                }
                Some(req) = self.requests.recv() => self.on_request(req, Some(&cmd_tx)).await,
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.on_command_done(done).await,
                () = sleep_until_opt(self.next_snapshot) => self.on_snapshot_due().await,
                _ = state_tick.tick() => self.publish_state(),
            }
        };
        self.next_snapshot = None;
        for (_, reply) in std::mem::take(&mut self.waiting_snapshots) {
            self.finish_reply("snapshot", reply, Err(CommandError::Offline))
                .await;
        }
        outcome
    }

    fn on_session_event(&mut self, ev: SessionEvent) {
        match ev {
            SessionEvent::Streaming(details) => {
                self.apply_details(details);
                self.state.connected_since = Some(clock::wall_rfc3339());
                self.publish_state();
            }
            SessionEvent::Stats(stats) => self.on_stats(stats),
            SessionEvent::Closed(reason) => {
                if let CloseReason::Silent(d) = reason {
                    tracing::info!(camera = %self.id(), silent_for = ?d, "camera fell silent");
                }
            }
            SessionEvent::Media(_) | SessionEvent::CommandDone { .. } => {}
        }
    }

    fn apply_details(&mut self, d: CameraDetails) {
        if let Some(m) = d.model {
            self.state.model = m;
        }
        self.state.firmware = d.firmware.or(self.state.firmware.take());
        self.state.resolution = d.resolution.or(self.state.resolution.take());
        if !d.resolutions.is_empty() {
            self.state.resolutions = d.resolutions;
        }
    }

    fn on_stats(&mut self, stats: SessionStats) {
        let now = clock::now();
        if let Some((then, prev)) = &self.last_stats {
            let secs = now.duration_since(*then).as_secs_f64();
            if secs > 0.0 {
                let frames = stats.frames.saturating_sub(prev.frames) as f64;
                let bytes = stats.media_bytes.saturating_sub(prev.media_bytes) as f64;
                self.state.fps = (frames / secs * 10.0).round() / 10.0;
                self.state.bitrate_kbps = (bytes * 8.0 / 1000.0 / secs).round();
            }
        }
        self.state.frames = stats.frames;
        self.state.frames_dropped = stats.frames_dropped;
        self.state.audio_packets = stats.audio_packets;
        self.last_stats = Some((now, stats));
    }

    async fn on_frame(&mut self, frame: Frame) {
        if !self.online {
            self.set_online(true);
            // First frame after (re)connecting: publish it right away.
            self.publish_snapshot(&frame).await;
            self.schedule_snapshot();
        }
        let waiting = std::mem::take(&mut self.waiting_snapshots);
        if !waiting.is_empty() {
            self.publish_snapshot(&frame).await;
            for (_, reply) in waiting {
                self.finish_reply("snapshot", reply, Ok(())).await;
            }
        }
    }

    fn schedule_snapshot(&mut self) {
        self.next_snapshot = (!self.snapshot_interval.is_zero())
            .then(|| clock::deadline_now() + self.snapshot_interval);
    }

    async fn on_snapshot_due(&mut self) {
        self.schedule_snapshot();
        let frame = self.frames.borrow().clone();
        if let Some(frame) = frame {
            if frame.seq != self.last_published_seq {
                self.publish_snapshot(&frame).await;
            }
        }
        // Expire on-demand requests that waited too long.
        let now = clock::now();
        let (expired, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting_snapshots)
            .into_iter()
            .partition(|(t, _)| now.duration_since(*t) >= SNAPSHOT_WAIT);
        self.waiting_snapshots = keep;
        for (_, reply) in expired {
            let err = CommandError::TimedOut {
                what: "no new frame from the camera".into(),
                after: SNAPSHOT_WAIT,
            };
            self.finish_reply("snapshot", reply, Err(err)).await;
        }
    }

    async fn publish_snapshot(&mut self, frame: &Frame) {
        let (max, q) = (self.settings.max_bytes, self.settings.jpeg_quality);
        let jpeg = if frame.jpeg.len() <= max {
            Ok(frame.jpeg.clone())
        } else {
            let j = frame.jpeg.clone();
            tokio::task::spawn_blocking(move || crate::media::jpeg::fit(j, max, q))
                .await
                .unwrap_or_else(|_| Err(crate::media::jpeg::JpegError::TooBig { max }))
        };
        match jpeg {
            Ok(jpeg) => {
                self.last_published_seq = frame.seq;
                let taken_at = clock::wall_rfc3339();
                self.state.last_snapshot_at = Some(taken_at.clone());
                let ev = BridgeEvent::Snapshot {
                    camera: self.id(),
                    jpeg,
                    taken_at,
                };
                if self.publisher.try_send(ev).is_err() {
                    self.state.snapshots_dropped += 1;
                }
            }
            Err(e) => tracing::warn!(camera = %self.id(), error = %e, "snapshot not published"),
        }
    }

    fn set_online(&mut self, online: bool) {
        if self.online != online {
            self.online = online;
            if !online {
                self.state.fps = 0.0;
                self.state.bitrate_kbps = 0.0;
                self.last_stats = None;
            }
            let ev = BridgeEvent::Availability {
                camera: self.id(),
                online,
            };
            if self.publisher.try_send(ev).is_err() {
                self.dirty = true;
            }
        }
    }

    fn publish_state(&mut self) {
        if self.dirty {
            let ev = BridgeEvent::Availability {
                camera: self.id(),
                online: self.online,
            };
            self.dirty = self.publisher.try_send(ev).is_err();
        }
        let state = serde_json::to_value(&self.state).unwrap_or_default();
        if self.last_state.as_ref() == Some(&state) {
            return;
        }
        let ev = BridgeEvent::State {
            camera: self.id(),
            state: state.clone(),
        };
        match self.publisher.try_send(ev) {
            Ok(()) => self.last_state = Some(state),
            Err(_) => self.dirty = true,
        }
    }

    async fn finish_reply(
        &mut self,
        command: &'static str,
        reply: Reply,
        result: Result<(), CommandError>,
    ) {
        if result.is_ok() {
            self.publish_state();
        }
        match reply {
            Some(tx) => {
                let _ = tx.send(result);
            }
            None => {
                let _ = self
                    .publisher
                    .send(BridgeEvent::CommandResult {
                        camera: self.id(),
                        command,
                        result,
                    })
                    .await;
            }
        }
    }

    async fn on_request(
        &mut self,
        req: CameraRequest,
        session: Option<&mpsc::Sender<SessionCommand>>,
    ) {
        let CameraRequest { command, reply } = req;
        let name = command.name();
        match command {
            CameraCommand::Snapshot => {
                let frame = self.frames.borrow().clone();
                match frame {
                    _ if !self.online => {
                        self.finish_reply(name, reply, Err(CommandError::Offline))
                            .await
                    }
                    // A frame not yet published and at most FRESH old answers at once;
                    // otherwise the user gets the next new frame, not a repeat.
                    Some(f)
                        if f.seq != self.last_published_seq
                            && clock::now().duration_since(f.at) <= FRESH =>
                    {
                        self.publish_snapshot(&f).await;
                        self.finish_reply(name, reply, Ok(())).await;
                    }
                    _ if self.waiting_snapshots.len() >= MAX_WAITING_SNAPSHOTS => {
                        let busy = CommandError::Busy(
                            "snapshots already requested; waiting for the next frame".into(),
                        );
                        self.finish_reply(name, reply, Err(busy)).await;
                    }
                    _ => {
                        // Wait for the next frame; the snapshot timer expires stale waits.
                        self.waiting_snapshots.push((clock::now(), reply));
                        let deadline = clock::deadline_now() + SNAPSHOT_WAIT;
                        self.next_snapshot =
                            Some(self.next_snapshot.map_or(deadline, |n| n.min(deadline)));
                    }
                }
            }
            CameraCommand::SetSnapshotInterval(secs) => {
                self.snapshot_interval = Duration::from_secs(u64::from(secs));
                self.state.snapshot_interval_s = secs;
                self.overrides.snapshot_interval_s =
                    (secs != self.configured_interval).then_some(Overridden {
                        value: secs,
                        configured: self.configured_interval,
                    });
                self.persist().await;
                if self.online {
                    self.schedule_snapshot();
                }
                self.finish_reply(name, reply, Ok(())).await;
            }
            CameraCommand::StageWifiSsid(ssid) => {
                self.state.wifi_ssid = ssid;
                self.finish_reply(name, reply, Ok(())).await;
            }
            CameraCommand::StageWifiPassword(pw) => {
                self.state.wifi_password_set = !pw.is_empty();
                self.staged_password = pw;
                self.finish_reply(name, reply, Ok(())).await;
            }
            CameraCommand::ApplyWifi => {
                if self.state.wifi_ssid.is_empty() {
                    let err = CommandError::BadValue {
                        command: name,
                        reason: "no SSID staged; publish it to set/wifi_ssid first".into(),
                    };
                    self.finish_reply(name, reply, Err(err)).await;
                    return;
                }
                let cmd = CameraCommand::SetWifi {
                    ssid: self.state.wifi_ssid.clone(),
                    password: self.staged_password.clone(),
                };
                self.forward(name, cmd, reply, session).await;
            }
            other => self.forward(name, other, reply, session).await,
        }
    }

    /// Saves the runtime overrides (a failure is logged; the setting still applies now).
    async fn persist(&self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let overrides = self.overrides.clone();
        let saved = tokio::task::spawn_blocking(move || store.save(&overrides)).await;
        if let Ok(Err(e)) = saved {
            tracing::warn!(camera = %self.id(), error = %e, "cannot save camera settings; they will reset on restart");
        }
    }

    /// Hands a command to the session and collects its result without blocking this task.
    async fn forward(
        &mut self,
        name: &'static str,
        command: CameraCommand,
        reply: Reply,
        session: Option<&mpsc::Sender<SessionCommand>>,
    ) {
        let Some(session) = session.filter(|_| self.online) else {
            self.finish_reply(name, reply, Err(CommandError::Offline))
                .await;
            return;
        };
        let ssid = match &command {
            CameraCommand::SetWifi { ssid, .. } => Some(ssid.clone()),
            _ => None,
        };
        let (tx, rx) = oneshot::channel();
        if session
            .try_send(SessionCommand { command, reply: tx })
            .is_err()
        {
            self.finish_reply(
                name,
                reply,
                Err(CommandError::Busy(
                    "the camera is still handling earlier commands".into(),
                )),
            )
            .await;
            return;
        }
        self.in_flight.spawn(async move {
            let result = rx.await.unwrap_or(Err(CommandError::Offline));
            (name, ssid, reply, result)
        });
    }

    async fn on_command_done(&mut self, done: Result<Done, tokio::task::JoinError>) {
        let Ok((name, ssid, reply, result)) = done else {
            return;
        };
        if result.is_ok() {
            if let Some(ssid) = ssid {
                self.state.wifi_ssid = ssid;
                self.staged_password = Secret::default();
                self.state.wifi_password_set = false;
            }
        }
        self.finish_reply(name, reply, result).await;
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
