//! The supervisor: one [`camera::CameraTask`] per camera, started when
//! discovery finds it, stopped when it is lost, with commands routed to it.
//! A failing camera restarts with backoff inside its own task while the others
//! run on.

pub mod backoff;
pub mod camera;
pub mod overrides;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::camera::{CameraRequest, CameraSettings};
use crate::config::{CameraConfig, Config, ConfigError};
use tokio::task::JoinHandle;

use crate::io::{
    run_session, DatagramSocket, DriverError, EventSink, SessionCommand, SocketFactory,
};
use crate::model::{CameraCommand, CameraId, CameraInfo, Capability, CommandError, Protocol};
use crate::proto::demo::{DemoConfig, DemoSession};
use crate::proto::CloseReason;
use crate::publisher::{BridgeEvent, Request};

/// How to talk to a camera.
#[derive(Debug, Clone)]
pub enum SessionSpec {
    /// A9 demo mode.
    Demo(DemoConfig),
}

impl SessionSpec {
    /// Runs this protocol's session over `socket` in its own task, until it
    /// closes or `cancel` fires. The one place a protocol is chosen.
    pub fn spawn<S: DatagramSocket, K: EventSink + 'static>(
        self,
        socket: S,
        commands: mpsc::Receiver<SessionCommand>,
        mut sink: K,
        cancel: CancellationToken,
    ) -> JoinHandle<Result<CloseReason, DriverError>> {
        tokio::spawn(async move {
            match self {
                Self::Demo(cfg) => {
                    run_session(
                        DemoSession::new(cfg),
                        vec![socket],
                        commands,
                        &mut sink,
                        cancel,
                    )
                    .await
                }
            }
        })
    }
}

/// Everything needed to run one camera.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    /// Identity and capabilities.
    pub info: CameraInfo,
    /// Snapshot interval (zero = on demand only).
    pub snapshot_interval: Duration,
    /// Protocol session settings.
    pub session: SessionSpec,
}

/// What discovery reports.
#[derive(Debug, Clone)]
pub enum DiscoveryEvent {
    /// A camera to run (ignored if already running).
    Found(Box<CameraSpec>),
    /// A camera gone for good.
    Lost(CameraId),
}

/// Resolves `host` (IP or name) to one address.
async fn resolve(host: &str, port: u16, key: &str) -> Result<SocketAddr, ConfigError> {
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ConfigError {
            file: None,
            key: key.to_string(),
            message: format!("cannot resolve {host:?}: {e}"),
        })?;
    addrs.next().ok_or_else(|| ConfigError {
        file: None,
        key: key.to_string(),
        message: format!("{host:?} has no address"),
    })
}

/// Builds a demo-mode camera spec from its config entry.
pub async fn demo_spec(
    cam: &CameraConfig,
    default_interval: u32,
    key: &str,
) -> Result<CameraSpec, ConfigError> {
    let video = resolve(&cam.host, cam.video_port, key).await?;
    let audio = SocketAddr::new(video.ip(), cam.audio_port);
    let command = SocketAddr::new(video.ip(), cam.command_port);
    let id = cam.effective_id();
    let mut demo = DemoConfig::new(video, audio, command);
    demo.frame_check = cam.frame_check;
    demo.audio_start = cam.audio_start;
    demo.silence_timeout = cam.silence_timeout();
    let name = if cam.name.is_empty() {
        format!("A9 {}", cam.host)
    } else {
        cam.name.clone()
    };
    Ok(CameraSpec {
        info: CameraInfo {
            uid: id.as_str().to_string(),
            id,
            name,
            protocol: Protocol::Demo,
            address: video,
            model: "A9 (demo mode)".into(),
            firmware: None,
            mac: (!cam.mac.is_empty()).then(|| cam.mac.clone()),
            resolutions: Vec::new(),
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        },
        snapshot_interval: Duration::from_secs(u64::from(
            cam.snapshot_interval_s.unwrap_or(default_interval),
        )),
        session: SessionSpec::Demo(demo),
    })
}

