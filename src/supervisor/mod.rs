//! The supervisor: the registry of cameras. It starts a [`camera::CameraTask`]
//! when discovery finds a camera, passes `Updated`/`Found` on to it (a new
//! address or credentials restart its session), stops it when it is lost, and
//! routes commands to it. Each camera restarts its own session, with the
//! policy of its [`core::CameraCore`], while the others run on.

mod audio_job;
pub mod backoff;
pub mod camera;
pub mod core;
pub mod intercom;
pub mod overrides;
pub mod tts;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::camera::{snapshot_pool, CameraInput, CameraSettings, SnapshotPool};
use crate::bus::{BridgeEvent, CommandInput, CommandRequest, Hub, Request};
use crate::discovery::{CameraSpec, DiscoveryEvent};
use crate::io::SocketFactory;
use crate::model::{CameraId, CameraInfo, CommandError};

/// Inputs queued for one camera task at most.
const CAMERA_QUEUE: usize = 16;

struct Running {
    inputs: mpsc::Sender<CameraInput>,
    cancel: CancellationToken,
    /// The camera as discovery describes it: what commands it takes.
    info: CameraInfo,
}

/// Owns the camera tasks.
pub struct Supervisor<F: SocketFactory> {
    factory: Arc<F>,
    settings: CameraSettings,
    hub: Hub,
    rediscover: mpsc::Sender<CameraId>,
    cameras: HashMap<CameraId, Running>,
    tracker: TaskTracker,
    cancel: CancellationToken,
    seed: u64,
}

impl<F: SocketFactory> Supervisor<F> {
    /// A supervisor that binds sockets with `factory`, reports on `hub`
    /// and asks discovery (through `rediscover`) to look for cameras again.
    pub fn new(
        factory: Arc<F>,
        settings: CameraSettings,
        hub: Hub,
        rediscover: mpsc::Sender<CameraId>,
        cancel: CancellationToken,
        seed: u64,
    ) -> Self {
        Self {
            factory,
            settings,
            hub,
            rediscover,
            cameras: HashMap::new(),
            tracker: TaskTracker::new(),
            cancel,
            seed,
        }
    }

    fn start(&mut self, spec: CameraSpec) {
        tracing::info!(camera = %spec.info.id, protocol = %spec.info.protocol, reach = %spec.info.reach, "camera added");
        let (tx, rx) = mpsc::channel(CAMERA_QUEUE);
        let cancel = self.cancel.child_token();
        self.seed = self.seed.wrapping_add(1);
        let id = spec.info.id.clone();
        let info = spec.info.clone();
        let task = camera::CameraTask::new(
            spec,
            self.factory.clone(),
            self.settings.clone(),
            self.hub.clone(),
            rx,
            self.rediscover.clone(),
            cancel.clone(),
            self.seed,
        );
        self.tracker.spawn(task.run());
        self.cameras.insert(
            id,
            Running {
                inputs: tx,
                cancel,
                info,
            },
        );
    }

    async fn discovered(&mut self, spec: CameraSpec, changed: bool) {
        match self.cameras.get_mut(&spec.info.id) {
            None => self.start(spec),
            Some(r) => {
                r.info = spec.info.clone();
                if changed {
                    tracing::info!(camera = %spec.info.id, reach = %spec.info.reach, "camera changed; restarting its session");
                }
                let input = CameraInput::Discovered {
                    spec: Box::new(spec),
                    changed,
                };
                // An update must not be lost; an unchanged Found may be.
                if changed {
                    let _ = r.inputs.send(input).await;
                } else {
                    let _ = r.inputs.try_send(input);
                }
            }
        }
    }

    async fn stop(&mut self, id: &CameraId) {
        if let Some(r) = self.cameras.remove(id) {
            tracing::info!(camera = %id, "camera removed");
            r.cancel.cancel();
            self.hub.publish(BridgeEvent::Removed(id.clone()));
        }
    }

    /// The one gate every command passes, whoever sent it: the camera exists,
    /// can do this at all, and the payload holds a value it accepts
    /// ([`crate::command`]). What passes goes to the camera task, which
    /// answers; what does not is answered here, the same way.
    fn route(&mut self, request: CommandRequest) {
        let CommandRequest {
            camera,
            input,
            reply,
        } = request;
        let kind = input.kind();
        let result = match self.cameras.get(&camera) {
            None => Err(crate::command::unknown_camera(
                camera.as_str(),
                self.cameras.keys(),
            )),
            Some(r) => {
                // The camera as published: discovery's description, corrected
                // by what the camera reported (a Wyze camera says in its login
                // answer whether it has a speaker).
                let info = self
                    .hub
                    .read(|v| v.get(&camera).map(|c| c.info.clone()))
                    .unwrap_or_else(|| r.info.clone());
                let parsed = match input {
                    CommandInput::Payload { kind, payload } => {
                        crate::command::parse_for(&info, kind, &payload)
                    }
                    CommandInput::Parsed(c) => crate::command::check(&info, &c).map(|()| c),
                };
                match parsed {
                    Err(e) => Err(e),
                    Ok(command) => match r.inputs.try_send(CameraInput::Command { command, reply })
                    {
                        Ok(()) => return,
                        Err(
                            mpsc::error::TrySendError::Full(input)
                            | mpsc::error::TrySendError::Closed(input),
                        ) => {
                            let busy = Err(CommandError::Busy(
                                "too many commands queued for this camera".into(),
                            ));
                            if let CameraInput::Command {
                                reply: Some(reply), ..
                            } = input
                            {
                                let _ = reply.send(busy.clone());
                            }
                            self.hub.publish(BridgeEvent::CommandResult {
                                camera,
                                command: kind,
                                result: busy,
                                playback: None,
                            });
                            return;
                        }
                    },
                }
            }
        };
        if let Err(e) = &result {
            tracing::debug!(camera = %camera, command = kind.name(), error = %e, "command refused");
        }
        if let Some(reply) = reply {
            let _ = reply.send(result.clone());
        }
        self.hub.publish(BridgeEvent::CommandResult {
            camera,
            command: kind,
            result,
            playback: None,
        });
    }

    /// Runs until cancelled: starts, updates and stops cameras on discovery
    /// events and routes requests; `rescan` is asked for a scan on
    /// `bridge/set/discover`.
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
                    DiscoveryEvent::Found(spec) => self.discovered(*spec, false).await,
                    DiscoveryEvent::Updated(spec) => self.discovered(*spec, true).await,
                    DiscoveryEvent::Lost(id) => self.stop(&id).await,
                    DiscoveryEvent::Scanned(report) => {
                        self.hub.publish(BridgeEvent::Scanned(report));
                    }
                },
                Some(req) = requests.recv() => match req {
                    Request::Command(request) => self.route(request),
                    Request::Discover => {
                        let _ = rescan.try_send(());
                    }
                },
            }
        }
        self.tracker.close();
        self.tracker.wait().await;
    }
}
