//! The glue around one camera's [`CameraCore`]: it runs the protocol session
//! the core asks for (binding every socket the session's spec names, in its own
//! task so a panic is contained), feeds the core the session's events, commands
//! and timeouts, hands the core's events to the publisher, and does the core's
//! jobs (snapshot decoding and re-encoding on the shared [`SnapshotPool`],
//! saving settings, asking discovery to look again). No camera logic lives
//! here.

use std::sync::Arc;

use bytes::Bytes;
use std::sync::mpsc::TrySendError;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::audio_job;
use super::core::{
    CameraCore, CoreSettings, IntercomDone, Job, JobDone, SessionControl, SessionEnd,
};
use super::intercom::IntercomJob;
use super::overrides::{OverrideStore, OverrideWriter};
use crate::bus::live::CameraFeed;
use crate::bus::live::LiveVideo;
use crate::bus::{BridgeEvent, Hub, Reply};
use crate::discovery::CameraSpec;
use crate::io::{
    bind_all, clock, run_session, DriverError, EventSink, SessionCommand, SocketFactory,
};
use crate::media::decode_pool::{DecodePool, Priority};
use crate::media::live::{LiveDecoder, LiveSettings};
use crate::media::sink::SnapshotSource;
use crate::model::{CameraCommand, CameraId, MediaFrame, VideoCodec};
use crate::proto::talk::{TalkEvent, TalkInput};
use crate::proto::{CloseReason, SessionEvent};

/// Media and stats events buffered between the session and the camera task;
/// beyond it they are dropped (a lost video frame is reported as such).
const MEDIA_QUEUE: usize = 256;
/// Commands queued for the session at once.
const COMMAND_QUEUE: usize = 16;

/// The decode threads every camera's snapshots share (see
/// [`crate::media::decode_pool`]): a JPEG, or why there is none.
pub type SnapshotPool = DecodePool<Result<Bytes, String>>;

/// A [`SnapshotPool`] of `workers` threads (0: the machine's default, see
/// [`crate::media::decode_pool::default_workers`]).
pub fn snapshot_pool(workers: usize) -> std::io::Result<Arc<SnapshotPool>> {
    let workers = match workers {
        0 => crate::media::decode_pool::default_workers(),
        n => n,
    };
    let pool = DecodePool::new(workers, crate::media::decode_pool::DEFAULT_CAPACITY)?;
    Ok(Arc::new(pool))
}

/// Settings shared by all camera tasks.
#[derive(Debug, Clone)]
pub struct CameraSettings {
    /// Snapshot size cap.
    pub max_bytes: usize,
    /// JPEG quality when re-encoding.
    pub jpeg_quality: u8,
    /// The core's tunables (backoffs, snapshot waits).
    pub core: CoreSettings,
    /// Where runtime settings are kept across restarts (`None`: not kept).
    pub state_dir: Option<std::path::PathBuf>,
    /// Where snapshots are decoded and re-encoded, shared by all cameras.
    pub decode_pool: Arc<SnapshotPool>,
    /// How a watched H.264/H.265 camera is decoded to live JPEGs.
    pub live: LiveSettings,
    /// Home Assistant's text-to-speech for `set/say` (`None`: not set up).
    pub tts: Option<Arc<super::tts::Tts>>,
}

/// What the supervisor sends a camera task.
#[derive(Debug)]
pub enum CameraInput {
    /// A command that passed the supervisor's gate.
    Command {
        /// The command.
        command: CameraCommand,
        /// Who waits for its result.
        reply: Option<Reply>,
    },
    /// Discovery reported the camera again (`changed`: new address or credentials).
    Discovered {
        /// The camera as reported.
        spec: Box<CameraSpec>,
        /// Whether its session must restart with the new spec.
        changed: bool,
    },
}

/// Sink for the session driver: never blocks. Control events (rare, bounded by
/// the commands sent) go on an unbounded channel so none is lost; media and
/// stats on a bounded one, where a dropped video frame becomes `VideoLost`.
/// Every picture also goes to the camera's live feed as it arrives (latest
/// wins there, so viewers never hold the session up).
struct Forward {
    control: mpsc::UnboundedSender<SessionEvent>,
    media: mpsc::Sender<SessionEvent>,
    video_lost: bool,
    feed: Arc<CameraFeed>,
}

