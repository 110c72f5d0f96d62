//! The one-shot CLI beside a running bridge: `snapshot` asks the bridge over
//! MQTT instead of taking its camera over (the camera never goes offline),
//! and talks to the camera itself when no bridge runs; `discover` says where
//! its LAN searches go.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::process::{Command, Output};
use std::time::Duration;

use cam2mqtt::sim::pattern::read_stamp;
use support::{bridge_config, camera_toml, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(20);

async fn cam2mqtt(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("CAM2MQTT_CONFIG")
            .output()
            .expect("run cam2mqtt")
    })
    .await
    .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_asks_a_running_bridge_instead_of_taking_its_camera_over() {
    let broker = Mosquitto::start();
    let cam = support::demo_sim("porch", 1, 160, 120).await;
    let cfg = bridge_config(&broker.url(), &camera_toml("porch", &cam));
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(&conf, &cfg).unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let out_file = dir.path().join("porch.jpg");
    let args = vec![
        "--config".into(),
        conf.clone(),
        "--state-dir".into(),
        dir.path().join("cli-state").to_string_lossy().into_owned(),
        "snapshot".into(),
        "porch".into(),
        "-o".into(),
        out_file.to_string_lossy().into_owned(),
    ];

    let mut bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/porch/availability"]).await;
    rec.wait_for("the camera online", T, |m| {
        m.iter().any(|x| !x.retain && x.text() == "online")
    })
    .await;
    // As a user would find it: the bridge has told the broker about the camera.
    let info = Recorder::connect(broker.port, &["cam2mqtt/bridge/info"]).await;
    info.wait_for("bridge/info naming porch", T, |m| {
        m.iter().any(|x| x.json()["cameras"][0]["id"] == "porch")
    })
    .await;
    rec.clear();
    let out = cam2mqtt(args.clone()).await;
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "{}: {}\n{stderr}",
        out.status,
        text(&out.stdout)
    );
    assert!(
        stderr.contains("asking it for a snapshot of porch"),
        "{stderr}"
    );
    let jpeg = std::fs::read(&out_file).expect("the JPEG");
    assert_eq!(read_stamp(&jpeg).map(|s| s.0).as_deref(), Some("porch"));
    // The bridge kept its camera the whole time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let avail: Vec<String> = rec.all().iter().map(|m| m.text()).collect();
    assert!(avail.iter().all(|a| a == "online"), "{avail:?}");
    assert!(
        !bridge.log_text().contains("session ended"),
        "{}",
        bridge.log_text()
    );

    // No bridge running: the CLI talks to the camera itself.
    assert!(bridge.terminate(Duration::from_secs(10)));
    std::fs::remove_file(&out_file).unwrap();
    let out = cam2mqtt(args).await;
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "{}: {}\n{stderr}",
        out.status,
        text(&out.stdout)
    );
    assert!(!stderr.contains("asking it"), "{stderr}");
    let jpeg = std::fs::read(&out_file).expect("the JPEG");
    assert_eq!(read_stamp(&jpeg).map(|s| s.0).as_deref(), Some("porch"));
    cam.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_says_where_its_searches_go() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(
        &conf,
        // A Wyze camera known by UID only, so the TUTK search runs too.
        "[discovery]\npppp_broadcast = false\ntutk_broadcast = false\nunicast_hosts = [\"127.0.0.1\"]\n\n[[cameras]]\nid = \"wyze\"\nprotocol = \"tutk\"\nuid = \"HSBJYB5HSETGCDWD111A\"\nenr = \"aKzdqckqZ8HUHFe5aKzdqckqZ8HUHFe5\"\nmac = \"AABBCCDDEEFF\"\n",
    )
    .unwrap();
    let out = cam2mqtt(vec![
        "--config".into(),
        conf.to_string_lossy().into_owned(),
        "--state-dir".into(),
        dir.path().join("state").to_string_lossy().into_owned(),
        "discover".into(),
        "--no-broadcast".into(),
        "--timeout".into(),
        "1s".into(),
    ])
    .await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("PPPP LAN search to unicast 127.0.0.1")
            && stderr.contains("TUTK LAN search to unicast 127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("broadcast 255"), "{stderr}");
}