/// The cameras the configuration names (static entries and demo-mode hosts).
pub async fn configured_cameras(cfg: &Config) -> Result<Vec<CameraSpec>, ConfigError> {
    let mut specs = Vec::new();
    for (i, cam) in cfg.cameras.iter().enumerate() {
        if !cam.enabled {
            continue;
        }
        match cam.protocol {
            Some(Protocol::Demo) => specs.push(
                demo_spec(cam, cfg.snapshots.interval_s, &format!("cameras[{i}].host")).await?,
            ),
            Some(p) => {
                tracing::warn!(camera = %cam.effective_id(), protocol = %p, "protocol not supported yet by this release; camera skipped")
            }
            None => {}
        }
    }
    for (i, host) in cfg.discovery.demo_mode_hosts.iter().enumerate() {
        let cam = CameraConfig::demo(host);
        if specs.iter().any(|s| s.info.id == cam.effective_id()) {
            continue; // configured explicitly as well
        }
        specs.push(
            demo_spec(
                &cam,
                cfg.snapshots.interval_s,
                &format!("discovery.demo_mode_hosts[{i}]"),
            )
            .await?,
        );
    }
    Ok(specs)
}

struct Running {
    requests: mpsc::Sender<CameraRequest>,
    cancel: CancellationToken,
}

/// Owns the camera tasks.
pub struct Supervisor<F: SocketFactory> {
    factory: Arc<F>,
    settings: CameraSettings,
    publisher: mpsc::Sender<BridgeEvent>,
    cameras: HashMap<CameraId, Running>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    seed: u64,
}

impl<F: SocketFactory> Supervisor<F> {
    /// A supervisor that binds sockets with `factory` and reports to `publisher`.
    pub fn new(
        factory: F,
        settings: CameraSettings,
        publisher: mpsc::Sender<BridgeEvent>,
        cancel: CancellationToken,
        seed: u64,
    ) -> Self {
        Self {
            factory: Arc::new(factory),
            settings,
            publisher,
            cameras: HashMap::new(),
            tracker: TaskTracker::new(),
            cancel,
            seed,
        }
    }

    fn start(&mut self, spec: CameraSpec) {
        if self.cameras.contains_key(&spec.info.id) {
            return;
        }
        tracing::info!(camera = %spec.info.id, protocol = %spec.info.protocol, address = %spec.info.address, "camera added");
        let (tx, rx) = mpsc::channel(16);
        let cancel = self.cancel.child_token();
        self.seed = self.seed.wrapping_add(1);
        let id = spec.info.id.clone();
        let task = camera::CameraTask::new(
            spec,
            self.factory.clone(),
            self.settings.clone(),
            self.publisher.clone(),
            rx,
            cancel.clone(),
            self.seed,
        );
        self.tracker.spawn(task.run());
        self.cameras.insert(
            id,
            Running {
                requests: tx,
                cancel,
            },
        );
    }

    async fn stop(&mut self, id: &CameraId) {
        if let Some(r) = self.cameras.remove(id) {
            r.cancel.cancel();
            let _ = self.publisher.send(BridgeEvent::Removed(id.clone())).await;
        }
    }

    async fn route(&mut self, camera: CameraId, command: CameraCommand) {
        let name = command.name();
        let result = match self.cameras.get(&camera) {
            None => Err(CommandError::UnknownCamera(camera.to_string())),
            Some(r) => match r.requests.try_send(CameraRequest {
                command,
                reply: None,
            }) {
                Ok(()) => return,
                Err(_) => Err(CommandError::Busy(
                    "too many commands queued for this camera".into(),
                )),
            },
        };
        let _ = self
            .publisher
            .send(BridgeEvent::CommandResult {
                camera,
                command: name,
                result,
            })
            .await;
    }

    /// Runs until cancelled: starts/stops cameras on discovery events and routes requests.
    /// `rescan` is asked for a fresh scan on `bridge/set/discover`.
    pub async fn run(
        mut self,
        mut discovery: mpsc::Receiver<DiscoveryEvent>,
        mut requests: mpsc::Receiver<Request>,
        rescan: mpsc::Sender<()>,
    ) {
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => break,
                Some(ev) = discovery.recv() => match ev {
                    DiscoveryEvent::Found(spec) => self.start(*spec),
                    DiscoveryEvent::Lost(id) => self.stop(&id).await,
                },
                Some(req) = requests.recv() => match req {
                    Request::Command { camera, command } => self.route(camera, command).await,
                    Request::Discover => {
                        tracing::info!("discovery requested");
                        let _ = rescan.try_send(());
                    }
                },
            }
        }
        self.tracker.close();
        self.tracker.wait().await;
    }
}
