//! PPPP cameras through the whole bridge over real UDP and a real mosquitto:
//! a JSON-dialect camera (PSK `camera`) and a binary-dialect camera
//! (plaintext) are found by unicast LAN search to two loopback addresses,
//! publish snapshots, and answer commands with the right bytes reaching the
//! simulators and one event each.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use cam2mqtt::proto::pppp::dialect::Dialect;
use cam2mqtt::sim::pattern::read_stamp;
use cam2mqtt::sim::pppp::ReceivedCommand;
use cam2mqtt::sim::runner::{PpppSimOptions, SimCamera, SimPpppCamera};
use support::{bridge_config, events, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(20);

async fn sim(dialect: Dialect, ip: [u8; 4], label: &str) -> SimPpppCamera {
    SimCamera::spawn_pppp(PpppSimOptions {
        dialect,
        label: label.into(),
        listen: SocketAddr::from((ip, 0)),
        width: 320,
        height: 240,
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera")
}

/// Publishes `payload` to `set/<command>` and waits for exactly one event.
async fn command(rec: &Recorder, cam: &str, command: &str, payload: &str) -> serde_json::Value {
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/{command}"), payload)
        .await;
    let msgs = rec
        .wait_for(&format!("{cam} {command} event"), T, |m| {
            !events(m, cam).is_empty()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ev = events(&rec.all(), cam);
    assert_eq!(
        ev.len(),
        1,
        "one event for {cam} {command}: {ev:?} {msgs:?}"
    );
    assert_eq!(ev[0]["command"], command);
    ev[0].clone()
}

fn seen(cam: &SimPpppCamera, pred: impl Fn(&ReceivedCommand) -> bool) -> bool {
    cam.handle().commands().iter().any(pred)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_binary_cameras_are_found_publish_snapshots_and_answer_commands() {
    let broker = Mosquitto::start();
    let json = sim(Dialect::Json, [127, 0, 0, 2], "json").await;
    let binary = sim(Dialect::Binary, [127, 0, 0, 3], "binary").await;
    let (jid, bid) = ("dgoa424242simca", "batc424242simca");
    // Found by search: no [[cameras]]; entries only to enable light and PTZ.
    let cfg = bridge_config(&broker.url(), "")
        .replace(
            "pppp_broadcast = false",
            &format!(
                "pppp_broadcast = false\nunicast_hosts = [\"{}\", \"{}\"]",
                json.search_addr(),
                binary.search_addr()
            ),
        )
        + &format!(
            "[[cameras]]\nprotocol = \"pppp\"\nuid = \"{}\"\nlight = true\n\n[[cameras]]\nprotocol = \"pppp\"\nuid = \"{}\"\nlight = true\n",
            json.uid(),
            binary.uid()
        );
    let bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    let msgs = rec
        .wait_for("snapshots from both PPPP cameras", T, |m| {
            [jid, bid].iter().all(|c| {
                m.iter()
                    .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
            })
        })
        .await;
    for (id, cam, label) in [(jid, &json, "json"), (bid, &binary, "binary")] {
        let snap = msgs
            .iter()
            .find(|m| m.topic == format!("cam2mqtt/{id}/snapshot"))
            .unwrap();
        let (l, n) = read_stamp(&snap.payload).expect("a stamped frame");
        assert_eq!(l, label);
        assert_eq!(
            snap.payload.as_ref(),
            cam.handle().frame_bytes(n).as_slice()
        );
        image::load_from_memory(&snap.payload).expect("decodes");
    }
    let state = msgs
        .iter()
        .rfind(|m| m.topic == format!("cam2mqtt/{jid}/state"))
        .unwrap()
        .json();
    assert_eq!(state["protocol"], "pppp");

    // Signal: the JSON camera reports a percentage, the binary one dBm; each
    // gets its own field and sensor. The device shows the reported model.
    let (jnode, bnode) = (
        format!("cam2mqtt_{}", json.uid().compact()),
        format!("cam2mqtt_{}", binary.uid().compact()),
    );
    let config = |m: &[support::Msg], node: &str, object: &str| {
        m.iter()
            .rfind(|x| x.topic == format!("homeassistant/sensor/{node}/{object}/config"))
            .map(|x| x.json())
            .filter(|v| {
                v["device"]["model"]
                    .as_str()
                    .is_some_and(|m| m.contains("dialect"))
            })
    };
    let msgs = rec
        .wait_for(
            "signal in both states, sensors and reported models",
            T,
            |m| {
                let signal = |id: &str, field: &str| {
                    m.iter()
                        .rfind(|x| x.topic == format!("cam2mqtt/{id}/state"))
                        .is_some_and(|x| !x.json()[field].is_null())
                };
                signal(jid, "signal_percent")
                    && signal(bid, "signal_dbm")
                    && config(m, &jnode, "signal_percent").is_some()
                    && config(m, &bnode, "signal").is_some()
            },
        )
        .await;
    let jstate = msgs
        .iter()
        .rfind(|m| m.topic == format!("cam2mqtt/{jid}/state"))
        .unwrap()
        .json();
    assert_eq!(jstate["signal_percent"], 80);
    assert!(jstate["signal_dbm"].is_null(), "{jstate}");
    let sensor = config(&msgs, &jnode, "signal_percent").unwrap();
    assert_eq!(sensor["unit_of_measurement"], "%");
    assert_eq!(sensor["value_template"], "{{ value_json.signal_percent }}");
    assert_eq!(sensor["device"]["model"], jstate["model"]);
    assert_eq!(
        sensor["default_entity_id"],
        format!("sensor.{}_signal_percent", jnode.to_lowercase())
    );
    let dbm = config(&msgs, &bnode, "signal").unwrap();
    assert_eq!(dbm["unit_of_measurement"], "dBm");
    // The discovery configs of each camera: no dBm sensor for the JSON one,
    // and a night-vision select offering just what a PPPP camera takes.
    let latest = |topic: String| {
        msgs.iter()
            .rfind(|x| x.topic == topic)
            .map(|x| x.payload.clone())
    };
    assert!(
        latest(format!("homeassistant/sensor/{jnode}/signal/config")).is_none_or(|p| p.is_empty())
    );
    let select = latest(format!("homeassistant/select/{jnode}/night_vision/config")).unwrap();
    let select: serde_json::Value = serde_json::from_slice(&select).unwrap();
    assert_eq!(select["options"], serde_json::json!(["on", "off"]));

    for cam in [&json, &binary] {
        assert!(
            seen(cam, |c| matches!(c, ReceivedCommand::DateTime { .. })),
            "the camera's clock is set on connect"
        );
    }
    for (id, cam) in [(jid, &json), (bid, &binary)] {
        let ev = command(&rec, id, "night_vision", "on").await;
        assert_eq!(ev["ok"], true, "{id}: {ev}");
        assert!(cam.handle().ir_cut(), "{id}: IR on");
        assert!(seen(cam, |c| matches!(
            c,
            ReceivedCommand::IrCut(true) | ReceivedCommand::IrToggle
        )));

        let ev = command(&rec, id, "night_vision", "auto").await;
        assert_eq!(ev["ok"], false);
        assert!(
            ev["error"].as_str().unwrap().ends_with("allowed: on, off"),
            "{id}: {ev}"
        );
        // No PTZ configured: whatever the value, the camera has no motor.
        let ev = command(&rec, id, "ptz", "-5").await;
        assert!(
            ev["error"]
                .as_str()
                .unwrap()
                .contains("has no pan/tilt motor"),
            "{id}: {ev}"
        );

        let ev = command(&rec, id, "light", "on").await;
        assert_eq!(ev["ok"], true, "{id}: {ev}");
        assert!(cam.handle().light(), "{id}: light on");

        let ev = command(&rec, id, "resolution", "320x240").await;
        assert_eq!(ev["ok"], true, "{id}: {ev}");
        assert!(seen(cam, |c| matches!(
            c,
            ReceivedCommand::Resolution(_) | ReceivedCommand::Stream(_)
        )));

        let ev = command(&rec, id, "resolution", "4k").await;
        assert_eq!(ev["ok"], false);
        assert!(ev["error"].as_str().unwrap().contains("640x480"));
    }

    // Reboot: the camera goes away for a moment and the bridge reconnects.
    for (id, cam) in [(jid, &json), (bid, &binary)] {
        let ev = command(&rec, id, "reboot", "").await;
        assert_eq!(ev["ok"], true, "{id}: {ev}");
        assert!(seen(cam, |c| matches!(c, ReceivedCommand::Reboot)), "{id}");
        rec.clear();
        rec.wait_for(
            &format!("{id} back online after its reboot"),
            Duration::from_secs(30),
            |m| {
                m.iter().any(|x| {
                    x.topic == format!("cam2mqtt/{id}/availability") && x.text() == "online"
                })
            },
        )
        .await;
    }

    // Wi-Fi: each camera gets exactly the SSID and password (the binary one
    // after a scan, with the channel the scan reported).
    for (id, cam) in [(jid, &json), (bid, &binary)] {
        let ev = command(
            &rec,
            id,
            "wifi",
            r#"{"ssid": "cam2mqtt-lab", "password": "correct horse"}"#,
        )
        .await;
        assert_eq!(ev["ok"], true, "{id}: {ev}");
        let w = cam.handle().last_wifi().expect("Wi-Fi set");
        assert_eq!(w.ssid, "cam2mqtt-lab", "{id}");
        assert_eq!(w.password.expose(), "correct horse", "{id}");
    }
    assert_eq!(
        binary.handle().last_wifi().and_then(|w| w.channel),
        Some(6),
        "the scanned channel"
    );
    let log = bridge.log_text();
    assert!(!log.contains("correct horse"), "no password in the log");

    json.stop().await;
    binary.stop().await;
}
