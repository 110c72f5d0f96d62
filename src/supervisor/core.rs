//! [`CameraCore`]: everything one camera does above its protocol session, as a
//! sans-IO state machine (built like the publisher core).
//!
//! Inputs: [`CameraCore::handle_session_event`], [`CameraCore::handle_session_ended`],
//! [`CameraCore::handle_request`], [`CameraCore::handle_discovered`],
//! [`CameraCore::handle_job_done`], [`CameraCore::handle_timeout`] — each with `now`.
//! Outputs, drained after every input: [`CameraCore::poll_bridge_event`] (to the
//! publisher), [`CameraCore::poll_session_command`] (start/stop the session, run a
//! command in it), [`CameraCore::poll_job`] (blocking or outside work: prepare a
//! snapshot, save settings, ask discovery to look again) and
//! [`CameraCore::poll_timeout`] (one [`TimerTable`]).
//!
//! It owns availability, the snapshot schedule and on-demand waiters, the media
//! sink, Wi-Fi staging, runtime overrides, and the **restart policy keyed on
//! [`CloseReason`]** ([`restart_policy`]). It never reads a clock, never awaits
//! and never touches a socket or MQTT: `camera.rs` is the glue that does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::backoff::Backoff;
use super::intercom::{Intercom, IntercomJob, Pcm};
use super::overrides::{Overridden, Overrides};
use crate::bus::{BridgeEvent, CameraState, Reply, SessionPhase};
use crate::media::sink::{MediaSink, SnapshotSource};
use crate::model::{
    CameraCommand, CameraDetails, CameraId, CameraInfo, Capability, CommandError, CommandKind,
    MediaFrame, VideoCodec,
};
use crate::proto::talk::{TalkId, TalkInput};
use crate::proto::{
    CloseReason, CommandId, SessionEvent, SessionFactory, SessionStats, TimerTable,
};
use crate::secret::Secret;

/// Tunables of the camera core (tests shorten them).
#[derive(Debug, Clone)]
pub struct CoreSettings {
    /// Restarts after ordinary failures (silence, peer closed, socket errors).
    pub backoff: Backoff,
    /// Restarts after the camera rejected our credentials: long, so a wrong
    /// password never turns into a tight login loop (cameras lock accounts).
    pub auth_backoff: Backoff,
    /// Restarts after no answer at all from a camera that never answered.
    pub unanswered_backoff: Backoff,
    /// How long `set/snapshot` waits for a frame newer than the one held.
    pub snapshot_wait: Duration,
    /// A held frame younger than this counts as fresh for `set/snapshot`.
    pub fresh: Duration,
    /// On-demand snapshot requests that may wait for the next frame at once.
    pub max_waiting_snapshots: usize,
    /// The stats period: counters in `state` (fps, bitrate, frames, last
    /// snapshot time) are published at most this often; other changes go out
    /// at once.
    pub state_every: Duration,
    /// Bound of the H.264/H.265 GOP cache.
    pub max_gop_bytes: usize,
    /// The RTSP server's address as users reach it (`rtsp://host:port`);
    /// a camera's `rtsp_url` is this and its id (`None`: RTSP is off).
    pub rtsp_base: Option<String>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            auth_backoff: Backoff::auth(),
            unanswered_backoff: Backoff::unanswered(),
            snapshot_wait: Duration::from_secs(5),
            fresh: Duration::from_secs(1),
            max_waiting_snapshots: 8,
            state_every: Duration::from_secs(10),
            max_gop_bytes: 8 << 20,
            rtsp_base: None,
        }
    }
}

/// What the core asks of the session glue.
#[derive(Debug)]
pub enum SessionControl {
    /// Bind the sockets and start a new session.
    Start,
    /// Stop the running session (it then ends with [`CloseReason::Stopped`]).
    Stop,
    /// Run a command in the running session; the result comes back as
    /// [`SessionEvent::CommandDone`] with `id`.
    Command {
        /// Chosen by the core.
        id: CommandId,
        /// The command.
        command: CameraCommand,
    },
    /// Outgoing audio for the running session (answered by
    /// [`SessionEvent::Talk`]).
    Talk(TalkInput),
}

/// Work the core cannot do itself (it blocks, or it belongs to another part).
#[derive(Debug)]
pub enum Job {
    /// Turn `source` into a JPEG within the size cap (re-encode, or decode video),
    /// then report [`JobDone::Snapshot`] with the same `job`.
    PrepareSnapshot {
        /// Echoed in the result.
        job: u64,
        /// The frame(s) to publish.
        source: SnapshotSource,
        /// Someone waits for it (`set/snapshot`, or the camera's first
        /// picture after connecting): it goes ahead of interval snapshots.
        urgent: bool,
    },
    /// Persist the runtime overrides in the state directory.
    SaveOverrides(Overrides),
    /// The camera left its protocol here: discovery should look for it again
    /// (the core restarts once [`CameraCore::handle_discovered`] is called).
    Rediscover,
    /// Start (`Some(codec)`) or stop (`None`) decoding this camera's video to
    /// live JPEGs: it runs while anyone watches a camera that sends H.264 /
    /// H.265, and stops [`LIVE_LINGER`] after the last viewer left.
    LiveDecoder(Option<VideoCodec>),
    /// Carry out a command that does not go through the session (a cloud
    /// call, see [`CameraCore::set_off_session`]), then report
    /// [`JobDone::Command`] with the same `id`. Runs whether or not a
    /// session is up: a stuck camera can still be rebooted through the cloud.
    OffSession {
        /// Echoed in the result.
        id: CommandId,
        /// The command.
        command: CameraCommand,
    },
    /// Intercom work (fetch and decode, or encode), answered with
    /// [`JobDone::Intercom`].
    Intercom(IntercomJob),
}

/// How long the live decoder keeps running after the last viewer left (a
/// page reload or a player reconnecting does not restart it).
pub const LIVE_LINGER: Duration = Duration::from_secs(3);

/// The outcome of a [`Job`].
#[derive(Debug)]
pub enum JobDone {
    /// A snapshot was prepared (or could not be: the error says why, in words).
    Snapshot {
        /// From [`Job::PrepareSnapshot`].
        job: u64,
        /// The JPEG to publish.
        result: Result<Bytes, String>,
    },
    /// A [`Job::OffSession`] command finished.
    Command {
        /// From [`Job::OffSession`].
        id: CommandId,
        /// Success, or why not.
        result: Result<(), CommandError>,
    },
    /// A [`Job::Intercom`] finished.
    Intercom(IntercomDone),
}

/// The outcome of a [`Job::Intercom`].
#[derive(Debug)]
pub enum IntercomDone {
    /// From [`IntercomJob::Fetch`].
    Fetched {
        /// The playback.
        id: TalkId,
        /// The decoded audio, or why not.
        result: Result<Pcm, CommandError>,
    },
    /// From [`IntercomJob::Encode`].
    Encoded {
        /// The playback.
        id: TalkId,
        /// The frames, or why not.
        result: Result<Vec<Bytes>, CommandError>,
    },
}

/// Time until the next interval snapshot of `id` after wall time `wall`.
///
/// Each camera snapshots at its own phase of the interval, derived from its
/// id (FNV-1a) and counted on the wall clock, so cameras that came online
/// together do not all decode at the same instant and keep their places
/// across restarts. The delay is more than zero and at most one interval, so
/// no gap between two snapshots is longer than the interval.
pub fn staggered_delay(interval: Duration, id: &CameraId, wall: SystemTime) -> Duration {
    let period = interval.as_millis().max(1);
    let hash = id.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let phase = u128::from(hash) % period;
    let since_epoch = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let delay = match (phase + period - since_epoch % period) % period {
        0 => period,
        d => d,
    };
    Duration::from_millis(u64::try_from(delay).unwrap_or(u64::MAX))
}

/// How a session ended, as the glue saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The session closed itself with a reason.
    Closed(CloseReason),
    /// It never ran or died: sockets could not be bound, a socket failed, it panicked.
    Failed(String),
}

impl std::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed(r) => write!(f, "{r}"),
            Self::Failed(e) => f.write_str(e),
        }
    }
}

/// What to do after a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Retry after the ordinary backoff.
    Backoff,
    /// Retry after the long authentication backoff.
    AuthBackoff,
    /// Nothing answered: the slow backoff if the camera never answered
    /// before (likely wrong keys), else the ordinary one.
    Unanswered,
    /// Do not retry here; ask discovery to find the camera again.
    AwaitDiscovery,
    /// Do not retry (the bridge stopped it).
    Never,
}

/// The restart policy, keyed on why the session ended.
pub fn restart_policy(end: &SessionEnd) -> Restart {
    match end {
        SessionEnd::Closed(CloseReason::AuthRejected(_)) => Restart::AuthBackoff,
        SessionEnd::Closed(CloseReason::LeftMode(_)) => Restart::AwaitDiscovery,
        SessionEnd::Closed(CloseReason::Stopped) => Restart::Never,
        SessionEnd::Closed(CloseReason::Unanswered(_)) => Restart::Unanswered,
        SessionEnd::Closed(
            CloseReason::Silent(_)
            | CloseReason::PeerClosed
            | CloseReason::NoMedia(_)
            | CloseReason::Unavailable(_)
            | CloseReason::Protocol(_),
        )
        | SessionEnd::Failed(_) => Restart::Backoff,
    }
}

