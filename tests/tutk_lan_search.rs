//! The TUTK LAN search over real UDP on loopback: a Wyze camera configured by
//! UID, ENR and MAC without a `host` is found by the stage-1 Disco sent to
//! `discovery.unicast_hosts` (broadcast off: tests send nothing beyond
//! loopback), listed by `cam2mqtt discover --json` with the address it
//! answered from, streams through the bridge, and is found again at its new
//! address when it moves.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use cam2mqtt::sim::runner::{SimCamera, SimTutkCamera, TutkSimOptions};
use cam2mqtt::sim::tutk::TutkCameraConfig;
use support::{bridge_config, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(30);

async fn sim_at(listen: SocketAddr) -> SimTutkCamera {
    SimCamera::spawn_tutk(TutkSimOptions {
        listen,
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera")
}

/// A free UDP port on `ip` (bound and released: nothing else binds this
/// loopback address).
#[allow(clippy::disallowed_types)] // a test reserving a port, not camera I/O
fn free_port_on(ip: [u8; 4]) -> SocketAddr {
    std::net::UdpSocket::bind(SocketAddr::from((ip, 0)))
        .and_then(|s| s.local_addr())
        .expect("a free port")
}

/// `[discovery]` and one `[[cameras]]` entry without `host`.
fn search_config(hosts: &[SocketAddr]) -> String {
    let d = TutkCameraConfig::default();
    let hosts: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "[discovery]\npppp_lan_search = false\npppp_broadcast = false\ntutk_broadcast = false\nunicast_hosts = [{}]\n\n[[cameras]]\nid = \"attic\"\nprotocol = \"tutk\"\nuid = \"{}\"\nenr = \"{}\"\nmac = \"{}\"\n",
        hosts.join(", "),
        d.uid,
        d.enr.expose(),
        d.mac
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_finds_a_wyze_camera_known_only_by_uid() {
    let sim = sim_at(SocketAddr::from(([127, 0, 0, 9], 0))).await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    // A host where nothing answers, then the camera.
    let nobody = free_port_on([127, 0, 0, 9]);
    std::fs::write(&conf, search_config(&[nobody, sim.addr()])).unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
            .args(["--config", &conf, "discover", "--json", "--timeout", "2s"])
            .env_remove("RUST_LOG")
            .env_remove("CAM2MQTT_CONFIG")
            .output()
            .expect("run cam2mqtt")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 1, "{list:?}");
    let cam = &list[0];
    assert_eq!(cam["protocol"], "tutk");
    assert_eq!(cam["id"], "attic");
    assert_eq!(cam["uid"], sim.uid());
    assert_eq!(cam["address"], sim.addr().to_string(), "where it answered");
    assert_eq!(cam["source"], "config");
    assert!(sim.handle().discos_answered() >= 1);
    assert!(!stdout.contains(TutkCameraConfig::default().enr.expose()));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wyze_camera_known_only_by_uid_streams_and_is_found_again_when_it_moves() {
    let broker = Mosquitto::start();
    let first = sim_at(SocketAddr::from(([127, 0, 0, 10], 0))).await;
    let moved_to = free_port_on([127, 0, 0, 11]);
    let cfg = bridge_config(&broker.url(), "")
        .replace("[discovery]\n", "")
        .replace("pppp_broadcast = false\ntutk_broadcast = false\n", "")
        + &search_config(&[first.addr(), moved_to]);
    let bridge = Bridge::run(&cfg, "debug");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;
    rec.wait_for("a snapshot from the camera found by search", T, |m| {
        m.iter().any(|x| x.topic == "cam2mqtt/attic/snapshot")
    })
    .await;
    assert!(first.handle().sessions() >= 1);

    // The camera moves (DHCP gave it another address): the session falls
    // silent, restarts where the camera was, and its search finds it anew.
    first.stop().await;
    let second = sim_at(moved_to).await;
    rec.clear();
    // A snapshot the first session had in flight may still arrive: only
    // one after the camera at its new address has a session counts.
    rec.wait_for("a snapshot from the camera at its new address", T, |m| {
        second.handle().sessions() >= 1 && m.iter().any(|x| x.topic == "cam2mqtt/attic/snapshot")
    })
    .await;
    assert!(second.handle().sessions() >= 1, "{}", bridge.log_text());
    assert!(
        second.handle().peer().is_some(),
        "the bridge talks to the moved camera"
    );
    second.stop().await;
}