impl Forward {
    fn live(&self, frame: &MediaFrame) {
        match frame {
            MediaFrame::Jpeg(jpeg) => {
                self.feed.record_frame(clock::now(), jpeg.len());
                self.feed.push_jpeg(jpeg.clone(), false);
            }
            MediaFrame::Video(v) => {
                self.feed.record_frame(clock::now(), v.data.len());
                self.feed.push_video(v);
            }
            MediaFrame::VideoLost => self.feed.video_lost(),
            MediaFrame::Audio {
                codec,
                sample_rate,
                data,
            } => self
                .feed
                .push_audio(*codec, *sample_rate, data.clone(), clock::now()),
        }
    }
}

impl EventSink for Forward {
    fn event(&mut self, event: SessionEvent) {
        if let SessionEvent::Media(frame) = &event {
            self.live(frame);
        }
        match event {
            // The driver returns the close reason; the glue reports it once.
            SessionEvent::Closed(_) => {}
            SessionEvent::Streaming(_) | SessionEvent::CommandDone { .. } => {
                let _ = self.control.send(event);
            }
            SessionEvent::Media(MediaFrame::Video(_)) => {
                if self.video_lost {
                    let lost = SessionEvent::Media(MediaFrame::VideoLost);
                    self.video_lost = self.media.try_send(lost).is_err();
                }
                if self.video_lost || self.media.try_send(event).is_err() {
                    self.video_lost = true;
                }
            }
            other => {
                let _ = self.media.try_send(other);
            }
        }
    }
}

/// Video frames queued for the live decoder thread; beyond it frames are
/// skipped and the decoder resumes at the next keyframe.
const LIVE_QUEUE: usize = 8;

/// What the live decoder thread is fed.
enum LiveInput {
    /// The GOP so far, at the start (decoded to reach the current picture).
    Gop(Vec<crate::model::VideoFrame>),
    /// The next frame, or a gap.
    Video(LiveVideo),
}

/// A running live decoder: a thread decoding, fed by a task that forwards
/// the camera's video broadcast to it without ever waiting.
struct LiveRun {
    cancel: CancellationToken,
}

/// A running session: its task, its inputs and outputs.
struct Running {
    task: JoinHandle<Result<CloseReason, DriverError>>,
    cancel: CancellationToken,
    commands: mpsc::Sender<SessionCommand>,
    control: mpsc::UnboundedReceiver<SessionEvent>,
    media: mpsc::Receiver<SessionEvent>,
}

/// The running camera.
pub struct CameraTask<F: SocketFactory> {
    core: CameraCore,
    spec: CameraSpec,
    factory: Arc<F>,
    settings: CameraSettings,
    hub: Hub,
    /// This camera's live feed (fed by the session's sink).
    feed: Arc<CameraFeed>,
    /// How many watch the feed (to the core: live decoding runs while > 0).
    viewers: tokio::sync::watch::Receiver<crate::bus::live::Viewers>,
    /// The live decoder, while one runs.
    live: Option<LiveRun>,
    inputs: mpsc::Receiver<CameraInput>,
    rediscover: mpsc::Sender<CameraId>,
    cancel: CancellationToken,
    /// Writes runtime settings to the state directory (`None`: none kept).
    writer: Option<OverrideWriter>,
    session: Option<Running>,
    jobs: JoinSet<Option<JobDone>>,
    /// For intercom URLs, made on first use.
    http: Option<reqwest::Client>,
}

