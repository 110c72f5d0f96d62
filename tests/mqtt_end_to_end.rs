//! Two simulated demo-mode cameras on loopback UDP → `cam2mqtt run` (a real
//! subprocess) → a real mosquitto. Checks snapshots, discovery, commands, the
//! Home Assistant birth message and the last will.

// Out-of-process test against real mosquitto: it waits in real time.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use cam2mqtt::config::CameraKind;
use cam2mqtt::sim::pattern::read_stamp;
use cam2mqtt::sim::runner::SimCamera;
use support::{bridge_config, camera_toml, events, Bridge, Mosquitto, Msg, Recorder};

const T: Duration = Duration::from_secs(20);

async fn sim(label: &str, seed: u64) -> SimCamera {
    support::demo_sim(label, seed, 320, 240).await
}

/// The entities CONTRACT.md lists that apply to a demo-mode camera.
const DEMO_ENTITIES: &[&str] = &[
    "binary_sensor/connectivity",
    "button/take_snapshot",
    "button/wifi_apply",
    "camera/snapshot",
    "event/event",
    "number/snapshot_interval",
    "sensor/bitrate",
    "sensor/fps",
    "sensor/frames_dropped",
    "sensor/last_error",
    "sensor/last_snapshot",
    "sensor/session",
    "text/wifi_password",
    "text/wifi_ssid",
];

