//! The supervisor, camera tasks and real driver over the in-memory network,
//! with tokio's paused clock: silence → offline → recovery, and a killed
//! session that restarts with backoff while another camera keeps publishing.
//! No sleeps in real time; the "fake MQTT sink" is the publisher's event channel.

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use cam2mqtt::bus::{BridgeEvent, CommandInput, CommandRequest, Request};
use cam2mqtt::config::{CameraConfig, CameraKind};
use cam2mqtt::discovery::configured::demo_spec;
use cam2mqtt::discovery::DiscoveryEvent;
use cam2mqtt::model::CameraCommand;
use cam2mqtt::sim::demo::{DemoCamera, DemoCameraConfig, DemoCameraHandle};
use cam2mqtt::sim::memnet::{MemFactory, MemNet};
use cam2mqtt::sim::pattern::{read_stamp, PatternSpec};
use cam2mqtt::sim::runner::run_device;
use cam2mqtt::supervisor::backoff::Backoff;
use cam2mqtt::supervisor::core::CoreSettings;
use cam2mqtt::supervisor::{CameraSettings, Supervisor};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Starts a simulated camera on the in-memory network at 127.0.0.<host>:8080/8070/8090.
fn spawn_camera(
    net: &MemNet,
    host: u8,
    label: &str,
    cancel: &CancellationToken,
) -> (CameraConfig, DemoCameraHandle) {
    let ip = format!("127.0.0.{host}");
    let sockets = [8080u16, 8070, 8090]
        .iter()
        .map(|p| net.bind(format!("{ip}:{p}").parse().unwrap()).unwrap())
        .collect::<Vec<_>>();
    let cam = DemoCamera::new(
        DemoCameraConfig {
            label: label.into(),
            pattern: PatternSpec {
                width: 160,
                height: 120,
                ..PatternSpec::default()
            },
            fps: 5,
            ..DemoCameraConfig::default()
        },
        cam2mqtt::io::clock::now(),
    );
    let handle = cam.handle();
    tokio::spawn(run_device(cam, sockets, cancel.clone()));
    let mut cfg = CameraConfig::demo(&ip);
    cfg.id = label.into();
    if let CameraKind::Demo(d) = &mut cfg.kind {
        d.silence_timeout_s = 3;
    }
    cfg.snapshot_interval_s = Some(1);
    (cfg, handle)
}

struct Bridge {
    events: tokio::sync::broadcast::Receiver<BridgeEvent>,
    requests: mpsc::Sender<Request>,
    log: Vec<(Instant, BridgeEvent)>,
}

impl Bridge {
    async fn start(
        net: &MemNet,
        cameras: &[CameraConfig],
        backoff: Backoff,
        cancel: &CancellationToken,
    ) -> Self {
        Self::start_with_state(net, cameras, backoff, cancel, None).await
    }

    async fn start_with_state(
        net: &MemNet,
        cameras: &[CameraConfig],
        backoff: Backoff,
        cancel: &CancellationToken,
        state_dir: Option<std::path::PathBuf>,
    ) -> Self {
        let (disc_tx, disc_rx) = mpsc::channel(16);
        let (requests, req_rx) = mpsc::channel(16);
        let hub = cam2mqtt::bus::Hub::new(requests.clone());
        let events = hub.subscribe();
        let (rescan_tx, _rescan_rx) = mpsc::channel(1);
        let (forget_tx, forget_rx) = mpsc::channel(16);
        let settings = CameraSettings {
            max_bytes: 500_000,
            jpeg_quality: 80,
            core: CoreSettings {
                backoff,
                ..CoreSettings::default()
            },
            state_dir,
            decode_pool: cam2mqtt::supervisor::snapshot_pool(1).expect("decode thread"),
            live: Default::default(),
            tts: None,
        };
        let sup = Supervisor::new(
            Arc::new(MemFactory(net.clone())),
            settings,
            hub,
            forget_tx,
            cancel.clone(),
            42,
        );
        tokio::spawn(sup.run(disc_rx, req_rx, rescan_tx));
        std::mem::forget(forget_rx);
        for c in cameras {
            let CameraKind::Demo(d) = &c.kind else {
                unreachable!("demo cameras")
            };
            let spec = demo_spec(c, d, 1, "test").await.unwrap();
            disc_tx
                .send(DiscoveryEvent::Found(Box::new(spec)))
                .await
                .unwrap();
        }
        // Keep the discovery channel open for the test's lifetime.
        std::mem::forget(disc_tx);
        Self {
            events,
            requests,
            log: Vec::new(),
        }
    }

