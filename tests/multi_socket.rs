//! Sessions with more than one socket: the `Pair` harness routes each socket's
//! traffic, and the daemon (supervisor, camera task, driver) binds every socket
//! a session's spec asks for, one of them broadcast-capable.

#![allow(clippy::disallowed_methods)] // a base instant for virtual time

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cam2mqtt::bus::BridgeEvent;
use cam2mqtt::discovery::{CameraSpec, DiscoveryEvent};
use cam2mqtt::model::{CameraId, CameraInfo, Capability, MediaFrame, Protocol, Reach};
use cam2mqtt::proto::demo::DemoConfig;
use cam2mqtt::proto::SessionEvent;
use cam2mqtt::sim::demo::{DemoCamera, DemoCameraConfig};
use cam2mqtt::sim::memnet::{MemFactory, MemNet};
use cam2mqtt::sim::netem::NetemConfig;
use cam2mqtt::sim::pattern::PatternSpec;
use cam2mqtt::sim::runner::run_device;
use cam2mqtt::supervisor::{CameraSettings, Supervisor};
use support::pair::Pair;
use support::two_socket::{Both, EchoBeacon, TwoSocketFactory, PROBE};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn camera() -> DemoCameraConfig {
    DemoCameraConfig {
        label: "two".into(),
        pattern: PatternSpec {
            width: 160,
            height: 120,
            ..PatternSpec::default()
        },
        fps: 5,
        ..DemoCameraConfig::default()
    }
}

fn factory(ip: &str, beacon: SocketAddr, probe_bind: SocketAddr) -> TwoSocketFactory {
    let a = |p: u16| addr(&format!("{ip}:{p}"));
    TwoSocketFactory {
        demo: DemoConfig::new(a(8080), a(8070), a(8090), cam2mqtt::media::jpeg::decodes),
        beacon,
        probe_bind,
        answers: Arc::new(AtomicU64::new(0)),
    }
}

#[test]
fn a_session_with_two_sockets_sends_and_receives_on_each() {
    let t0 = Instant::now();
    let beacon = addr("127.0.0.2:9999");
    let f = factory("127.0.0.2", beacon, addr("127.0.0.1:0"));
    let device = Both {
        first: DemoCamera::new(camera(), t0),
        second: EchoBeacon::default(),
    };
    let (c0, c1) = (addr("127.0.0.1:40000"), addr("127.0.0.1:40001"));
    let mut p = Pair::with_sockets(
        f.session(),
        device,
        t0,
        vec![c0, c1],
        vec![
            addr("127.0.0.2:8080"),
            addr("127.0.0.2:8070"),
            addr("127.0.0.2:8090"),
            beacon,
        ],
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_for(Duration::from_secs(3));
    let frames = p
        .events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Media(MediaFrame::Jpeg(_))))
        .count();
    assert!(frames >= 10, "video flows on socket 0: {frames} frames");
    assert!(p.client_received[0] > 10, "{:?}", p.client_received);
    // A probe at start and one per second: 4 in 3 s, each answered on socket 1.
    assert_eq!(f.answers.load(Ordering::SeqCst), 4);
    assert_eq!(p.client_received[1], 4);
    assert!(p.device.second.received == 4);
    for (from, to, bytes) in &p.client_sent {
        if bytes.as_slice() == PROBE {
            assert_eq!((*from, *to), (c1, beacon), "probes leave from socket 1");
        } else {
            assert_eq!(*from, c0, "the demo session speaks from socket 0");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_daemon_binds_every_socket_a_spec_asks_for_including_a_broadcast_one() {
    let net = MemNet::new(9);
    let cancel = CancellationToken::new();
    let ip = "127.0.0.7";
    let cam_sockets = [8080u16, 8070, 8090]
        .iter()
        .map(|p| net.bind(addr(&format!("{ip}:{p}"))).unwrap())
        .collect::<Vec<_>>();
    let beacon = addr("127.0.0.7:9999");
    let beacon_socket = vec![net.bind(beacon).unwrap()];
    tokio::spawn(run_device(
        DemoCamera::new(camera(), cam2mqtt::io::clock::now()),
        cam_sockets,
        cancel.clone(),
    ));
    tokio::spawn(run_device(
        EchoBeacon::default(),
        beacon_socket,
        cancel.clone(),
    ));

    let f = factory(ip, beacon, addr("127.0.0.1:0"));
    let answers = f.answers.clone();
    let id = CameraId::parse("two").unwrap();
    let video = addr("127.0.0.7:8080");
    let spec = CameraSpec {
        info: CameraInfo {
            id: id.clone(),
            uid: "two".into(),
            name: "Two sockets".into(),
            protocol: Protocol::Demo,
            reach: Reach::Host(video),
            model: "test".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot],
        },
        snapshot_interval_s: 1,
        fingerprint: "two".into(),
        session: Arc::new(f),
        off_session: None,
    };
    let (disc_tx, disc_rx) = mpsc::channel(4);
    let (req_tx, req_rx) = mpsc::channel(4);
    let hub = cam2mqtt::bus::Hub::new(req_tx);
    let mut events = hub.subscribe();
    let (rescan_tx, _rescan_rx) = mpsc::channel(1);
    let (forget_tx, _forget_rx) = mpsc::channel(4);
    let settings = CameraSettings {
        max_bytes: 500_000,
        jpeg_quality: 80,
        core: Default::default(),
        state_dir: None,
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
        1,
    );
    tokio::spawn(sup.run(disc_rx, req_rx, rescan_tx));
    disc_tx
        .send(DiscoveryEvent::Found(Box::new(spec)))
        .await
        .unwrap();

    let mut snapshots = 0;
    let deadline = cam2mqtt::io::clock::deadline_now() + Duration::from_secs(10);
    while snapshots < 3 {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("snapshots within 10 s")
            .expect("events");
        if matches!(ev, BridgeEvent::Snapshot { ref camera, .. } if *camera == id) {
            snapshots += 1;
        }
    }
    assert!(
        answers.load(Ordering::SeqCst) >= 2,
        "the probe socket got answers"
    );
    let video_socket = net.socket_talking_to(video).expect("socket 0 bound");
    let probe_socket = net.socket_talking_to(beacon).expect("socket 1 bound");
    assert_ne!(video_socket, probe_socket, "two sockets");
    assert!(probe_socket.ip().is_loopback());
    assert!(
        net.is_broadcast(probe_socket),
        "socket 1 is broadcast-capable"
    );
    assert!(!net.is_broadcast(video_socket));
    cancel.cancel();
}