fn newest_stamp(msgs: &[Msg], cam: &str) -> Option<u64> {
    msgs.iter()
        .rev()
        .find(|m| m.topic == format!("cam2mqtt/{cam}/snapshot"))
        .and_then(|m| read_stamp(&m.payload))
        .map(|s| s.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cameras_end_to_end_with_commands_birth_and_last_will() {
    let broker = Mosquitto::start();
    let (front, back) = (sim("front", 1).await, sim("back", 2).await);
    let cfg = bridge_config(
        &broker.url(),
        &(camera_toml("front", &front) + &camera_toml("back", &back)),
    );
    // An earlier run of this bridge had a third camera, "gone", since removed
    // from the config; another device's config is on the broker too.
    let state_dir = tempfile::tempdir().unwrap();
    let earlier_cfg = bridge_config(
        &broker.url(),
        &(camera_toml("front", &front)
            + &camera_toml("back", &back)
            + "[[cameras]]\nid = \"gone\"\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\nvideo_port = 9\n"),
    );
    let seed = Recorder::connect(
        broker.port,
        &["homeassistant/camera/cam2mqtt_gone/snapshot/config"],
    )
    .await;
    let foreign = r#"{"topic": "other/cam/snapshot", "device": {"identifiers": ["o"], "via_device": "cam2mqtt_bridge_elsewhere"}}"#;
    seed.client
        .publish(
            "homeassistant/camera/o/snapshot/config",
            rumqttc::QoS::AtLeastOnce,
            true,
            foreign,
        )
        .await
        .unwrap();
    let mut earlier = Bridge::run_with_state(&earlier_cfg, "info", Some(state_dir.path()));
    seed.wait_for("the earlier run's config for gone", T, |m| !m.is_empty())
        .await;
    assert!(earlier.terminate(Duration::from_secs(5)), "clean exit");
    // Watches the bridge state from before the bridge starts: a flapping connection would show "offline".
    let state_watch = Recorder::connect(broker.port, &["cam2mqtt/bridge/state"]).await;
    let mut bridge = Bridge::run_with_state(&cfg, "info", Some(state_dir.path()));
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;

    // Snapshots: valid JPEGs from each camera.
    let msgs = rec
        .wait_for("snapshots from both cameras", T, |m| {
            ["front", "back"].iter().all(|c| {
                m.iter()
                    .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
            })
        })
        .await;
    for (cam, label) in [("front", "front"), ("back", "back")] {
        let snap = msgs
            .iter()
            .find(|m| m.topic == format!("cam2mqtt/{cam}/snapshot"))
            .unwrap();
        let img = image::load_from_memory(&snap.payload).expect("snapshot decodes as an image");
        assert_eq!((img.width(), img.height()), (320, 240));
        assert_eq!(
            read_stamp(&snap.payload).unwrap().0,
            label,
            "each camera's own frames"
        );
    }
    rec.wait_for("bridge online", T, |m| {
        m.iter()
            .any(|x| x.topic == "cam2mqtt/bridge/state" && x.text() == "online")
    })
    .await;
    rec.wait_for("both cameras online", T, |m| {
        ["front", "back"].iter().all(|c| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{c}/availability") && x.text() == "online")
        })
    })
    .await;

    // Retained discovery configs for every contract entity, seen by a late subscriber.
    let ha = Recorder::connect(broker.port, &["homeassistant/#"]).await;
    let configs = ha
        .wait_for("retained discovery", T, |m| {
            m.iter().filter(|x| x.topic.ends_with("/config")).count() >= 2 * DEMO_ENTITIES.len() + 4
        })
        .await;
    assert!(
        configs.iter().all(|m| m.retain),
        "discovery configs are retained"
    );
    for cam in ["front", "back"] {
        let uid = format!("cam2mqtt_{cam}");
        let got: BTreeSet<String> = configs
            .iter()
            .filter_map(|m| {
                let parts: Vec<&str> = m.topic.split('/').collect();
                (parts.get(2) == Some(&uid.as_str())).then(|| format!("{}/{}", parts[1], parts[3]))
            })
            .collect();
        let want: BTreeSet<String> = DEMO_ENTITIES.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "entities of {cam}");
        let camera_cfg = configs
            .iter()
            .find(|m| m.topic == format!("homeassistant/camera/{uid}/snapshot/config"))
            .unwrap()
            .json();
        assert_eq!(camera_cfg["topic"], format!("cam2mqtt/{cam}/snapshot"));
        assert_eq!(camera_cfg["unique_id"], format!("{uid}_snapshot"));
    }
    for object in ["connectivity", "camera_count", "version", "discover"] {
        assert!(
            configs
                .iter()
                .any(|m| m.topic.contains("cam2mqtt_bridge_cam2mqtt-test")
                    && m.topic.contains(object)),
            "bridge {object}"
        );
    }

    // set/snapshot publishes a fresh snapshot and one ok event.
    let before = newest_stamp(&rec.all(), "front").unwrap();
    rec.clear();
    rec.publish("cam2mqtt/front/set/snapshot", "").await;
    let msgs = rec
        .wait_for("snapshot command result", T, |m| {
            !events(m, "front").is_empty()
        })
        .await;
    assert_eq!(
        events(&msgs, "front")[0]["ok"],
        true,
        "{:?}",
        events(&msgs, "front")
    );
    let after = newest_stamp(&msgs, "front").expect("a snapshot after the command");
    assert!(after > before, "fresh frame: {after} > {before}");
    let state = msgs
        .iter()
        .rfind(|m| m.topic == "cam2mqtt/front/state")
        .expect("state republished after success")
        .json();
    assert_eq!(state["session"], "streaming", "{state}");
    assert!(
        state.as_object().unwrap().contains_key("last_error"),
        "the state carries last_error: {state}"
    );

    // Malformed and unsupported commands: one clear event each; the bridge keeps running.
    rec.clear();
    rec.publish("cam2mqtt/front/set/wifi", "{not json").await;
    rec.publish("cam2mqtt/front/set/reboot", "").await;
    rec.publish("cam2mqtt/front/set/snapshot_interval", "forever")
        .await;
    rec.publish("cam2mqtt/front/set/teleport", "now").await;
    let msgs = rec
        .wait_for("four error events", T, |m| events(m, "front").len() >= 4)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let evs = events(&rec.all(), "front");
    assert_eq!(evs.len(), 4, "exactly one event per command: {evs:?}");
    assert!(evs
        .iter()
        .all(|e| e["ok"] == false && e["event_type"] == "command"));
    let errors: Vec<&str> = evs.iter().map(|e| e["error"].as_str().unwrap()).collect();
    assert!(errors.iter().any(|e| e.contains("not JSON")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("not supported")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("0 to 3600")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("unknown command")),
        "{errors:?}"
    );
    drop(msgs);
    assert!(bridge.is_running());
    rec.clear();
    rec.publish("cam2mqtt/front/set/snapshot_interval", "7")
        .await;
    let msgs = rec
        .wait_for("interval change", T, |m| !events(m, "front").is_empty())
        .await;
    assert_eq!(events(&msgs, "front")[0]["ok"], true);
    let state = rec.wait_for("state with new interval", T, |m| {
        m.iter()
            .any(|x| x.topic == "cam2mqtt/front/state" && x.json()["snapshot_interval_s"] == 7)
    });
    state.await;

    // Home Assistant restarts: discovery, availability and state come again (not as retained replays).
    ha.clear();
    rec.clear();
    rec.publish("homeassistant/status", "online").await;
    ha.wait_for("republished discovery", T, |m| {
        m.iter()
            .filter(|x| !x.retain && x.topic.ends_with("/config"))
            .count()
            >= 2 * DEMO_ENTITIES.len()
    })
    .await;
    rec.wait_for("republished availability and state", T, |m| {
        ["availability", "state"].iter().all(|leaf| {
            m.iter()
                .any(|x| !x.retain && x.topic == format!("cam2mqtt/back/{leaf}"))
        })
    })
    .await;

    // The removed camera's retained config was cleared; the other device's stays.
    let late = Recorder::connect(broker.port, &["homeassistant/camera/+/snapshot/config"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = std::time::Instant::now() + T;
    loop {
        late.clear();
        late.client
            .unsubscribe("homeassistant/camera/+/snapshot/config")
            .await
            .unwrap();
        late.client
            .subscribe(
                "homeassistant/camera/+/snapshot/config",
                rumqttc::QoS::AtLeastOnce,
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let retained = late.all();
        let ghost_left = retained
            .iter()
            .any(|x| x.topic.contains("cam2mqtt_gone") && !x.payload.is_empty());
        if !ghost_left {
            assert!(
                retained
                    .iter()
                    .any(|x| x.topic == "homeassistant/camera/o/snapshot/config"),
                "foreign config kept"
            );
            let log = bridge.log_text();
            assert!(
                log.contains("no longer configured") && log.contains("gone"),
                "the bridge removed it: {log}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ghost config still retained"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // set/wifi reaches the camera with the exact bytes (last: the camera leaves demo mode).
    rec.clear();
    rec.publish(
        "cam2mqtt/back/set/wifi",
        r#"{"ssid": "garden-net", "password": "correct horse"}"#,
    )
    .await;
    let msgs = rec
        .wait_for("wifi result", T, |m| !events(m, "back").is_empty())
        .await;
    assert_eq!(
        events(&msgs, "back")[0]["ok"],
        true,
        "{:?}",
        events(&msgs, "back")
    );
    let recs = back.handle().wifi_requests();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].raw, b"\x66garden-net###correct horse\x00\x99");

    // The earlier run's retained "offline" may replay first; after it, only "online".
    let all = state_watch.all();
    let skip = usize::from(
        all.first()
            .is_some_and(|m| m.retain && m.text() == "offline"),
    );
    let states: Vec<String> = all.iter().skip(skip).map(Msg::text).collect();
    assert!(
        !states.is_empty() && states.iter().all(|s| s == "online"),
        "no offline flap while running: {states:?}"
    );
    let last = rec
        .wait_for("last snapshot time", T, |m| {
            m.iter().any(|x| x.topic == "cam2mqtt/front/last_snapshot")
        })
        .await;
    let stamp = last
        .iter()
        .rfind(|x| x.topic == "cam2mqtt/front/last_snapshot")
        .unwrap()
        .text();
    humantime::parse_rfc3339(&stamp).expect("last_snapshot is an RFC 3339 time");

    // Killed without a clean shutdown: the broker publishes the last will.
    bridge.kill();
    let late = Recorder::connect(broker.port, &["cam2mqtt/bridge/state"]).await;
    late.wait_for("last will", T, |m| {
        m.iter().any(|x| x.text() == "offline" && x.retain)
    })
    .await;
    front.stop().await;
    back.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wifi_in_three_steps_and_a_camera_that_does_not_answer() {
    let broker = Mosquitto::start();
    let cam = sim("steps", 3).await;
    // A second camera entry whose Wi-Fi port answers nothing (it is the first camera's audio port).
    let mut mute = camera_toml("mute", &cam);
    let CameraKind::Demo(demo) = cam.camera_config().kind else {
        unreachable!("a demo-mode camera")
    };
    let (audio_port, command_port) = (demo.audio_port, demo.command_port);
    mute = mute.replace(
        &format!("command_port = {command_port}"),
        &format!("command_port = {audio_port}"),
    );
    let cfg = bridge_config(&broker.url(), &(camera_toml("steps", &cam) + &mute));
    let _bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;
    rec.wait_for("online", T, |m| {
        ["steps", "mute"].iter().all(|c| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{c}/availability") && x.text() == "online")
        })
    })
    .await;

    rec.clear();
    rec.publish(
        "cam2mqtt/mute/set/wifi",
        r#"{"ssid": "x", "password": "12345678"}"#,
    )
    .await;
    let msgs = rec
        .wait_for("timeout event", T, |m| !events(m, "mute").is_empty())
        .await;
    let e = &events(&msgs, "mute")[0];
    assert_eq!(e["ok"], false);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("no answer to Wi-Fi setup"),
        "{e}"
    );

    rec.clear();
    rec.publish("cam2mqtt/steps/set/wifi_apply", "").await;
    let msgs = rec
        .wait_for("apply without ssid", T, |m| !events(m, "steps").is_empty())
        .await;
    assert!(events(&msgs, "steps")[0]["error"]
        .as_str()
        .unwrap()
        .contains("no SSID staged"));

    rec.clear();
    rec.publish("cam2mqtt/steps/set/wifi_ssid", "attic").await;
    rec.publish("cam2mqtt/steps/set/wifi_password", "hunter2hunter2")
        .await;
    let msgs = rec
        .wait_for("two staged", T, |m| events(m, "steps").len() >= 2)
        .await;
    let state = msgs
        .iter()
        .rev()
        .find(|m| m.topic == "cam2mqtt/steps/state")
        .unwrap()
        .json();
    assert_eq!(state["wifi_ssid"], "attic");
    assert_eq!(state["wifi_password_set"], true);
    rec.publish("cam2mqtt/steps/set/wifi_apply", "PRESS").await;
    rec.wait_for("applied", T, |m| events(m, "steps").len() >= 3)
        .await;
    assert_eq!(events(&rec.all(), "steps")[2]["ok"], true);
    assert_eq!(
        cam.handle().wifi_requests()[0].raw,
        b"\x66attic###hunter2hunter2\x00\x99"
    );
    let leaked = rec
        .all()
        .into_iter()
        .filter(|m| !m.topic.contains("/set/"))
        .any(|m| m.text().contains("hunter2hunter2"));
    assert!(
        !leaked,
        "the password appears only on the command topic we published"
    );
    cam.stop().await;
}
