//! Promises under load, over a real mosquitto with the bridge as a subprocess
//! and `mosquitto_pub` as the user's client: exactly one event per command in
//! a burst, a clean shutdown however full the queues are, settings that survive
//! a restart, and a quick return after the broker restarts.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cam2mqtt::sim::runner::{PpppSimOptions, SimCamera};
use support::{bridge_config, camera_toml, events, Bridge, Mosquitto, Msg, Recorder};

const T: Duration = Duration::from_secs(30);

/// Publishes each line of `lines` to `topic` at QoS 1 with one
/// `mosquitto_pub -l` (one connection, in order), as fast as it can.
fn burst(port: u16, topic: &str, lines: &str) -> std::process::Child {
    let mut child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-l",
            "-t",
            topic,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto_pub (apt-get install mosquitto-clients)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write burst");
    child
}

fn online(msgs: &[Msg], cams: &[String]) -> bool {
    cams.iter().all(|c| {
        msgs.iter()
            .rev()
            .find(|m| !m.retain && m.topic == format!("cam2mqtt/{c}/availability"))
            .is_some_and(|m| m.text() == "online")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_a_thousand_commands_gets_exactly_a_thousand_events_ten_times() {
    let broker = Mosquitto::start();
    let cam = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        width: 320,
        height: 240,
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera");
    let _bridge = Bridge::run(
        &bridge_config(&broker.url(), &cam.config_snippet("cam")),
        "info",
    );
    let rec = Recorder::connect(
        broker.port,
        &["cam2mqtt/cam/event", "cam2mqtt/cam/availability"],
    )
    .await;
    rec.wait_for("the camera online", T, |m| online(m, &["cam".into()]))
        .await;
    for round in 0..10 {
        rec.clear();
        let mut pubber = burst(
            broker.port,
            "cam2mqtt/cam/set/snapshot_interval",
            &"10\n".repeat(1000),
        );
        assert!(pubber.wait().expect("mosquitto_pub").success());
        rec.wait_for(&format!("round {round}: 1000 events"), T, |m| {
            events(m, "cam").len() >= 1000
        })
        .await;
        // A duplicate would arrive within moments of the original.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let ev = events(&rec.all(), "cam");
        let busy = ev.iter().filter(|e| e["ok"] == false).count();
        assert_eq!(
            ev.len(),
            1000,
            "round {round}: one event per command ({busy} said busy)"
        );
        assert!(ev.iter().all(|e| e["command"] == "snapshot_interval"));
    }
    cam.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_after_command_bursts_leaves_every_camera_offline_twenty_times() {
    let broker = Mosquitto::start();
    let ids: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    let mut cams = Vec::new();
    for (i, _) in ids.iter().enumerate() {
        cams.push(support::demo_sim(&format!("c{i}"), i as u64 + 1, 160, 120).await);
    }
    let toml: String = ids
        .iter()
        .zip(&cams)
        .map(|(id, c)| camera_toml(id, c))
        .collect();
    let cfg = bridge_config(&broker.url(), &toml);
    for run in 0..20 {
        let mut bridge = Bridge::run(&cfg, "info");
        let rec = Recorder::connect(broker.port, &["cam2mqtt/+/availability"]).await;
        rec.wait_for(&format!("run {run}: ten cameras online"), T, |m| {
            online(m, &ids)
        })
        .await;
        // 100 commands to every camera at once, and the signal right behind.
        let pubbers: Vec<_> = ids
            .iter()
            .map(|c| {
                burst(
                    broker.port,
                    &format!("cam2mqtt/{c}/set/snapshot_interval"),
                    &"30\n".repeat(100),
                )
            })
            .collect();
        for mut p in pubbers {
            let _ = p.wait();
        }
        let signal = if run % 2 == 0 { "INT" } else { "TERM" };
        let status = bridge
            .signal(signal, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("run {run}: exit after SIG{signal}"));
        assert!(status.success(), "run {run}: {status}");
        // What a newcomer sees retained now.
        let late = Recorder::connect(
            broker.port,
            &[
                "cam2mqtt/+/availability",
                "cam2mqtt/+/state",
                "cam2mqtt/bridge/state",
            ],
        )
        .await;
        let retained = late
            .wait_for("every retained availability and state", T, |m| {
                m.iter().filter(|x| x.retain).count() > 2 * ids.len()
            })
            .await;
        let last = |topic: String| {
            retained
                .iter()
                .rev()
                .find(|x| x.retain && x.topic == topic)
                .cloned()
                .unwrap_or_else(|| panic!("run {run}: {topic} retained"))
        };
        for c in &ids {
            let a = last(format!("cam2mqtt/{c}/availability"));
            assert_eq!(a.text(), "offline", "run {run} (SIG{signal}): camera {c}");
            let s = last(format!("cam2mqtt/{c}/state"));
            assert_eq!(s.json()["session"], "stopped", "run {run}: camera {c}");
        }
        assert_eq!(last("cam2mqtt/bridge/state".into()).text(), "offline");
        // From the bridge itself: a clean DISCONNECT, so no last will.
        let log = broker.log_text();
        let clean = log.matches("Client cam2mqtt-test disconnected.").count();
        assert_eq!(
            clean,
            run + 1,
            "run {run}: a clean disconnect each time:\n{log}"
        );
        assert!(
            !log.contains("cam2mqtt-test closed its connection")
                && !log.contains("cam2mqtt-test has exceeded timeout"),
            "run {run}: {log}"
        );
        let bridge_log = bridge.log_text();
        assert!(
            bridge_log.contains("offline states published"),
            "run {run}: {bridge_log}"
        );
    }
    for c in cams {
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_of_four_hundred_interval_changes_survives_a_restart() {
    let broker = Mosquitto::start();
    let cam = support::demo_sim("cam", 1, 160, 120).await;
    let cfg = bridge_config(&broker.url(), &camera_toml("cam", &cam));
    let state = tempfile::tempdir().expect("state dir");
    let mut bridge = Bridge::run_with_state(&cfg, "info", Some(state.path()));
    let rec = Recorder::connect(
        broker.port,
        &["cam2mqtt/cam/event", "cam2mqtt/cam/availability"],
    )
    .await;
    rec.wait_for("the camera online", T, |m| online(m, &["cam".into()]))
        .await;
    rec.clear();
    // 400 different values as fast as the broker takes them, then 777.
    let values: String = (0..400)
        .map(|i| format!("{}\n", 1000 + (i * 7) % 2000))
        .collect();
    let mut pubber = burst(broker.port, "cam2mqtt/cam/set/snapshot_interval", &values);
    assert!(pubber.wait().expect("mosquitto_pub").success());
    rec.publish("cam2mqtt/cam/set/snapshot_interval", "777")
        .await;
    let msgs = rec
        .wait_for("401 events", T, |m| events(m, "cam").len() >= 401)
        .await;
    let ev = events(&msgs, "cam");
    assert_eq!(ev[400]["ok"], true, "777 acknowledged: {}", ev[400]);
    assert!(
        bridge.terminate(Duration::from_secs(15)),
        "the bridge exits on SIGTERM"
    );
    let log = bridge.log_text();
    assert!(!log.contains("cannot save"), "{log}");
    let saved = std::fs::read_to_string(state.path().join("cameras/cam.json")).expect("saved");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(saved["snapshot_interval_s"]["value"], 777, "{saved}");
    // The restarted bridge uses it.
    let rec = Recorder::connect(broker.port, &["cam2mqtt/cam/state"]).await;
    let _again = Bridge::run_with_state(&cfg, "info", Some(state.path()));
    rec.wait_for("the state after the restart", T, |m| {
        m.iter().any(|x| {
            !x.retain
                && x.json()["snapshot_interval_s"] == 777
                && x.json()["session"] == "streaming"
        })
    })
    .await;
    cam.stop().await;
}

/// Waits until the bridge's log shows `n` connections; when it did.
async fn connected(bridge: &Bridge, n: usize) -> Instant {
    let deadline = Instant::now() + T;
    loop {
        if bridge
            .log_text()
            .matches("connected to MQTT broker")
            .count()
            >= n
        {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "no reconnect: {}",
            bridge.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_is_back_within_two_seconds_of_every_broker_restart() {
    let mut broker = Mosquitto::start();
    let cam = support::demo_sim("cam", 1, 160, 120).await;
    let bridge = Bridge::run(
        &bridge_config(&broker.url(), &camera_toml("cam", &cam)),
        "info",
    );
    connected(&bridge, 1).await;
    let mut backs = Vec::new();
    for (n, outage) in [(2, 20), (3, 2), (4, 2)] {
        broker.stop();
        tokio::time::sleep(Duration::from_secs(outage)).await;
        broker.resume();
        let resumed = Instant::now();
        let back = connected(&bridge, n).await - resumed;
        backs.push(back);
        // The next restart comes soon after.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for (back, outage) in backs.iter().zip([20, 2, 2]) {
        assert!(
            *back < Duration::from_secs(2),
            "back {back:?} after a {outage} s outage (all: {backs:?})"
        );
    }
    // And HA sees the bridge online again.
    let rec = Recorder::connect(broker.port, &["cam2mqtt/bridge/state"]).await;
    rec.wait_for("bridge/state online", T, |m| {
        m.iter().any(|x| x.retain && x.text() == "online")
    })
    .await;
    cam.stop().await;
}