crate::timer_kind! {
    /// The core's deadlines.
    enum Timer {
        /// Start the next session after a backoff.
        Restart,
        /// The next interval snapshot.
        SnapshotDue,
        /// The oldest on-demand snapshot request gives up.
        WaiterExpiry,
        /// Refresh the counters in `state`.
        StateRefresh,
        /// The last viewer left a while ago: stop the live decoder.
        LiveLinger,
    }
}

/// Where the session is, with what each phase needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started yet.
    Idle,
    /// A session runs (asked to start at `started`).
    Running {
        started: Instant,
        /// When it started streaming, once it did.
        streaming_since: Option<Instant>,
        /// Start a new session as soon as this one has stopped (discovery update).
        restart_when_stopped: bool,
    },
    /// Waiting for the `Restart` timer (backoff or auth backoff).
    Waiting,
    /// Left its protocol; waiting for discovery.
    AwaitingDiscovery,
    /// Stopped for good.
    Stopped,
}

/// A snapshot being prepared by a job.
#[derive(Debug)]
struct SnapshotJob {
    job: u64,
    seq: u64,
    /// On-demand requests this snapshot answers (with whoever waits for each).
    waiters: Vec<Option<Reply>>,
}

/// A command running in the session.
#[derive(Debug)]
struct InFlight {
    kind: CommandKind,
    /// What the state shows once the camera accepted it.
    shows: Option<CameraDetails>,
    /// The SSID a Wi-Fi command sets and whether it has a password, applied
    /// to the state on success.
    wifi: Option<(String, bool)>,
    /// Who waits for the result.
    reply: Option<Reply>,
}

/// What the camera said about itself that its description shows: the Home
/// Assistant device's model and firmware, and the unit of its signal sensor.
#[derive(Debug, Clone, Default, PartialEq)]
struct Reported {
    model: Option<String>,
    firmware: Option<String>,
    /// [`Capability::Signal`] (dBm) or [`Capability::SignalPercent`].
    signal: Option<Capability>,
    /// The camera said whether it takes intercom audio.
    speaker: Option<bool>,
}

impl Reported {
    /// `info` as discovery described it, corrected by what the camera reported.
    fn describe(&self, mut info: CameraInfo) -> CameraInfo {
        if let Some(m) = &self.model {
            info.model.clone_from(m);
        }
        if self.firmware.is_some() {
            info.firmware.clone_from(&self.firmware);
        }
        if let Some(unit) = self.signal {
            info.capabilities
                .retain(|c| !matches!(c, Capability::Signal | Capability::SignalPercent));
            info.capabilities.push(unit);
        }
        match self.speaker {
            Some(true) if !info.can(Capability::Intercom) => {
                info.capabilities.push(Capability::Intercom);
            }
            Some(false) => info.capabilities.retain(|c| *c != Capability::Intercom),
            _ => {}
        }
        info
    }
}

/// One camera's logic above its session.
#[derive(Debug)]
pub struct CameraCore {
    /// The description as published: discovery's, corrected by `reported`.
    info: CameraInfo,
    /// The description as discovery gave it.
    discovered: CameraInfo,
    reported: Reported,
    /// The protocol's session factory: checks command values (pure).
    factory: Arc<dyn SessionFactory>,
    /// Commands carried out off the session ([`Job::OffSession`]).
    off_session: Vec<CommandKind>,
    settings: CoreSettings,
    rng: ChaCha8Rng,
    /// Monotonic and wall time at construction, to turn `now` into timestamps.
    anchor: (Instant, SystemTime),
    phase: Phase,
    /// Consecutive failed sessions (for the ordinary backoff).
    attempt: u32,
    /// Consecutive authentication rejections (for the auth backoff).
    auth_attempt: u32,
    /// Some session of this camera got an answer from it (so "no answer"
    /// means it is off now, not that its keys are wrong).
    answered: bool,
    timers: TimerTable<Timer>,
    state: CameraState,
    /// The state last handed to the publisher; an unchanged state is not resent.
    sent_state: Option<CameraState>,
    online: bool,
    sink: MediaSink,
    /// Sequence number of the newest picture published.
    published_seq: Option<u64>,
    snapshot_job: Option<SnapshotJob>,
    /// An interval snapshot came due while a job ran.
    snapshot_again: bool,
    /// On-demand requests waiting for a new frame (deadline, who waits),
    /// oldest first.
    waiters: VecDeque<(Instant, Option<Reply>)>,
    next_job: u64,
    next_command: u64,
    in_flight: BTreeMap<CommandId, InFlight>,
    staged_password: Secret,
    /// The interval the config asks for (before any runtime override).
    configured_interval: u32,
    overrides: Overrides,
    last_stats: Option<(Instant, SessionStats)>,
    /// Live viewers now (from the camera's feed).
    viewers: usize,
    /// The codec of the video this camera sends, once a frame showed it.
    video_codec: Option<VideoCodec>,
    /// A live decoder runs (asked for with [`Job::LiveDecoder`]).
    live_decoding: bool,
    /// Intercom playbacks.
    intercom: Intercom,
    events: VecDeque<BridgeEvent>,
    /// Answers for waiting front ends, sent after `events`.
    replies: VecDeque<(Reply, Result<(), CommandError>)>,
    session: VecDeque<SessionControl>,
    jobs: VecDeque<Job>,
}