    /// Waits (in virtual time) for an event matching `pred`; returns when it happened.
    async fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&BridgeEvent) -> bool,
    ) -> Instant {
        let deadline = cam2mqtt::io::clock::deadline_now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Ok(ev)) => {
                    let hit = pred(&ev);
                    let now = cam2mqtt::io::clock::deadline_now();
                    self.log.push((now, ev));
                    if hit {
                        return now;
                    }
                }
                Ok(Err(e)) => panic!("event channel: {e} while waiting for {what}"),
                Err(_) => panic!("no {what} within {limit:?}"),
            }
        }
    }

    fn snapshots_of(&self, cam: &str, from: Instant, to: Instant) -> Vec<u64> {
        self.log
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .filter_map(|(_, e)| match e {
                BridgeEvent::Snapshot { camera, jpeg, .. } if camera.as_str() == cam => {
                    read_stamp(jpeg).map(|s| s.1)
                }
                _ => None,
            })
            .collect()
    }
}

fn availability(cam: &'static str, online: bool) -> impl Fn(&BridgeEvent) -> bool {
    move |e| matches!(e, BridgeEvent::Availability { camera, online: o } if camera.as_str() == cam && *o == online)
}

fn fast_backoff() -> Backoff {
    Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(30),
        reset_after: Duration::from_secs(30),
    }
}