impl<F: SocketFactory> CameraTask<F> {
    /// A task for `spec`; `seed` makes its backoff jitter reproducible.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: CameraSpec,
        factory: Arc<F>,
        settings: CameraSettings,
        hub: Hub,
        inputs: mpsc::Receiver<CameraInput>,
        rediscover: mpsc::Sender<CameraId>,
        cancel: CancellationToken,
        seed: u64,
    ) -> Self {
        let store = settings
            .state_dir
            .as_deref()
            .map(|d| OverrideStore::new(d, &spec.info.id));
        let overrides = store.as_ref().map(OverrideStore::load).unwrap_or_default();
        let mut core = CameraCore::new(
            spec.info.clone(),
            spec.session.clone(),
            spec.snapshot_interval_s,
            overrides,
            settings.core.clone(),
            seed,
            clock::now(),
            clock::wall(),
        );
        core.set_off_session(off_session_kinds(&spec));
        let feed = hub.live().feed(&spec.info.id);
        let viewers = feed.viewers();
        Self {
            core,
            spec,
            factory,
            settings,
            hub,
            feed,
            viewers,
            live: None,
            inputs,
            rediscover,
            cancel,
            writer: store.map(OverrideWriter::spawn),
            session: None,
            jobs: JoinSet::new(),
            http: None,
        }
    }

    /// Runs until cancelled.
    pub async fn run(mut self) {
        let span = tracing::info_span!("camera", id = %self.core.id(), protocol = %self.spec.info.protocol);
        async move {
            self.core.start(clock::now());
            loop {
                if !self.drain().await {
                    break;
                }
                if !self.step().await {
                    break;
                }
            }
            self.shutdown().await;
        }
        .instrument(span)
        .await;
    }

    /// Waits for one input and feeds it to the core. False when the task must end.
    async fn step(&mut self) -> bool {
        let deadline = self.core.poll_timeout();
        let session = self.session.as_mut();
        let (control, media, task) = match session {
            Some(r) => (Some(&mut r.control), Some(&mut r.media), Some(&mut r.task)),
            None => (None, None, None),
        };
        tokio::select! {
            () = self.cancel.cancelled() => return false,
            Some(ev) = recv_opt_unbounded(control) => self.core.handle_session_event(clock::now(), ev),
            Some(ev) = recv_opt(media) => self.core.handle_session_event(clock::now(), ev),
            r = join_opt(task) => self.session_ended(r),
            Ok(()) = self.viewers.changed() => {
                let n = *self.viewers.borrow_and_update();
                // Only viewers of pictures need the live decoder; RTSP
                // clients take the camera's own stream.
                self.core.handle_viewers(clock::now(), n.pictures);
                self.hub.publish(BridgeEvent::Viewers {
                    camera: self.core.id().clone(),
                    viewers: n.total(),
                });
            }
            input = self.inputs.recv() => match input {
                Some(CameraInput::Command { command, reply }) => {
                    if matches!(command, CameraCommand::Snapshot) {
                        // A snapshot already waiting to be decoded goes first.
                        self.settings.decode_pool.expedite(self.core.id().as_str());
                    }
                    self.core.handle_request(clock::now(), command, reply);
                }
                Some(CameraInput::Discovered { spec, changed }) => {
                    let (info, factory) = (spec.info.clone(), spec.session.clone());
                    if changed {
                        self.spec = *spec;
                        self.core.set_off_session(off_session_kinds(&self.spec));
                    }
                    self.core.handle_discovered(clock::now(), info, factory, changed);
                }
                None => return false,
            },
            Some(done) = self.jobs.join_next(), if !self.jobs.is_empty() => {
                if let Ok(Some(done)) = done {
                    self.core.handle_job_done(clock::now(), done);
                }
            }
            () = clock::sleep_until(deadline) => self.core.handle_timeout(clock::now()),
        }
        true
    }

    fn session_ended(
        &mut self,
        r: Result<Result<CloseReason, DriverError>, tokio::task::JoinError>,
    ) {
        let Some(mut running) = self.session.take() else {
            return;
        };
        // No picture of a session that ended is shown as live, and the live
        // decoder starts again at the next session's keyframe.
        self.feed.clear_jpeg();
        self.feed.video_lost();
        // Events the session sent before it ended come first.
        while let Ok(ev) = running.control.try_recv() {
            self.core.handle_session_event(clock::now(), ev);
        }
        while let Ok(ev) = running.media.try_recv() {
            self.core.handle_session_event(clock::now(), ev);
        }
        let end = match r {
            Ok(Ok(reason)) => SessionEnd::Closed(reason),
            Ok(Err(e)) => SessionEnd::Failed(e.to_string()),
            Err(e) if e.is_panic() => {
                tracing::error!("session panicked (a bug; please report it)");
                SessionEnd::Failed("session panicked".into())
            }
            Err(e) => SessionEnd::Failed(e.to_string()),
        };
        self.core.handle_session_ended(clock::now(), end);
    }

    /// Does everything the core asked for. False when the task must end.
    async fn drain(&mut self) -> bool {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.core.poll_bridge_event() {
                progressed = true;
                self.hub.publish(ev);
            }
            // After the events: a waiter then finds the command's effect.
            while let Some((reply, result)) = self.core.poll_reply() {
                progressed = true;
                let _ = reply.send(result);
            }
            while let Some(c) = self.core.poll_session_command() {
                progressed = true;
                self.session_control(c).await;
            }
            while let Some(job) = self.core.poll_job() {
                progressed = true;
                self.job(job);
            }
            if !progressed {
                return true;
            }
        }
    }

    async fn session_control(&mut self, c: SessionControl) {
        match c {
            SessionControl::Start => self.start_session().await,
            SessionControl::Stop => {
                if let Some(r) = &self.session {
                    r.cancel.cancel();
                }
            }
            SessionControl::Talk(input) => {
                let id = input.id();
                let opening = matches!(input, TalkInput::Open { .. });
                let sent = self
                    .session
                    .as_ref()
                    .map(|r| r.commands.try_send(SessionCommand::Talk(input)));
                if !matches!(sent, Some(Ok(()))) && opening {
                    // Nobody will answer the Open: end it here.
                    let result = Err(crate::model::CommandError::Busy(
                        "the camera is still handling earlier commands".into(),
                    ));
                    let ended = TalkEvent::Ended {
                        id,
                        played: std::time::Duration::ZERO,
                        result,
                    };
                    self.core
                        .handle_session_event(clock::now(), SessionEvent::Talk(ended));
                }
            }
            SessionControl::Command { id, command } => {
                let sent = self
                    .session
                    .as_ref()
                    .map(|r| r.commands.try_send(SessionCommand::Command { id, command }));
                if !matches!(sent, Some(Ok(()))) {
                    let result = Err(crate::model::CommandError::Busy(
                        "the camera is still handling earlier commands".into(),
                    ));
                    self.core.handle_session_event(
                        clock::now(),
                        SessionEvent::CommandDone { id, result },
                    );
                }
            }
        }
    }

    async fn start_session(&mut self) {
        if self.session.is_some() {
            tracing::warn!("start requested while a session runs (a bug); ignored");
            return;
        }
        let specs = self.spec.session.sockets();
        let sockets = match bind_all(&*self.factory, &specs).await {
            Ok(s) => s,
            Err(e) => {
                let end = SessionEnd::Failed(format!("cannot bind a socket: {e}"));
                self.core.handle_session_ended(clock::now(), end);
                return;
            }
        };
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (media_tx, media_rx) = mpsc::channel(MEDIA_QUEUE);
        let cancel = self.cancel.child_token();
        let mut sink = Forward {
            control: control_tx,
            media: media_tx,
            video_lost: false,
            feed: self.feed.clone(),
        };
        let session = self.spec.session.build(clock::wall());
        let c = cancel.clone();
        let task = tokio::spawn(
            async move { run_session(session, sockets, cmd_rx, &mut sink, c).await }
                .in_current_span(),
        );
        self.session = Some(Running {
            task,
            cancel,
            commands: cmd_tx,
            control: control_rx,
            media: media_rx,
        });
    }

    fn job(&mut self, job: Job) {
        match job {
            Job::PrepareSnapshot {
                job,
                source,
                urgent,
            } => {
                let (max, q) = (self.settings.max_bytes, self.settings.jpeg_quality);
                if let SnapshotSource::Jpeg { jpeg, .. } = &source {
                    if jpeg.len() <= max {
                        // Published as it came: nothing to decode.
                        self.feed
                            .snapshot_latency
                            .observe(std::time::Duration::ZERO);
                        let result = Ok(jpeg.clone());
                        self.core
                            .handle_job_done(clock::now(), JobDone::Snapshot { job, result });
                        return;
                    }
                }
                let (tx, rx) = tokio::sync::oneshot::channel();
                let priority = if urgent {
                    Priority::Urgent
                } else {
                    Priority::Scheduled
                };
                self.settings.decode_pool.submit(
                    self.core.id().as_str(),
                    priority,
                    move || prepare_snapshot(source, max, q),
                    move |outcome| {
                        let _ = tx.send(outcome);
                    },
                );
                let (feed, started) = (self.feed.clone(), clock::now());
                self.jobs.spawn(async move {
                    let result = match rx.await {
                        Ok(Ok(result)) => result,
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(crate::media::decode_pool::PoolError::Stopped.to_string()),
                    };
                    feed.snapshot_latency
                        .observe(clock::now().saturating_duration_since(started));
                    Some(JobDone::Snapshot { job, result })
                });
            }
            Job::SaveOverrides(overrides) => {
                if let Some(writer) = &self.writer {
                    writer.save(overrides);
                }
            }
            Job::LiveDecoder(Some(codec)) => self.start_live(codec),
            Job::LiveDecoder(None) => self.stop_live(),
            Job::Rediscover => {
                let _ = self.rediscover.try_send(self.core.id().clone());
            }
            Job::Intercom(job) => self.intercom_job(job),
            Job::OffSession { id, command } => match self.spec.off_session.clone() {
                Some(off) => {
                    let kind = command.kind();
                    self.jobs.spawn(
                        async move {
                            let result = off.run(command).await;
                            if let Err(e) = &result {
                                tracing::warn!(command = kind.name(), error = %e, "command failed");
                            }
                            Some(JobDone::Command { id, result })
                        }
                        .in_current_span(),
                    );
                }
                None => {
                    // The spec changed under the command (a bug if ever seen).
                    let result = Err(crate::model::CommandError::Unsupported {
                        command: command.kind().name(),
                        protocol: self.spec.info.protocol,
                    });
                    self.core
                        .handle_job_done(clock::now(), JobDone::Command { id, result });
                }
            },
        }
    }

    /// Runs an intercom job off the camera task: downloads on the runtime,
    /// decoding and encoding on blocking threads.
    fn intercom_job(&mut self, job: IntercomJob) {
        match job {
            IntercomJob::Fetch { id, source } => {
                let client = self.http.get_or_insert_with(audio_job::http_client).clone();
                let tts = self.settings.tts.clone();
                self.jobs.spawn(
                    async move {
                        let result = match audio_job::fetch(&client, tts.as_deref(), source).await {
                            Ok(file) => {
                                tokio::task::spawn_blocking(move || audio_job::decode(&file))
                                    .await
                                    .unwrap_or_else(|e| Err(job_panicked(&e)))
                            }
                            Err(e) => Err(e),
                        };
                        Some(JobDone::Intercom(IntercomDone::Fetched { id, result }))
                    }
                    .in_current_span(),
                );
            }
            IntercomJob::Stream { id, audio, format } => {
                let Some(session) = self.session.as_ref().map(|r| r.commands.clone()) else {
                    let ended = TalkEvent::Ended {
                        id,
                        played: std::time::Duration::ZERO,
                        result: Err(crate::model::CommandError::Offline),
                    };
                    self.core
                        .handle_session_event(clock::now(), SessionEvent::Talk(ended));
                    return;
                };
                // Not a job with a result: the session's Ended finishes it.
                tokio::spawn(audio_job::stream(id, audio, format, session).in_current_span());
            }
            IntercomJob::Encode {
                id,
                pcm,
                volume,
                format,
            } => {
                self.jobs.spawn(
                    async move {
                        let result = tokio::task::spawn_blocking(move || {
                            audio_job::encode(&pcm, volume, &format)
                        })
                        .await
                        .unwrap_or_else(|e| Err(job_panicked(&e)));
                        Some(JobDone::Intercom(IntercomDone::Encoded { id, result }))
                    }
                    .in_current_span(),
                );
            }
        }
    }

    /// Starts decoding the camera's video to live JPEGs on a thread of its
    /// own (decoding a 1080p frame takes milliseconds: never on the async
    /// workers). The thread ends when its queue's sender is dropped.
    fn start_live(&mut self, codec: VideoCodec) {
        if self.live.is_some() {
            return;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<LiveInput>(LIVE_QUEUE);
        let feed = self.feed.clone();
        let settings = self.settings.live;
        let span = tracing::Span::current();
        let spawned = std::thread::Builder::new()
            .name(format!("live-{}", self.core.id()))
            .spawn(move || {
                let _span = span.enter();
                let mut decoder = LiveDecoder::new(codec, settings);
                let decode =
                    |decoder: &mut LiveDecoder, frame: &crate::model::VideoFrame| match decoder
                        .push(frame)
                    {
                        Ok(Some(picture)) => feed.push_jpeg(picture.jpeg, true),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(error = %e, "live decoding skips to the next keyframe");
                        }
                    };
                while let Ok(item) = rx.recv() {
                    match item {
                        LiveInput::Gop(frames) => {
                            for frame in &frames {
                                decode(&mut decoder, frame);
                            }
                        }
                        LiveInput::Video(LiveVideo::Frame(frame)) => decode(&mut decoder, &frame),
                        LiveInput::Video(LiveVideo::Lost) => decoder.lost(),
                    }
                }
                tracing::debug!(stats = ?decoder.stats(), "live decoder thread ended");
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the live decoder thread");
            return;
        }
        tracing::info!("live decoder started");
        self.hub.status().live_decoder(true);
        let cancel = self.cancel.child_token();
        // The current GOP first: the viewer sees the current picture without
        // waiting for the camera's next keyframe.
        let (gop, mut video) = self.feed.video_from_keyframe();
        let stop = cancel.clone();
        tokio::spawn(
            async move {
                // Set when a frame could not be queued: the decoder must hear
                // of the gap before the next frame it gets.
                let mut gap = false;
                if !gop.is_empty() && tx.try_send(LiveInput::Gop(gop)).is_err() {
                    gap = true;
                }
                loop {
                    let item = tokio::select! {
                        () = stop.cancelled() => break,
                        r = video.recv() => match r {
                            Ok(item) => item,
                            Err(RecvError::Lagged(_)) => LiveVideo::Lost,
                            Err(RecvError::Closed) => break,
                        },
                    };
                    let lost = matches!(item, LiveVideo::Lost);
                    if gap || lost {
                        match tx.try_send(LiveInput::Video(LiveVideo::Lost)) {
                            Ok(()) => gap = false,
                            Err(TrySendError::Full(_)) => {
                                gap = true;
                                continue;
                            }
                            Err(TrySendError::Disconnected(_)) => break,
                        }
                        if lost {
                            continue;
                        }
                    }
                    match tx.try_send(LiveInput::Video(item)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => gap = true,
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
                // Dropping `tx` ends the thread after its current frame.
            }
            .in_current_span(),
        );
        self.live = Some(LiveRun { cancel });
    }

    /// Stops the live decoder (the thread finishes the frame it decodes).
    fn stop_live(&mut self) {
        if let Some(live) = self.live.take() {
            live.cancel.cancel();
            self.feed.clear_decoded();
            self.hub.status().live_decoder(false);
            tracing::info!("live decoder stopped");
        }
    }

    async fn shutdown(&mut self) {
        self.core.stop(clock::now());
        // Results of commands cut short by the stop still get their one event
        // (the publisher stops after the cameras); snapshots are not needed.
        while let Some(ev) = self.core.poll_bridge_event() {
            if !matches!(ev, BridgeEvent::Snapshot { .. }) {
                self.hub.publish(ev);
            }
        }
        while let Some((reply, result)) = self.core.poll_reply() {
            let _ = reply.send(result);
        }
        self.feed.clear_jpeg();
        while self.core.poll_job().is_some() {}
        self.stop_live();
        if let Some(r) = self.session.take() {
            r.cancel.cancel();
            let _ = r.task.await;
        }
        // Let settings being saved reach the disk (bounded).
        let writer = self.writer.take();
        let finish = async {
            if let Some(w) = writer {
                w.close().await;
            }
            while self.jobs.join_next().await.is_some() {}
        };
        if tokio::time::timeout(std::time::Duration::from_secs(2), finish)
            .await
            .is_err()
        {
            self.jobs.shutdown().await;
        }
    }
}

/// A JPEG within `max` bytes from `source` (re-encoded at `quality` if
/// needed); runs on a decode thread.
fn prepare_snapshot(source: SnapshotSource, max: usize, quality: u8) -> Result<Bytes, String> {
    match source {
        SnapshotSource::Jpeg { jpeg, .. } => {
            crate::media::jpeg::fit(jpeg, max, quality).map_err(|e| e.to_string())
        }
        SnapshotSource::Gop { codec, frames, .. } => {
            crate::media::video::snapshot_from_gop(codec, &frames, max, quality)
                .map_err(|e| e.to_string())
        }
    }
}

async fn recv_opt(rx: Option<&mut mpsc::Receiver<SessionEvent>>) -> Option<SessionEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_opt_unbounded(
    rx: Option<&mut mpsc::UnboundedReceiver<SessionEvent>>,
) -> Option<SessionEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn join_opt<T>(task: Option<&mut JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match task {
        Some(t) => t.await,
        None => std::future::pending().await,
    }
}

/// The commands `spec` carries out off its session.
fn off_session_kinds(spec: &CameraSpec) -> Vec<crate::model::CommandKind> {
    spec.off_session
        .as_ref()
        .map(|o| o.kinds())
        .unwrap_or_default()
}

/// A blocking audio job panicked (a bug in a decoder): the playback fails
/// with a plain error, the camera carries on.
fn job_panicked(e: &tokio::task::JoinError) -> crate::model::CommandError {
    tracing::error!(error = %e, "an intercom audio job failed (a bug)");
    crate::model::CommandError::Refused("the audio could not be processed".into())
}