impl CameraCore {
    /// A core for `info`; `overrides` are the persisted runtime settings, `seed`
    /// makes the backoff jitter reproducible, `now`/`wall` anchor timestamps.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        info: CameraInfo,
        factory: Arc<dyn SessionFactory>,
        configured_interval: u32,
        overrides: Overrides,
        settings: CoreSettings,
        seed: u64,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let interval = Overridden::resolve(overrides.snapshot_interval_s, configured_interval);
        let mut state = CameraState::new(&info, interval);
        state.rtsp_url = settings
            .rtsp_base
            .as_ref()
            .map(|base| format!("{base}/{}", info.id.as_str()));
        let sink = MediaSink::new(settings.max_gop_bytes);
        Self {
            discovered: info.clone(),
            reported: Reported::default(),
            info,
            factory,
            off_session: Vec::new(),
            settings,
            rng: ChaCha8Rng::seed_from_u64(seed),
            anchor: (now, wall),
            phase: Phase::Idle,
            attempt: 0,
            auth_attempt: 0,
            answered: false,
            timers: TimerTable::default(),
            state,
            sent_state: None,
            online: false,
            sink,
            published_seq: None,
            snapshot_job: None,
            snapshot_again: false,
            waiters: VecDeque::new(),
            next_job: 0,
            next_command: 0,
            in_flight: BTreeMap::new(),
            staged_password: Secret::default(),
            configured_interval,
            overrides,
            last_stats: None,
            viewers: 0,
            video_codec: None,
            live_decoding: false,
            intercom: Intercom::new(),
            replies: VecDeque::new(),
            events: VecDeque::new(),
            session: VecDeque::new(),
            jobs: VecDeque::new(),
        }
    }

    /// The camera's id.
    pub fn id(&self) -> &CameraId {
        &self.info.id
    }

    /// The camera's description.
    pub fn info(&self) -> &CameraInfo {
        &self.info
    }

    /// The current state (what `state` publishes).
    pub fn state(&self) -> &CameraState {
        &self.state
    }

    /// Whether frames are flowing.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// When the next session starts, while the camera waits out a backoff.
    pub fn restart_at(&self) -> Option<Instant> {
        self.timers.get(Timer::Restart)
    }

    fn wall(&self, now: Instant) -> String {
        let (mono, wall) = self.anchor;
        let t = wall + now.saturating_duration_since(mono);
        // Milliseconds: two snapshots within a second get different times.
        humantime::format_rfc3339_millis(t).to_string()
    }

    /// Registers the camera with the publisher and starts its first session.
    pub fn start(&mut self, now: Instant) {
        self.events
            .push_back(BridgeEvent::Registered(self.info.clone()));
        self.start_session(now);
        self.timers
            .set(Timer::StateRefresh, now + self.settings.state_every);
    }

    /// Stops the camera for good (bridge shutdown or removal).
    pub fn stop(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Running { .. }) {
            self.session.push_back(SessionControl::Stop);
        }
        self.phase = Phase::Stopped;
        self.session_over(now);
        self.timers.clear();
        self.state.session = SessionPhase::Stopped;
        self.emit_state(false);
    }

    fn start_session(&mut self, now: Instant) {
        self.phase = Phase::Running {
            started: now,
            streaming_since: None,
            restart_when_stopped: false,
        };
        self.timers.stop(Timer::Restart);
        self.sink.clear();
        self.state.session = SessionPhase::Connecting;
        self.session.push_back(SessionControl::Start);
        self.emit_state(false);
    }

    /// Discovery reported the camera. `changed` is true when its address or
    /// credentials changed (`Updated`): the session restarts with the new
    /// description. An unchanged `Found` restarts only a camera that was waiting
    /// for discovery.
    pub fn handle_discovered(
        &mut self,
        now: Instant,
        info: CameraInfo,
        factory: Arc<dyn SessionFactory>,
        changed: bool,
    ) {
        if changed {
            let described = self.reported.describe(info.clone());
            let registered = described != self.info;
            self.discovered = info;
            self.info = described;
            self.factory = factory;
            self.state.address = self
                .info
                .address()
                .map(|a| a.to_string())
                .unwrap_or_default();
            if registered {
                self.events
                    .push_back(BridgeEvent::Registered(self.info.clone()));
            }
        }
        match self.phase {
            Phase::Running {
                ref mut restart_when_stopped,
                ..
            } if changed => {
                *restart_when_stopped = true;
                self.session.push_back(SessionControl::Stop);
            }
            Phase::Waiting | Phase::AwaitingDiscovery if changed => {
                self.attempt = 0;
                self.auth_attempt = 0;
                self.start_session(now);
            }
            Phase::AwaitingDiscovery => {
                self.attempt = 0;
                self.start_session(now);
            }
            _ => self.emit_state(false),
        }
    }

    /// Something came out of the session (`Closed` is ignored here: the glue
    /// reports the end through [`CameraCore::handle_session_ended`]).
    pub fn handle_session_event(&mut self, now: Instant, event: SessionEvent) {
        if !matches!(self.phase, Phase::Running { .. }) {
            // A late event of a session that is already over.
            if let SessionEvent::CommandDone { id, result } = event {
                self.command_done(id, result);
            }
            return;
        }
        match event {
            SessionEvent::Streaming(details) => {
                if let Phase::Running {
                    ref mut streaming_since,
                    ..
                } = self.phase
                {
                    *streaming_since = Some(now);
                }
                self.apply_details(details);
                self.state.connected_since = Some(self.wall(now));
                self.state.session = SessionPhase::Streaming;
                self.state.last_error = None;
                self.emit_state(false);
            }
            SessionEvent::Details(details) => {
                self.apply_details(details);
                self.emit_state(false);
            }
            SessionEvent::Media(frame) => self.on_media(now, frame),
            SessionEvent::Stats(stats) => self.on_stats(now, stats),
            SessionEvent::CommandDone { id, result } => self.command_done(id, result),
            SessionEvent::Talk(ev) => {
                self.intercom.handle_talk_event(ev);
                self.pump_intercom();
            }
            SessionEvent::Closed(_) => {}
        }
    }

    fn apply_details(&mut self, d: CameraDetails) {
        let mut reported = self.reported.clone();
        if let Some(m) = &d.model {
            reported.model = Some(m.clone());
        }
        if d.firmware.is_some() {
            reported.firmware.clone_from(&d.firmware);
        }
        if d.speaker.is_some() {
            reported.speaker = d.speaker;
        }
        if d.signal_dbm.is_some() {
            reported.signal = Some(Capability::Signal);
        } else if d.signal_percent.is_some() {
            reported.signal = Some(Capability::SignalPercent);
        }
        if reported != self.reported {
            self.reported = reported;
            let described = self.reported.describe(self.discovered.clone());
            if described != self.info {
                // The Home Assistant device shows the model the camera reported.
                self.info = described;
                self.events
                    .push_back(BridgeEvent::Registered(self.info.clone()));
            }
        }
        if let Some(m) = d.model {
            self.state.model = m;
        }
        if d.firmware.is_some() {
            self.state.firmware = d.firmware;
        }
        if d.resolution.is_some() {
            self.state.resolution = d.resolution;
        }
        if !d.resolutions.is_empty() {
            self.state.resolutions = d.resolutions;
        }
        if d.night_vision.is_some() {
            self.state.night_vision = d.night_vision;
        }
        if let Some(on) = d.ir_led {
            self.state.ir_led = Some(on.into());
        }
        if let Some(on) = d.light {
            self.state.light = Some(on.into());
        }
        if d.signal_dbm.is_some() {
            self.state.signal_dbm = d.signal_dbm;
        }
        if d.signal_percent.is_some() {
            self.state.signal_percent = d.signal_percent;
        }
    }

    fn on_media(&mut self, now: Instant, frame: MediaFrame) {
        if let MediaFrame::Video(v) = &frame {
            if self.video_codec != Some(v.codec) {
                self.video_codec = Some(v.codec);
                self.update_live(now);
            }
        }
        let fresh = match frame {
            MediaFrame::Jpeg(jpeg) => Some(self.sink.push_jpeg(now, jpeg)),
            MediaFrame::Video(v) => self.sink.push_video(now, v),
            MediaFrame::VideoLost => {
                self.sink.lost();
                None
            }
            MediaFrame::Audio { .. } => None,
        };
        if fresh.is_none() {
            return;
        }
        if !self.online {
            // First picture after (re)connecting: online, and publish it now.
            self.set_online(true);
            self.request_snapshot(Vec::new(), true);
            self.schedule_snapshot(now);
        }
        if !self.waiters.is_empty() {
            let waiting = self.waiters.drain(..).map(|(_, r)| r).collect();
            self.timers.stop(Timer::WaiterExpiry);
            self.request_snapshot(waiting, true);
        }
    }

    fn on_stats(&mut self, now: Instant, stats: SessionStats) {
        if let Some((then, prev)) = &self.last_stats {
            let secs = now.saturating_duration_since(*then).as_secs_f64();
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

    fn set_online(&mut self, online: bool) {
        if self.online == online {
            return;
        }
        self.online = online;
        if !online {
            self.state.fps = 0.0;
            self.state.bitrate_kbps = 0.0;
            self.last_stats = None;
        }
        self.events.push_back(BridgeEvent::Availability {
            camera: self.info.id.clone(),
            online,
        });
    }

    /// The session is over (ended, or stopped): everything tied to it ends too.
    fn session_over(&mut self, _now: Instant) {
        self.set_online(false);
        self.state.connected_since = None;
        self.timers.stop(Timer::SnapshotDue);
        self.timers.stop(Timer::WaiterExpiry);
        for (_, reply) in std::mem::take(&mut self.waiters) {
            self.result(CommandKind::Snapshot, reply, Err(CommandError::Offline));
        }
        let ids: Vec<CommandId> = self.in_flight.keys().copied().collect();
        for id in ids {
            self.command_done(id, Err(CommandError::Offline));
        }
        self.intercom.handle_session_gone();
        self.pump_intercom();
        self.sink.clear();
    }

    /// The session ended; decides when (and whether) the next one starts.
    pub fn handle_session_ended(&mut self, now: Instant, end: SessionEnd) {
        let Phase::Running {
            started,
            streaming_since,
            restart_when_stopped,
        } = self.phase
        else {
            return; // already stopped or restarted
        };
        self.session_over(now);
        if restart_when_stopped {
            self.attempt = 0;
            self.auth_attempt = 0;
            self.state.reconnects += 1;
            self.start_session(now);
            return;
        }
        let policy = restart_policy(&end);
        if policy != Restart::Never {
            self.state.last_error = Some(end.to_string());
        }
        if streaming_since
            .is_some_and(|s| now.saturating_duration_since(s) >= self.settings.backoff.reset_after)
        {
            self.attempt = 0;
        }
        if streaming_since.is_some()
            && !matches!(end, SessionEnd::Closed(CloseReason::AuthRejected(_)))
        {
            // It got in, so the credentials work.
            self.auth_attempt = 0;
        }
        let _ = started;
        let policy = match policy {
            Restart::Unanswered if self.answered => Restart::Backoff,
            other => other,
        };
        if streaming_since.is_some()
            || matches!(
                end,
                SessionEnd::Closed(
                    CloseReason::AuthRejected(_)
                        | CloseReason::PeerClosed
                        | CloseReason::NoMedia(_)
                        | CloseReason::Unavailable(_)
                        | CloseReason::LeftMode(_)
                )
            )
        {
            self.answered = true;
        }
        match policy {
            Restart::Unanswered => {
                let delay = self
                    .settings
                    .unanswered_backoff
                    .delay(self.attempt, &mut self.rng);
                self.attempt = self.attempt.saturating_add(1);
                tracing::warn!(camera = %self.info.id, reason = %end, retry_in = ?delay, "the camera has never answered");
                self.wait(now, delay, SessionPhase::Backoff);
            }
            Restart::Backoff => {
                let delay = self.settings.backoff.delay(self.attempt, &mut self.rng);
                self.attempt = self.attempt.saturating_add(1);
                tracing::info!(camera = %self.info.id, reason = %end, retry_in = ?delay, "session ended");
                self.wait(now, delay, SessionPhase::Backoff);
            }
            Restart::AuthBackoff => {
                let delay = self
                    .settings
                    .auth_backoff
                    .delay(self.auth_attempt, &mut self.rng);
                self.auth_attempt = self.auth_attempt.saturating_add(1);
                tracing::warn!(camera = %self.info.id, reason = %end, retry_in = ?delay, "camera rejected the credentials; check them in the config");
                self.wait(now, delay, SessionPhase::AuthFailed);
            }
            Restart::AwaitDiscovery => {
                tracing::info!(camera = %self.info.id, reason = %end, "camera left; looking for it through discovery");
                self.phase = Phase::AwaitingDiscovery;
                self.state.session = SessionPhase::AwaitingDiscovery;
                self.jobs.push_back(Job::Rediscover);
                self.emit_state(false);
            }
            Restart::Never => {
                self.phase = Phase::Stopped;
                self.state.session = SessionPhase::Stopped;
                self.emit_state(false);
            }
        }
    }

    fn wait(&mut self, now: Instant, delay: Duration, shown: SessionPhase) {
        self.phase = Phase::Waiting;
        self.state.session = shown;
        self.timers.set(Timer::Restart, now + delay);
        self.emit_state(false);
    }

    /// A deadline from [`CameraCore::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.expired(now) {
            match timer {
                Timer::Restart => {
                    if self.phase == Phase::Waiting {
                        self.state.reconnects += 1;
                        self.start_session(now);
                    }
                }
                Timer::SnapshotDue => {
                    self.schedule_snapshot(now);
                    if self.online && self.sink.latest_seq() != self.published_seq {
                        self.request_snapshot(Vec::new(), false);
                    }
                }
                Timer::WaiterExpiry => self.expire_waiters(now),
                Timer::StateRefresh => {
                    self.publish_state();
                    self.timers
                        .set(Timer::StateRefresh, now + self.settings.state_every);
                }
                Timer::LiveLinger => {
                    if self.viewers == 0 && self.live_decoding {
                        self.live_decoding = false;
                        self.jobs.push_back(Job::LiveDecoder(None));
                    }
                }
            }
        }
    }

    fn expire_waiters(&mut self, now: Instant) {
        while self.waiters.front().is_some_and(|(d, _)| *d <= now) {
            let Some((_, reply)) = self.waiters.pop_front() else {
                break;
            };
            let err = CommandError::TimedOut {
                what: "no new frame from the camera".into(),
                after: self.settings.snapshot_wait,
            };
            self.result(CommandKind::Snapshot, reply, Err(err));
        }
        if let Some((next, _)) = self.waiters.front() {
            self.timers.set(Timer::WaiterExpiry, *next);
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.state.snapshot_interval_s))
    }

    fn schedule_snapshot(&mut self, now: Instant) {
        if self.interval().is_zero() || !self.online {
            self.timers.stop(Timer::SnapshotDue);
        } else {
            let wall = self.anchor.1 + now.saturating_duration_since(self.anchor.0);
            let delay = staggered_delay(self.interval(), &self.info.id, wall);
            self.timers.set(Timer::SnapshotDue, now + delay);
        }
    }

    /// Prepares the newest picture for publishing; `waiters` on-demand requests
    /// are answered when it is published; `urgent` puts it ahead of interval
    /// snapshots (see [`Job::PrepareSnapshot`]).
    fn request_snapshot(&mut self, waiters: Vec<Option<Reply>>, urgent: bool) {
        if let Some(job) = &mut self.snapshot_job {
            // One job at a time; the next one starts when this one is done.
            job.waiters.extend(waiters);
            self.snapshot_again = true;
            return;
        }
        let Some(source) = self.sink.snapshot_source() else {
            for reply in waiters {
                self.result(
                    CommandKind::Snapshot,
                    reply,
                    Err(CommandError::Refused("no picture to publish yet".into())),
                );
            }
            return;
        };
        self.next_job += 1;
        self.snapshot_job = Some(SnapshotJob {
            job: self.next_job,
            seq: source.seq(),
            waiters,
        });
        self.jobs.push_back(Job::PrepareSnapshot {
            job: self.next_job,
            source,
            urgent,
        });
    }

    /// A job finished.
    pub fn handle_job_done(&mut self, now: Instant, done: JobDone) {
        let (job, result) = match done {
            JobDone::Snapshot { job, result } => (job, result),
            JobDone::Command { id, result } => {
                self.command_done(id, result);
                return;
            }
            JobDone::Intercom(done) => {
                match done {
                    IntercomDone::Fetched { id, result } => {
                        self.intercom.handle_fetched(id, result)
                    }
                    IntercomDone::Encoded { id, result } => {
                        self.intercom.handle_encoded(id, result)
                    }
                }
                self.pump_intercom();
                return;
            }
        };
        let Some(sj) = self.snapshot_job.take_if(|sj| sj.job == job) else {
            return;
        };
        match result {
            Ok(jpeg) => {
                self.published_seq = Some(sj.seq);
                let taken_at = self.wall(now);
                self.state.last_snapshot_at = Some(taken_at.clone());
                self.events.push_back(BridgeEvent::Snapshot {
                    camera: self.info.id.clone(),
                    jpeg,
                    taken_at,
                });
                for reply in sj.waiters {
                    self.result(CommandKind::Snapshot, reply, Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(camera = %self.info.id, error = %e, "snapshot not published");
                self.state.last_error = Some(format!("snapshot: {e}"));
                // Do not retry the same picture forever.
                self.published_seq = Some(sj.seq);
                for reply in sj.waiters {
                    self.result(
                        CommandKind::Snapshot,
                        reply,
                        Err(CommandError::Refused(format!("snapshot failed: {e}"))),
                    );
                }
            }
        }
        if std::mem::take(&mut self.snapshot_again)
            && self.online
            && self.sink.latest_seq() != self.published_seq
        {
            self.request_snapshot(Vec::new(), false);
        }
        self.emit_state(false);
    }

    /// The number of live viewers changed.
    pub fn handle_viewers(&mut self, now: Instant, viewers: usize) {
        self.viewers = viewers;
        self.update_live(now);
    }

    /// Starts the live decoder when someone watches a video camera; stops it
    /// [`LIVE_LINGER`] after the last viewer left. An MJPEG camera needs none:
    /// its own JPEGs are the live view.
    fn update_live(&mut self, now: Instant) {
        let Some(codec) = self.video_codec else {
            return;
        };
        if self.viewers > 0 {
            self.timers.stop(Timer::LiveLinger);
            if !self.live_decoding {
                self.live_decoding = true;
                self.jobs.push_back(Job::LiveDecoder(Some(codec)));
            }
        } else if self.live_decoding && self.timers.get(Timer::LiveLinger).is_none() {
            self.timers.set(Timer::LiveLinger, now + LIVE_LINGER);
        }
    }

    /// The glue could not hand a snapshot to the publisher (queue full).
    pub fn snapshot_dropped(&mut self) {
        self.state.snapshots_dropped += 1;
    }

    /// A command for this camera (already parsed and checked against its
    /// capabilities); its result goes to `reply` and is broadcast.
    pub fn handle_request(&mut self, now: Instant, command: CameraCommand, reply: Option<Reply>) {
        let kind = command.kind();
        // The protocol's value rules, the same for the staged and one-step paths.
        if let Err(e) = self.factory.check(&command) {
            self.result(kind, reply, Err(e));
            return;
        }
        match command {
            CameraCommand::Snapshot => self.on_snapshot_request(now, reply),
            CameraCommand::SetSnapshotInterval(secs) => {
                self.state.snapshot_interval_s = secs;
                self.overrides.snapshot_interval_s =
                    (secs != self.configured_interval).then_some(Overridden {
                        value: secs,
                        configured: self.configured_interval,
                    });
                self.jobs
                    .push_back(Job::SaveOverrides(self.overrides.clone()));
                if self.online {
                    self.schedule_snapshot(now);
                }
                self.result(kind, reply, Ok(()));
            }
            CameraCommand::StageWifiSsid(ssid) => {
                self.state.wifi_ssid = ssid;
                self.result(kind, reply, Ok(()));
            }
            CameraCommand::StageWifiPassword(pw) => {
                self.state.wifi_password_set = !pw.is_empty();
                self.staged_password = pw;
                self.result(kind, reply, Ok(()));
            }
            CameraCommand::ApplyWifi => {
                if self.state.wifi_ssid.is_empty() {
                    let err = CommandError::BadValue {
                        command: kind.name(),
                        reason: "no SSID staged; publish it to set/wifi_ssid first".into(),
                    };
                    self.result(kind, reply, Err(err));
                    return;
                }
                let cmd = CameraCommand::SetWifi {
                    ssid: self.state.wifi_ssid.clone(),
                    password: self.staged_password.clone(),
                };
                if let Err(e) = self.factory.check(&cmd) {
                    self.result(kind, reply, Err(e));
                    return;
                }
                self.forward(kind, cmd, reply);
            }
            CameraCommand::Intercom(request) => {
                if !self.online || !matches!(self.phase, Phase::Running { .. }) {
                    self.result(kind, reply, Err(CommandError::Offline));
                    return;
                }
                self.intercom.handle_request(request, reply);
                self.pump_intercom();
            }
            CameraCommand::IntercomStop => {
                self.intercom.handle_stop();
                self.result(kind, reply, Ok(()));
                self.pump_intercom();
            }
            other if self.off_session.contains(&kind) => {
                self.next_command += 1;
                let id = CommandId(self.next_command);
                self.in_flight.insert(
                    id,
                    InFlight {
                        kind,
                        shows: None,
                        wifi: None,
                        reply,
                    },
                );
                self.jobs.push_back(Job::OffSession { id, command: other });
            }
            other => self.forward(kind, other, reply),
        }
    }

    /// The commands this camera carries out without its session (the glue
    /// runs them as [`Job::OffSession`]), e.g. a reboot through the cloud.
    pub fn set_off_session(&mut self, kinds: Vec<CommandKind>) {
        self.off_session = kinds;
    }

    fn on_snapshot_request(&mut self, now: Instant, reply: Option<Reply>) {
        if !self.online {
            self.result(CommandKind::Snapshot, reply, Err(CommandError::Offline));
            return;
        }
        // A picture not yet published and at most `fresh` old answers at once;
        // otherwise the user gets the next new frame, never a repeat.
        let fresh = self.sink.snapshot_source().is_some_and(|s| {
            Some(s.seq()) != self.published_seq
                && now.saturating_duration_since(s.at()) <= self.settings.fresh
        });
        if fresh && self.snapshot_job.is_none() {
            self.request_snapshot(vec![reply], true);
        } else if self.waiters.len() >= self.settings.max_waiting_snapshots {
            let busy = CommandError::Busy(
                "snapshots already requested; waiting for the next frame".into(),
            );
            self.result(CommandKind::Snapshot, reply, Err(busy));
        } else {
            let deadline = now + self.settings.snapshot_wait;
            self.waiters.push_back((deadline, reply));
            self.timers.set_earliest(Timer::WaiterExpiry, deadline);
        }
    }

    fn forward(&mut self, kind: CommandKind, command: CameraCommand, reply: Option<Reply>) {
        if !self.online || !matches!(self.phase, Phase::Running { .. }) {
            self.result(kind, reply, Err(CommandError::Offline));
            return;
        }
        let wifi = match &command {
            CameraCommand::SetWifi { ssid, password } => Some((ssid.clone(), !password.is_empty())),
            _ => None,
        };
        self.next_command += 1;
        let id = CommandId(self.next_command);
        let shows = match &command {
            CameraCommand::SetResolution(r) => Some(CameraDetails {
                resolution: Some(r.clone()),
                ..CameraDetails::default()
            }),
            CameraCommand::NightVision(n) => Some(CameraDetails {
                night_vision: Some(*n),
                ..CameraDetails::default()
            }),
            CameraCommand::Light(on) => Some(CameraDetails {
                light: Some(*on),
                ..CameraDetails::default()
            }),
            CameraCommand::IrLed(on) => Some(CameraDetails {
                ir_led: Some(*on),
                ..CameraDetails::default()
            }),
            _ => None,
        };
        self.in_flight.insert(
            id,
            InFlight {
                kind,
                shows,
                wifi,
                reply,
            },
        );
        self.session
            .push_back(SessionControl::Command { id, command });
    }

    fn command_done(&mut self, id: CommandId, result: Result<(), CommandError>) {
        let Some(cmd) = self.in_flight.remove(&id) else {
            return;
        };
        if result.is_ok() {
            if let Some(d) = cmd.shows {
                self.apply_details(d);
            }
            if let Some((ssid, with_password)) = cmd.wifi {
                // The camera has it now: show what it was given (never the
                // password itself) and drop our copy of the secret.
                self.state.wifi_ssid = ssid;
                self.staged_password = Secret::default();
                self.state.wifi_password_set = with_password;
            }
        }
        self.result(cmd.kind, cmd.reply, result);
    }

    /// Reports a command's outcome on the hub and to whoever waits (after
    /// the events: see [`CameraCore::poll_reply`]); after a success the
    /// state is republished.
    fn result(
        &mut self,
        kind: CommandKind,
        reply: Option<Reply>,
        result: Result<(), CommandError>,
    ) {
        self.result_with(kind, reply, result, None);
    }

    fn result_with(
        &mut self,
        kind: CommandKind,
        reply: Option<Reply>,
        result: Result<(), CommandError>,
        playback: Option<crate::model::PlaybackReport>,
    ) {
        let ok = result.is_ok();
        if let Some(reply) = reply {
            self.replies.push_back((reply, result.clone()));
        }
        self.events.push_back(BridgeEvent::CommandResult {
            camera: self.info.id.clone(),
            command: kind,
            result,
            playback,
        });
        if ok {
            self.emit_state(true);
        }
    }

    /// Moves the intercom's outputs: talk input to the session, jobs to the
    /// glue, results to the hub; the state shows what the speaker does.
    fn pump_intercom(&mut self) {
        while let Some(input) = self.intercom.poll_talk() {
            self.session.push_back(SessionControl::Talk(input));
        }
        while let Some(job) = self.intercom.poll_job() {
            self.jobs.push_back(Job::Intercom(job));
        }
        let mut changed = false;
        let status = self.intercom.status().as_str();
        if self.state.intercom != status {
            self.state.intercom = status;
            changed = true;
        }
        while let Some(f) = self.intercom.poll_finished() {
            // A successful result republishes the state itself.
            changed &= f.result.is_err();
            self.result_with(f.kind, f.reply, f.result, f.playback);
        }
        if changed {
            self.emit_state(false);
        }
    }

    /// Hands the state to the publisher if something besides its counters
    /// changed (or if `force`); counters wait for the stats period
    /// ([`Timer::StateRefresh`]), so a streaming camera's state goes out once
    /// per period, not with every snapshot.
    fn emit_state(&mut self, force: bool) {
        let settled = self
            .sent_state
            .as_ref()
            .is_some_and(|s| s.same_but_counters(&self.state));
        if !force && settled {
            return;
        }
        self.publish_state_now();
    }

    /// Hands the state to the publisher if anything changed (the stats period).
    fn publish_state(&mut self) {
        if self.sent_state.as_ref() != Some(&self.state) {
            self.publish_state_now();
        }
    }

    fn publish_state_now(&mut self) {
        self.sent_state = Some(self.state.clone());
        self.events.push_back(BridgeEvent::State {
            camera: self.info.id.clone(),
            state: Box::new(self.state.clone()),
        });
    }

    /// Next event for the publisher.
    #[must_use]
    pub fn poll_bridge_event(&mut self) -> Option<BridgeEvent> {
        self.events.pop_front()
    }

    /// Next answer for whoever waits for a command. Drain it after
    /// [`CameraCore::poll_bridge_event`]: a waiter that reads the hub's view
    /// then finds what the command did (the new snapshot, the new state).
    #[must_use]
    pub fn poll_reply(&mut self) -> Option<(Reply, Result<(), CommandError>)> {
        self.replies.pop_front()
    }

    /// Next instruction for the session glue.
    #[must_use]
    pub fn poll_session_command(&mut self) -> Option<SessionControl> {
        self.session.pop_front()
    }

    /// Next job for the glue.
    #[must_use]
    pub fn poll_job(&mut self) -> Option<Job> {
        self.jobs.pop_front()
    }

    /// When [`CameraCore::handle_timeout`] must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, Reach};

    const MIN: Duration = Duration::from_secs(60);

    fn info() -> CameraInfo {
        CameraInfo {
            id: CameraId::parse("porch").unwrap(),
            uid: "porch".into(),
            name: "Porch".into(),
            protocol: Protocol::Demo,
            reach: Reach::Host("127.0.0.1:8080".parse().unwrap()),
            model: "A9".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        }
    }

    fn factory() -> Arc<dyn SessionFactory> {
        let a: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        Arc::new(crate::proto::demo::DemoConfig::new(a, a, a, |_| true))
    }

    /// A core and everything it said, stepped in virtual time.
    struct Harness {
        core: CameraCore,
        now: Instant,
        events: Vec<BridgeEvent>,
        session: Vec<SessionControl>,
        jobs: Vec<Job>,
    }

    impl Harness {
        fn new(interval: u32, overrides: Overrides) -> Self {
            let now = crate::io::clock::now();
            let core = CameraCore::new(
                info(),
                factory(),
                interval,
                overrides,
                CoreSettings::default(),
                7,
                now,
                SystemTime::UNIX_EPOCH,
            );
            let mut h = Self {
                core,
                now,
                events: vec![],
                session: vec![],
                jobs: vec![],
            };
            h.core.start(now);
            h.drain();
            h
        }

        fn drain(&mut self) {
            while let Some(e) = self.core.poll_bridge_event() {
                self.events.push(e);
            }
            while let Some((reply, result)) = self.core.poll_reply() {
                let _ = reply.send(result);
            }
            while let Some(c) = self.core.poll_session_command() {
                self.session.push(c);
            }
            while let Some(j) = self.core.poll_job() {
                self.jobs.push(j);
            }
        }

        /// Advances virtual time by `d`, firing every deadline on the way.
        fn advance(&mut self, d: Duration) {
            let until = self.now + d;
            while let Some(t) = self.core.poll_timeout().filter(|t| *t <= until) {
                self.now = t;
                self.core.handle_timeout(t);
                self.drain();
            }
            self.now = until;
        }

        fn session_event(&mut self, ev: SessionEvent) {
            self.core.handle_session_event(self.now, ev);
            self.drain();
        }

        fn frame(&mut self) {
            self.session_event(SessionEvent::Media(MediaFrame::Jpeg(Bytes::from_static(
                b"\xff\xd8jpeg\xff\xd9",
            ))));
        }

        fn ended(&mut self, end: SessionEnd) {
            self.core.handle_session_ended(self.now, end);
            self.drain();
        }

        fn request(&mut self, c: CameraCommand) {
            self.core.handle_request(self.now, c, None);
            self.drain();
        }

        /// Completes every snapshot job successfully.
        fn finish_jobs(&mut self) {
            for job in std::mem::take(&mut self.jobs) {
                if let Job::PrepareSnapshot { job, source, .. } = job {
                    let SnapshotSource::Jpeg { jpeg, .. } = source else {
                        panic!("jpeg source")
                    };
                    let done = JobDone::Snapshot {
                        job,
                        result: Ok(jpeg),
                    };
                    self.core.handle_job_done(self.now, done);
                    self.drain();
                } else {
                    self.jobs.push(job);
                }
            }
        }

        fn take_events(&mut self) -> Vec<BridgeEvent> {
            std::mem::take(&mut self.events)
        }

        fn starts(&self) -> usize {
            self.session
                .iter()
                .filter(|c| matches!(c, SessionControl::Start))
                .count()
        }

        fn streaming(&mut self) {
            self.session_event(SessionEvent::Streaming(CameraDetails::default()));
            self.frame();
            self.finish_jobs();
        }
    }

    fn availability(events: &[BridgeEvent]) -> Vec<bool> {
        events
            .iter()
            .filter_map(|e| match e {
                BridgeEvent::Availability { online, .. } => Some(*online),
                _ => None,
            })
            .collect()
    }

    fn results(events: &[BridgeEvent]) -> Vec<(&'static str, Result<(), CommandError>)> {
        events
            .iter()
            .filter_map(|e| match e {
                BridgeEvent::CommandResult {
                    command, result, ..
                } => Some((command.name(), result.clone())),
                _ => None,
            })
            .collect()
    }

    fn snapshots(events: &[BridgeEvent]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e, BridgeEvent::Snapshot { .. }))
            .count()
    }

    #[test]
    fn start_registers_then_connects_and_the_first_frame_brings_it_online_with_a_snapshot() {
        let mut h = Harness::new(10, Overrides::default());
        assert!(matches!(h.events[0], BridgeEvent::Registered(_)));
        assert_eq!(h.starts(), 1);
        assert_eq!(h.core.state().session, SessionPhase::Connecting);
        h.session_event(SessionEvent::Streaming(CameraDetails::default()));
        assert_eq!(h.core.state().session, SessionPhase::Streaming);
        assert_eq!(availability(&h.events), Vec::<bool>::new());
        h.frame();
        assert_eq!(availability(&h.events), vec![true]);
        assert_eq!(h.jobs.len(), 1, "the first frame is published at once");
        h.finish_jobs();
        assert_eq!(snapshots(&h.events), 1);
        assert_eq!(
            h.core.state().last_snapshot_at.as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn a_silent_camera_goes_offline_and_restarts_after_a_short_backoff() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.take_events();
        h.ended(SessionEnd::Closed(CloseReason::Silent(
            Duration::from_secs(10),
        )));
        assert_eq!(availability(&h.events), vec![false]);
        assert_eq!(h.core.state().session, SessionPhase::Backoff);
        assert_eq!(
            h.core.state().last_error.as_deref(),
            Some("camera silent for 10s")
        );
        let retry = h.core.restart_at().unwrap() - h.now;
        assert!(
            retry >= Duration::from_millis(500) && retry <= Duration::from_secs(1),
            "{retry:?}"
        );
        h.advance(Duration::from_secs(1));
        assert_eq!(h.starts(), 2);
        assert_eq!(h.core.state().reconnects, 1);
        assert_eq!(h.core.state().session, SessionPhase::Connecting);
    }

    #[test]
    fn an_auth_rejection_backs_off_long_and_is_not_retried_like_a_silent_camera() {
        let mut silent = Harness::new(10, Overrides::default());
        let mut rejected = Harness::new(10, Overrides::default());
        for round in 1..=3u32 {
            silent.ended(SessionEnd::Failed("socket error".into()));
            rejected.ended(SessionEnd::Closed(CloseReason::AuthRejected(
                "wrong password".into(),
            )));
            assert_eq!(rejected.core.state().session, SessionPhase::AuthFailed);
            assert_eq!(
                rejected.core.state().last_error.as_deref(),
                Some("authentication rejected: wrong password")
            );
            let auth_wait = rejected.core.restart_at().unwrap() - rejected.now;
            let silent_wait = silent.core.restart_at().unwrap() - silent.now;
            // Auth: 5 min doubling (jittered ×0.5–1); ordinary: 1 s doubling.
            let floor = Duration::from_secs(150 << (round - 1));
            assert!(auth_wait >= floor, "round {round}: {auth_wait:?}");
            assert!(silent_wait <= Duration::from_secs(1 << (round - 1)));
            silent.advance(silent_wait);
            rejected.advance(auth_wait);
        }
        assert_eq!(rejected.starts(), 4);
        assert_eq!(silent.starts(), 4);
        // Over the same ten minutes, a camera failing at every attempt: an
        // ordinary failure is retried many times, a rejection once or twice.
        let attempts_in_ten_minutes = |end: SessionEnd| {
            let mut h = Harness::new(10, Overrides::default());
            for _ in 0..600 {
                if h.core.state().session == SessionPhase::Connecting {
                    h.ended(end.clone());
                }
                h.advance(Duration::from_secs(1));
            }
            h.starts()
        };
        let rejected =
            attempts_in_ten_minutes(SessionEnd::Closed(CloseReason::AuthRejected("no".into())));
        let silent = attempts_in_ten_minutes(SessionEnd::Closed(CloseReason::PeerClosed));
        assert!(rejected <= 3, "{rejected}");
        assert!(silent >= 10, "{silent}");
    }

    #[test]
    fn no_answer_from_a_camera_that_never_answered_backs_off_longer_than_from_one_that_did() {
        let why = || {
            SessionEnd::Closed(CloseReason::Unanswered(
                "no answer to a Disco made with this camera's UID/ENR/MAC: check the ENR and MAC, or that the camera is on".into(),
            ))
        };
        let mut never = Harness::new(10, Overrides::default());
        let mut before = Harness::new(10, Overrides::default());
        before.streaming();
        before.ended(SessionEnd::Closed(CloseReason::Silent(
            Duration::from_secs(5),
        )));
        before.advance(before.core.restart_at().unwrap() - before.now);
        for round in 0..3u32 {
            never.ended(why());
            before.ended(why());
            for h in [&never, &before] {
                let err = h.core.state().last_error.clone().unwrap();
                assert!(err.contains("check the ENR and MAC"), "{err}");
                assert_eq!(h.core.state().session, SessionPhase::Backoff);
            }
            let never_wait = never.core.restart_at().unwrap() - never.now;
            let before_wait = before.core.restart_at().unwrap() - before.now;
            // 30 s doubling (jittered ×0.5–1) against the ordinary 1 s doubling.
            assert!(
                never_wait >= Duration::from_secs(15 << round),
                "{never_wait:?}"
            );
            assert!(
                before_wait <= Duration::from_secs(2 << round),
                "{before_wait:?}"
            );
            never.advance(never_wait);
            before.advance(before_wait);
        }
        // A camera that answers once (here: rejects the login) is then
        // treated like any camera that went quiet.
        never.ended(SessionEnd::Closed(CloseReason::AuthRejected(
            "wrong ENR".into(),
        )));
        never.advance(never.core.restart_at().unwrap() - never.now);
        never.ended(why());
        let wait = never.core.restart_at().unwrap() - never.now;
        assert!(wait <= Duration::from_secs(16), "{wait:?}");
    }

    #[test]
    fn a_camera_that_left_demo_mode_waits_for_discovery_instead_of_retrying() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.ended(SessionEnd::Closed(CloseReason::LeftMode("demo mode")));
        assert_eq!(h.core.state().session, SessionPhase::AwaitingDiscovery);
        assert!(matches!(h.jobs.as_slice(), [Job::Rediscover]));
        h.advance(10 * MIN);
        assert_eq!(h.starts(), 1, "no retry by itself");
        h.core.handle_discovered(h.now, info(), factory(), false);
        h.drain();
        assert_eq!(h.starts(), 2, "found again: restarted");
    }

    #[test]
    fn an_update_restarts_a_running_session_once_it_stopped() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        let mut moved = info();
        moved.reach = Reach::Host("127.0.0.9:8080".parse().unwrap());
        h.core.handle_discovered(h.now, moved, factory(), true);
        h.drain();
        assert!(matches!(h.session.last(), Some(SessionControl::Stop)));
        assert!(h
            .events
            .iter()
            .any(|e| matches!(e, BridgeEvent::Registered(i) if i.address().unwrap().ip().to_string() == "127.0.0.9")));
        h.ended(SessionEnd::Closed(CloseReason::Stopped));
        assert_eq!(h.starts(), 2, "restarted at once, no backoff");
        assert_eq!(h.core.state().address, "127.0.0.9:8080");
        // An unchanged Found leaves a running camera alone.
        h.core
            .handle_discovered(h.now, h.core.info().clone(), factory(), false);
        h.drain();
        assert_eq!(h.starts(), 2);
    }

    #[test]
    fn off_session_commands_run_as_jobs_even_offline_and_report_once() {
        let mut h = Harness::new(10, Overrides::default());
        h.core.set_off_session(vec![CommandKind::Reboot]);
        h.take_events();
        let sent_before = h.session.len();
        // Not streaming yet: a session command would be refused as offline;
        // the cloud reboot goes out as a job.
        h.request(CameraCommand::Reboot);
        assert_eq!(h.session.len(), sent_before, "the session never sees it");
        let Some(Job::OffSession { id, command }) = h.jobs.pop() else {
            panic!("an off-session job: {:?}", h.jobs)
        };
        assert!(matches!(command, CameraCommand::Reboot));
        assert!(
            results(&h.events).is_empty(),
            "no result before the job ends"
        );
        h.core.handle_job_done(
            h.now,
            JobDone::Command {
                id,
                result: Err(CommandError::Cloud("HTTP 503".into())),
            },
        );
        h.drain();
        assert_eq!(
            results(&h.take_events()),
            vec![("reboot", Err(CommandError::Cloud("HTTP 503".into())))]
        );
        // A second answer for the same id is ignored; a new one succeeds.
        h.core
            .handle_job_done(h.now, JobDone::Command { id, result: Ok(()) });
        h.drain();
        assert!(results(&h.take_events()).is_empty());
        h.request(CameraCommand::Reboot);
        let Some(Job::OffSession { id, .. }) = h.jobs.pop() else {
            panic!("an off-session job")
        };
        h.core
            .handle_job_done(h.now, JobDone::Command { id, result: Ok(()) });
        h.drain();
        assert_eq!(results(&h.take_events()), vec![("reboot", Ok(()))]);
        // Other commands still need the session.
        h.request(CameraCommand::NightVision(crate::model::NightVision::On));
        assert_eq!(
            results(&h.take_events()),
            vec![("night_vision", Err(CommandError::Offline))]
        );
    }

    /// Whether each queued snapshot job is urgent.
    fn urgency(jobs: &[Job]) -> Vec<bool> {
        jobs.iter()
            .filter_map(|j| match j {
                Job::PrepareSnapshot { urgent, .. } => Some(*urgent),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn first_and_on_demand_snapshots_are_urgent_and_interval_ones_are_not() {
        let mut h = Harness::new(10, Overrides::default());
        h.session_event(SessionEvent::Streaming(CameraDetails::default()));
        h.frame();
        assert_eq!(urgency(&h.jobs), vec![true], "the first picture");
        h.finish_jobs();
        h.frame();
        h.advance(Duration::from_secs(15));
        assert_eq!(urgency(&h.jobs), vec![false], "an interval snapshot");
        h.finish_jobs();
        h.frame();
        h.request(CameraCommand::Snapshot);
        assert_eq!(urgency(&h.jobs), vec![true], "set/snapshot");
    }

    #[test]
    fn interval_snapshots_are_staggered_by_camera_and_keep_their_phase() {
        let interval = Duration::from_secs(10);
        let wall = SystemTime::UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
        let ids: Vec<CameraId> = (0..8)
            .map(|i| CameraId::parse(&format!("sim_tutk_{i}")).unwrap())
            .collect();
        let mut due = Vec::new();
        for id in &ids {
            let d = staggered_delay(interval, id, wall);
            assert!(d > Duration::ZERO && d <= interval, "{id}: {d:?}");
            // Asked again at its due time, the next one is a whole interval on.
            assert_eq!(staggered_delay(interval, id, wall + d), interval, "{id}");
            // The phase is the camera's, whenever it is asked.
            let later = wall + Duration::from_millis(3_217);
            let again = staggered_delay(interval, id, later);
            let phase = |t: SystemTime| {
                t.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    % 10_000
            };
            assert_eq!(phase(later + again), phase(wall + d), "{id}");
            due.push(phase(wall + d) / 100);
        }
        due.sort_unstable();
        due.dedup();
        assert!(
            due.len() >= 6,
            "8 cameras at {} different phases",
            due.len()
        );
    }

    #[test]
    fn interval_snapshots_publish_only_new_frames() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.take_events();
        h.advance(Duration::from_secs(10));
        assert!(h.jobs.is_empty(), "no new frame since the last snapshot");
        h.frame();
        h.advance(Duration::from_secs(10));
        assert_eq!(h.jobs.len(), 1);
        h.finish_jobs();
        assert_eq!(snapshots(&h.events), 1);
    }

    #[test]
    fn on_demand_snapshots_use_a_fresh_frame_or_wait_for_the_next_and_time_out() {
        let mut h = Harness::new(0, Overrides::default());
        h.streaming();
        h.take_events();
        // The held frame was published already: wait for the next one.
        h.request(CameraCommand::Snapshot);
        assert!(h.jobs.is_empty());
        h.advance(Duration::from_millis(200));
        h.frame();
        h.finish_jobs();
        let ev = h.take_events();
        assert_eq!(snapshots(&ev), 1);
        assert_eq!(results(&ev), vec![("snapshot", Ok(()))]);
        // A fresh unpublished frame answers at once.
        h.frame();
        h.request(CameraCommand::Snapshot);
        assert_eq!(h.jobs.len(), 1);
        h.finish_jobs();
        assert_eq!(results(&h.take_events()), vec![("snapshot", Ok(()))]);
        // No frame comes: the request times out after snapshot_wait.
        h.request(CameraCommand::Snapshot);
        h.advance(Duration::from_secs(5));
        let r = results(&h.take_events());
        assert!(
            matches!(
                r.as_slice(),
                [("snapshot", Err(CommandError::TimedOut { .. }))]
            ),
            "{r:?}"
        );
        // Offline: refused at once.
        h.ended(SessionEnd::Closed(CloseReason::PeerClosed));
        h.take_events();
        h.request(CameraCommand::Snapshot);
        assert_eq!(
            results(&h.take_events()),
            vec![("snapshot", Err(CommandError::Offline))]
        );
    }

    #[test]
    fn whoever_waits_for_a_command_gets_the_same_result_as_the_broadcast() {
        use crate::bus::reply_channel as channel;
        let mut h = Harness::new(0, Overrides::default());
        h.streaming();
        h.take_events();
        // A snapshot waiting for the next frame is answered when it is published.
        let (tx, mut rx) = channel();
        h.core
            .handle_request(h.now, CameraCommand::Snapshot, Some(tx));
        h.drain();
        assert!(rx.try_recv().is_err(), "not answered yet");
        h.advance(Duration::from_millis(200));
        h.frame();
        h.finish_jobs();
        assert_eq!(rx.try_recv().ok(), Some(Ok(())));
        // One that times out hears the same error the event carries.
        let (tx, mut rx) = channel();
        h.core
            .handle_request(h.now, CameraCommand::Snapshot, Some(tx));
        h.drain();
        h.advance(Duration::from_secs(5));
        let from_event = results(&h.take_events()).pop().unwrap().1;
        assert!(matches!(from_event, Err(CommandError::TimedOut { .. })));
        assert_eq!(rx.try_recv().ok(), Some(from_event));
        // A command sent to the session is answered when the session answers,
        // here with offline because the session ends first.
        let (tx, mut rx) = channel();
        h.core
            .handle_request(h.now, CameraCommand::Reboot, Some(tx));
        h.drain();
        assert!(rx.try_recv().is_err(), "not answered yet");
        h.ended(SessionEnd::Closed(CloseReason::PeerClosed));
        assert_eq!(rx.try_recv().ok(), Some(Err(CommandError::Offline)));
    }

    fn live_jobs(h: &mut Harness) -> Vec<Option<VideoCodec>> {
        let (live, rest): (Vec<Job>, Vec<Job>) = std::mem::take(&mut h.jobs)
            .into_iter()
            .partition(|j| matches!(j, Job::LiveDecoder(_)));
        h.jobs = rest;
        live.into_iter()
            .map(|j| match j {
                Job::LiveDecoder(c) => c,
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn a_watched_video_camera_gets_a_live_decoder_until_a_while_after_the_last_viewer_left() {
        let mut h = Harness::new(0, Overrides::default());
        h.streaming();
        // An MJPEG camera needs no decoder: its own pictures are the live view.
        h.core.handle_viewers(h.now, 2);
        h.drain();
        assert_eq!(live_jobs(&mut h), vec![]);
        // Once the camera sends H.264, its viewers get a decoder.
        let video = |keyframe| {
            SessionEvent::Media(MediaFrame::Video(crate::model::VideoFrame {
                codec: VideoCodec::H264,
                keyframe,
                timestamp: Duration::ZERO,
                data: Bytes::from_static(b"\0\0\0\x01\x65"),
            }))
        };
        h.session_event(video(true));
        assert_eq!(live_jobs(&mut h), vec![Some(VideoCodec::H264)]);
        h.session_event(video(false));
        assert_eq!(live_jobs(&mut h), vec![], "started once");
        // The last viewer leaves; one comes back within the linger: no restart.
        h.core.handle_viewers(h.now, 0);
        h.advance(LIVE_LINGER / 2);
        h.core.handle_viewers(h.now, 1);
        h.advance(LIVE_LINGER);
        assert_eq!(live_jobs(&mut h), vec![]);
        // Gone for good: stopped LIVE_LINGER later, not before.
        h.core.handle_viewers(h.now, 0);
        h.advance(LIVE_LINGER - Duration::from_millis(100));
        assert_eq!(live_jobs(&mut h), vec![]);
        h.advance(Duration::from_millis(200));
        assert_eq!(live_jobs(&mut h), vec![None]);
    }

    #[test]
    fn commands_in_flight_are_answered_offline_when_the_session_ends() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.take_events();
        h.request(CameraCommand::Reboot);
        assert!(matches!(
            h.session.last(),
            Some(SessionControl::Command { .. })
        ));
        h.ended(SessionEnd::Closed(CloseReason::PeerClosed));
        assert_eq!(
            results(&h.take_events()),
            vec![("reboot", Err(CommandError::Offline))]
        );
    }

    #[test]
    fn a_runtime_interval_is_persisted_and_survives_until_the_config_changes() {
        let mut h = Harness::new(10, Overrides::default());
        h.take_events();
        h.request(CameraCommand::SetSnapshotInterval(7));
        assert_eq!(h.core.state().snapshot_interval_s, 7);
        let saved = h
            .jobs
            .iter()
            .find_map(|j| match j {
                Job::SaveOverrides(o) => Some(o.clone()),
                _ => None,
            })
            .expect("saved");
        assert_eq!(
            saved.snapshot_interval_s,
            Some(Overridden {
                value: 7,
                configured: 10
            })
        );
        let again = Harness::new(10, saved.clone());
        assert_eq!(again.core.state().snapshot_interval_s, 7);
        let edited = Harness::new(30, saved);
        assert_eq!(
            edited.core.state().snapshot_interval_s,
            30,
            "a config edit wins"
        );
        // Exactly one event and one state for the command.
        let ev = h.take_events();
        let states = ev
            .iter()
            .filter(|e| matches!(e, BridgeEvent::State { .. }))
            .count();
        assert_eq!((results(&ev).len(), states), (1, 1), "{ev:?}");
    }

    #[test]
    fn staged_wifi_values_are_checked_like_the_one_step_command() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.take_events();
        for bad in ["", &"x".repeat(40), "a###b"] {
            h.request(CameraCommand::StageWifiSsid(bad.to_string()));
        }
        h.request(CameraCommand::StageWifiPassword(Secret::new("12345")));
        let r = results(&h.take_events());
        assert_eq!(r.len(), 4);
        assert!(
            r.iter()
                .all(|(_, res)| matches!(res, Err(CommandError::BadValue { .. }))),
            "{r:?}"
        );
        assert_eq!(h.core.state().wifi_ssid, "", "nothing bad was staged");
        assert!(!h.core.state().wifi_password_set);
        // The same values through set/wifi are refused with the same words.
        h.request(CameraCommand::SetWifi {
            ssid: "a###b".into(),
            password: Secret::new("password1"),
        });
        let r = results(&h.take_events());
        assert!(
            matches!(&r[0], ("wifi", Err(CommandError::BadValue { reason, .. })) if reason.contains("###"))
        );
        assert!(!h
            .session
            .iter()
            .any(|c| matches!(c, SessionControl::Command { .. })));
    }

    #[test]
    fn a_successful_wifi_setup_shows_the_ssid_and_that_a_password_was_set() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        h.request(CameraCommand::SetWifi {
            ssid: "home".into(),
            password: Secret::new("password1"),
        });
        let id = h
            .session
            .iter()
            .find_map(|c| match c {
                SessionControl::Command { id, .. } => Some(*id),
                _ => None,
            })
            .expect("sent to the session");
        h.take_events();
        h.session_event(SessionEvent::CommandDone { id, result: Ok(()) });
        let ev = h.take_events();
        assert_eq!(results(&ev), vec![("wifi", Ok(()))]);
        assert_eq!(h.core.state().wifi_ssid, "home");
        assert!(h.core.state().wifi_password_set);
        let states = ev
            .iter()
            .filter(|e| matches!(e, BridgeEvent::State { .. }))
            .count();
        assert_eq!(states, 1, "one state after the command");
    }

    #[test]
    fn the_restart_policy_is_keyed_on_the_close_reason() {
        use CloseReason as R;
        let d = Duration::from_secs(1);
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::Silent(d))),
            Restart::Backoff
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::PeerClosed)),
            Restart::Backoff
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::NoMedia(d))),
            Restart::Backoff
        );
        assert_eq!(
            restart_policy(&SessionEnd::Failed("x".into())),
            Restart::Backoff
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::AuthRejected("x".into()))),
            Restart::AuthBackoff
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::LeftMode("demo mode"))),
            Restart::AwaitDiscovery
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::Stopped)),
            Restart::Never
        );
        assert_eq!(
            restart_policy(&SessionEnd::Closed(R::Unanswered("x".into()))),
            Restart::Unanswered
        );
    }

    fn states(events: &[BridgeEvent]) -> Vec<&CameraState> {
        events
            .iter()
            .filter_map(|e| match e {
                BridgeEvent::State { state, .. } => Some(&**state),
                _ => None,
            })
            .collect()
    }

    /// Streams `secs` seconds at 10 fps with a stats report every second and
    /// every snapshot job completed.
    fn stream_for(h: &mut Harness, secs: u64) {
        let mut frames = h.core.state().frames;
        for tick in 0..secs * 10 {
            h.frame();
            frames += 1;
            if tick % 10 == 9 {
                h.session_event(SessionEvent::Stats(SessionStats {
                    frames,
                    media_bytes: frames * 20_000,
                    ..SessionStats::default()
                }));
            }
            h.finish_jobs();
            h.advance(Duration::from_millis(100));
        }
    }

    #[test]
    fn a_streaming_camera_publishes_its_state_once_per_stats_period() {
        let mut h = Harness::new(10, Overrides::default());
        h.streaming();
        stream_for(&mut h, 5);
        h.take_events();
        stream_for(&mut h, 60);
        let events = h.take_events();
        // Counters change all the time, snapshots come every 10 s: one state
        // per 10 s stats period (it was about 13 a minute).
        assert_eq!(snapshots(&events), 6);
        let n = states(&events).len();
        assert!((5..=6).contains(&n), "{n} states in a minute");
        // Without frames nothing changes: at most one more state, then none.
        h.advance(MIN);
        assert!(states(&h.take_events()).len() <= 1);
        h.advance(MIN);
        assert!(states(&h.take_events()).is_empty());
        // A real change still goes out at once.
        h.request(CameraCommand::SetSnapshotInterval(30));
        assert_eq!(states(&h.take_events()).len(), 1);
    }

    #[test]
    fn the_model_and_signal_the_camera_reports_update_its_description_once() {
        let mut h = Harness::new(10, Overrides::default());
        h.take_events();
        let reported = CameraDetails {
            model: Some("HDWiFiCamPro (json dialect)".into()),
            firmware: Some("HQLS_HK66".into()),
            signal_percent: Some(80),
            ..CameraDetails::default()
        };
        h.session_event(SessionEvent::Streaming(reported.clone()));
        h.session_event(SessionEvent::Details(reported));
        let events = h.take_events();
        let registered: Vec<&CameraInfo> = events
            .iter()
            .filter_map(|e| match e {
                BridgeEvent::Registered(i) => Some(i),
                _ => None,
            })
            .collect();
        assert_eq!(registered.len(), 1, "re-registered once, not per report");
        assert_eq!(registered[0].model, "HDWiFiCamPro (json dialect)");
        assert_eq!(registered[0].firmware.as_deref(), Some("HQLS_HK66"));
        assert!(registered[0].can(Capability::SignalPercent));
        assert!(!registered[0].can(Capability::Signal));
        let state = h.core.state();
        assert_eq!((state.signal_percent, state.signal_dbm), (Some(80), None));
        // A discovery update keeps what the camera reported.
        let mut moved = info();
        moved.reach = Reach::Host("127.0.0.2:8080".parse().unwrap());
        h.core.handle_discovered(h.now, moved, factory(), true);
        h.drain();
        assert_eq!(h.core.info().model, "HDWiFiCamPro (json dialect)");
    }
}