#[tokio::test(start_paused = true)]
async fn a_camera_that_stops_sending_goes_offline_and_recovers() {
    let net = MemNet::new(1);
    let cancel = CancellationToken::new();
    let (cfg, cam) = spawn_camera(&net, 2, "porch", &cancel);
    let mut bridge = Bridge::start(&net, &[cfg], fast_backoff(), &cancel).await;
    bridge
        .wait(
            "porch online",
            Duration::from_secs(5),
            availability("porch", true),
        )
        .await;

    cam.set_paused(true);
    let paused_at = cam2mqtt::io::clock::deadline_now();
    let offline_at = bridge
        .wait(
            "porch offline",
            Duration::from_secs(10),
            availability("porch", false),
        )
        .await;
    let silent_for = offline_at - paused_at;
    assert!(
        silent_for >= Duration::from_secs(2) && silent_for <= Duration::from_secs(4),
        "offline after {silent_for:?} of silence"
    );

    cam.set_paused(false);
    let back_at = bridge
        .wait(
            "porch online again",
            Duration::from_secs(60),
            availability("porch", true),
        )
        .await;
    bridge
        .wait("a snapshot after recovery", Duration::from_secs(5), |e| {
            matches!(e, BridgeEvent::Snapshot { .. })
        })
        .await;
    assert!(back_at > offline_at);
    cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn a_killed_session_restarts_with_backoff_while_another_camera_keeps_publishing() {
    let net = MemNet::new(2);
    let cancel = CancellationToken::new();
    let (a_cfg, _a) = spawn_camera(&net, 2, "front", &cancel);
    let (b_cfg, _b) = spawn_camera(&net, 3, "back", &cancel);
    let a_video: SocketAddr = "127.0.0.2:8080".parse().unwrap();
    let mut bridge = Bridge::start(&net, &[a_cfg, b_cfg], fast_backoff(), &cancel).await;
    bridge
        .wait(
            "front online",
            Duration::from_secs(5),
            availability("front", true),
        )
        .await;
    bridge
        .wait(
            "back online",
            Duration::from_secs(5),
            availability("back", true),
        )
        .await;

    let mut downtimes = Vec::new();
    for round in 0..2 {
        let sock = net
            .socket_talking_to(a_video)
            .expect("the bridge bound a socket for front");
        net.break_socket(sock);
        let down = bridge
            .wait(
                "front offline",
                Duration::from_secs(5),
                availability("front", false),
            )
            .await;
        let up = bridge
            .wait(
                "front back online",
                Duration::from_secs(30),
                availability("front", true),
            )
            .await;
        let back_snaps = bridge.snapshots_of("back", down, up);
        assert!(
            !back_snaps.is_empty(),
            "round {round}: back kept publishing while front was down"
        );
        assert!(
            back_snaps.windows(2).all(|w| w[1] > w[0]),
            "back's frames keep advancing"
        );
        downtimes.push(up - down);
        assert_ne!(
            net.socket_talking_to(a_video),
            Some(sock),
            "a new session, a new socket"
        );
    }
    // Backoff base 2 s with jitter in [0.5, 1]: first retry after 1–2 s, second after 2–4 s.
    assert!(
        downtimes[0] >= Duration::from_secs(1) && downtimes[0] <= Duration::from_millis(2500),
        "{downtimes:?}"
    );
    assert!(
        downtimes[1] >= Duration::from_secs(2) && downtimes[1] <= Duration::from_millis(4500),
        "{downtimes:?}"
    );
    cancel.cancel();
}

fn interval_in_state(e: &BridgeEvent) -> Option<u64> {
    match e {
        BridgeEvent::State { state, .. } => Some(u64::from(state.snapshot_interval_s)),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_interval_set_at_runtime_survives_a_restart_until_the_config_changes() {
    let dir = tempfile::tempdir().unwrap();
    let net = MemNet::new(3);
    let cancel = CancellationToken::new();
    let (cfg, _cam) = spawn_camera(&net, 2, "porch", &cancel);
    assert_eq!(cfg.snapshot_interval_s, Some(1));

    let run = CancellationToken::new();
    let mut bridge = Bridge::start_with_state(
        &net,
        std::slice::from_ref(&cfg),
        fast_backoff(),
        &run,
        Some(dir.path().into()),
    )
    .await;
    bridge
        .wait(
            "porch online",
            Duration::from_secs(5),
            availability("porch", true),
        )
        .await;
    let camera = cam2mqtt::model::CameraId::parse("porch").unwrap();
    bridge
        .requests
        .send(Request::Command(CommandRequest {
            camera,
            input: CommandInput::Parsed(CameraCommand::SetSnapshotInterval(7)),
            reply: None,
        }))
        .await
        .unwrap();
    bridge
        .wait("interval accepted", Duration::from_secs(5), |e| {
            matches!(e, BridgeEvent::CommandResult { result: Ok(()), .. })
        })
        .await;
    run.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Restart with the same config: the runtime value holds.
    assert_eq!(
        interval_after_restart(&net, cfg.clone(), dir.path()).await,
        7
    );
    // The config file now says 3: that deliberate edit wins.
    let mut edited = cfg.clone();
    edited.snapshot_interval_s = Some(3);
    assert_eq!(interval_after_restart(&net, edited, dir.path()).await, 3);
    cancel.cancel();
}

/// Starts a bridge for `cfg` with `state_dir` and returns the snapshot interval of its first state.
async fn interval_after_restart(
    net: &MemNet,
    cfg: CameraConfig,
    state_dir: &std::path::Path,
) -> u64 {
    let run = CancellationToken::new();
    let mut bridge =
        Bridge::start_with_state(net, &[cfg], fast_backoff(), &run, Some(state_dir.into())).await;
    bridge
        .wait("state", Duration::from_secs(5), |e| {
            interval_in_state(e).is_some()
        })
        .await;
    let interval = bridge
        .log
        .iter()
        .find_map(|(_, e)| interval_in_state(e))
        .unwrap();
    run.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;
    interval
}

#[tokio::test(start_paused = true)]
async fn a_camera_that_left_demo_mode_is_found_again_by_discovery_and_comes_back() {
    use cam2mqtt::discovery::{demo_probe::DemoProbe, Sources};

    let net = MemNet::new(5);
    let cancel = CancellationToken::new();
    let ip = "127.0.0.4";
    let sockets = [8080u16, 8070, 8090]
        .iter()
        .map(|p| net.bind(format!("{ip}:{p}").parse().unwrap()).unwrap())
        .collect::<Vec<_>>();
    let cam = DemoCamera::new(
        DemoCameraConfig {
            label: "lobby".into(),
            pattern: PatternSpec {
                width: 160,
                height: 120,
                ..PatternSpec::default()
            },
            fps: 5,
            return_to_demo_after: Some(Duration::from_secs(8)),
            ..DemoCameraConfig::default()
        },
        cam2mqtt::io::clock::now(),
    );
    tokio::spawn(run_device(cam, sockets, cancel.clone()));
    let mut cfg = CameraConfig::demo(ip);
    cfg.id = "lobby".into();
    let CameraKind::Demo(d) = &cfg.kind else {
        unreachable!()
    };
    let spec = demo_spec(&cfg, d, 5, "test").await.unwrap();

    let (disc_tx, disc_rx) = mpsc::channel(16);
    let (requests, req_rx) = mpsc::channel(16);
    let hub = cam2mqtt::bus::Hub::new(requests.clone());
    let mut events = hub.subscribe();
    let (rescan_tx, rescan_rx) = mpsc::channel(1);
    let (forget_tx, forget_rx) = mpsc::channel(16);
    let factory = Arc::new(MemFactory(net.clone()));
    let settings = CameraSettings {
        max_bytes: 500_000,
        jpeg_quality: 80,
        core: CoreSettings::default(),
        state_dir: None,
        decode_pool: cam2mqtt::supervisor::snapshot_pool(1).expect("decode thread"),
        live: Default::default(),
        tts: None,
    };
    let sup = Supervisor::new(factory.clone(), settings, hub, forget_tx, cancel.clone(), 3);
    tokio::spawn(sup.run(disc_rx, req_rx, rescan_tx));
    tokio::spawn(cam2mqtt::discovery::run(
        Sources {
            configured: vec![spec],
            demo_probe: DemoProbe::default(),
            pppp: None,
            wyze: None,
            tutk_lan: Default::default(),
        },
        factory,
        Duration::from_secs(3),
        disc_tx,
        rescan_rx,
        forget_rx,
        cancel.clone(),
    ));

    let mut log: Vec<(Instant, BridgeEvent)> = Vec::new();
    let mut wait = async |what: &str, pred: &dyn Fn(&BridgeEvent) -> bool| {
        let deadline = cam2mqtt::io::clock::deadline_now() + Duration::from_secs(60);
        loop {
            let ev = tokio::time::timeout_at(deadline, events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within 60 s"))
                .expect("events");
            let hit = pred(&ev);
            log.push((cam2mqtt::io::clock::deadline_now(), ev));
            if hit {
                return cam2mqtt::io::clock::deadline_now();
            }
        }
    };
    wait("online", &availability("lobby", true)).await;
    requests
        .send(Request::Command(CommandRequest {
            camera: cam2mqtt::model::CameraId::parse("lobby").unwrap(),
            input: CommandInput::Parsed(CameraCommand::SetWifi {
                ssid: "home".into(),
                password: cam2mqtt::secret::Secret::new("password1"),
            }),
            reply: None,
        }))
        .await
        .unwrap();
    let left = wait("awaiting discovery", &|e| {
        matches!(e, BridgeEvent::State { state, .. }
            if state.session == cam2mqtt::bus::SessionPhase::AwaitingDiscovery
            && state.last_error.as_deref().is_some_and(|e| e.contains("demo mode")))
    })
    .await;
    let back = wait("online again", &availability("lobby", true)).await;
    let away = back - left;
    // The camera returns after 8 s; discovery scans every 3 s.
    assert!(
        away >= Duration::from_secs(8) && away <= Duration::from_secs(13),
        "away for {away:?}"
    );
    cancel.cancel();
}
