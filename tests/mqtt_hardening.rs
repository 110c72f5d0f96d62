//! The MQTT edge under adversarial and first-hour conditions, over a real
//! mosquitto on loopback with the bridge as a subprocess: a huge retained
//! config of another device, a huge command, and a broker restart that loses
//! every retained message (shutdown under load: `tests/reliability.rs`).

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::time::{Duration, Instant};

use cam2mqtt::sim::pattern::read_stamp;
use cam2mqtt::sim::runner::SimCamera;
use support::{bridge_config, camera_toml, events, Bridge, Mosquitto, Msg, Recorder};

const T: Duration = Duration::from_secs(15);

async fn sim(label: &str, seed: u64) -> SimCamera {
    support::demo_sim(label, seed, 160, 120).await
}

fn connects(log: &str) -> usize {
    log.matches("connected to MQTT broker").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_messages_neither_drop_the_connection_nor_lose_commands() {
    let broker = Mosquitto::start();
    // Another device's 1.1 MB retained discovery config is on the broker first.
    let other = Recorder::connect(broker.port, &[]).await;
    other
        .client
        .publish(
            "homeassistant/camera/bigcam/snapshot/config",
            rumqttc::QoS::AtLeastOnce,
            true,
            vec![b'{'; 1_100_000],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cam = sim("big", 1).await;
    let state_watch = Recorder::connect(broker.port, &["cam2mqtt/bridge/state"]).await;
    let bridge = Bridge::run(
        &bridge_config(&broker.url(), &camera_toml("cam", &cam)),
        "info",
    );
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;
    rec.wait_for("the camera online", T, |m| {
        m.iter()
            .any(|x| x.topic == "cam2mqtt/cam/availability" && x.text() == "online")
    })
    .await;
    // A 1.1 MB command, then a valid one.
    rec.clear();
    rec.publish("cam2mqtt/cam/set/wifi", vec![b'x'; 1_100_000])
        .await;
    rec.publish("cam2mqtt/cam/set/snapshot_interval", "7").await;
    let msgs = rec
        .wait_for("two events", T, |m| events(m, "cam").len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ev = events(&rec.all(), "cam");
    assert_eq!(ev.len(), 2, "exactly two events: {ev:?}");
    assert_eq!(ev[0]["ok"], false);
    let err = ev[0]["error"].as_str().unwrap();
    assert!(
        err.contains("1100000 bytes") && err.contains("at most"),
        "{err}"
    );
    assert_eq!(ev[1]["ok"], true);
    assert!(msgs
        .iter()
        .any(|m| m.topic == "cam2mqtt/cam/state" && m.json()["snapshot_interval_s"] == 7));
    // Still the first connection, and never offline.
    let log = bridge.log_text();
    assert_eq!(connects(&log), 1, "no reconnect: {log}");
    let states: Vec<String> = state_watch.all().iter().map(Msg::text).collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "online"),
        "bridge/state never offline: {states:?}"
    );
    cam.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_retained_again_after_the_broker_restarts_without_persistence() {
    let mut broker = Mosquitto::start();
    let (a, b) = (sim("a", 1).await, sim("b", 2).await);
    // interval 0: snapshots only on demand, so nothing but the republish brings them back.
    let cfg = bridge_config(
        &broker.url(),
        &(camera_toml("a", &a) + &camera_toml("b", &b)),
    )
    .replace("interval_s = 2", "interval_s = 0");
    let bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/+/snapshot"]).await;
    rec.wait_for("first snapshots", T, |m| {
        ["a", "b"].iter().all(|c| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
        })
    })
    .await;
    drop(rec);
    broker.restart();
    let restarted = Instant::now();
    // The bridge reconnects (its first retry comes after 100 ms) and republishes.
    let deadline = restarted + Duration::from_secs(20);
    loop {
        let log = bridge.log_text();
        if connects(&log) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no reconnect: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reconnected = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let late = Recorder::connect(
        broker.port,
        &["cam2mqtt/+/snapshot", "cam2mqtt/+/last_snapshot"],
    )
    .await;
    let msgs = late
        .wait_for("retained snapshots", Duration::from_secs(5), |m| {
            ["a", "b"].iter().all(|c| {
                ["snapshot", "last_snapshot"].iter().all(|leaf| {
                    m.iter()
                        .any(|x| x.retain && x.topic == format!("cam2mqtt/{c}/{leaf}"))
                })
            })
        })
        .await;
    assert!(
        reconnected.elapsed() < Duration::from_secs(5) + Duration::from_millis(500),
        "within 5 s of reconnecting"
    );
    for (c, label) in [("a", "a"), ("b", "b")] {
        let snap = msgs
            .iter()
            .find(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
            .unwrap();
        assert_eq!(
            read_stamp(&snap.payload).map(|s| s.0),
            Some(label.to_string())
        );
        assert!(msgs
            .iter()
            .any(|x| x.retain && x.topic == format!("cam2mqtt/{c}/last_snapshot")));
    }
    a.stop().await;
    b.stop().await;
}
