//! Secrets stay secret: the MQTT password, camera passwords and Wi-Fi passwords
//! never appear in the bridge's logs (at debug level), in any MQTT state, event
//! or discovery message, or in `check-config` output.

mod support;

use std::process::Command;
use std::time::Duration;

use cam2mqtt::sim::runner::{DemoSimOptions, SimCamera};
use support::{Bridge, Mosquitto, Recorder};

const MQTT_PW: &str = "mqtt-Pa55-9c1e";
const CAM_PW: &str = "cam-Pa55-77aa";
const WIFI_PW: &str = "wifi-Pa55-31d0";
const WIFI_PW2: &str = "wifi-Pa55-2nd-b4";
const WYZE_PW: &str = "wyze-Pa55-0f0f";
const ALL: &[&str] = &[MQTT_PW, CAM_PW, WIFI_PW, WIFI_PW2, WYZE_PW];

fn assert_clean(what: &str, text: &str) {
    for s in ALL {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_state_events_or_check_config() {
    let broker = Mosquitto::start();
    let cam = SimCamera::spawn_demo(DemoSimOptions {
        label: "s".into(),
        width: 160,
        height: 120,
        fps: 5,
        ..DemoSimOptions::default()
    })
    .await
    .unwrap();
    // A demo-mode camera has no password; the camera password sits on a PPPP entry.
    let config = format!(
        "[mqtt]\nurl = \"{}\"\nusername = \"bridge\"\npassword = \"{MQTT_PW}\"\nclient_id = \"secret-test\"\n\n[discovery]\npppp_broadcast = false\n\n\
         [wyze]\npassword = \"{WYZE_PW}\"\n\n[rtsp]\nlisten = \"\"\n\n[http]\nlisten = \"\"\n\n\
         {}\
         [[cameras]]\nid = \"door\"\nprotocol = \"pppp\"\nhost = \"127.0.0.1\"\nusername = \"admin\"\npassword = \"{CAM_PW}\"\n",
        broker.url(),
        cam.config_snippet()
            .replacen("[[cameras]]\n", "[[cameras]]\nid = \"cam\"\n", 1),
    );
    let bridge = Bridge::run(&config, "debug");
    let rec = Recorder::connect(broker.port, &["#"]).await;
    rec.wait_for("camera online", Duration::from_secs(20), |m| {
        m.iter()
            .any(|x| x.topic == "cam2mqtt/cam/availability" && x.text() == "online")
    })
    .await;

    // Wi-Fi in three steps with one password, a malformed one-step with another
    // (password as a number, so a naive parser would echo it), then a good one-step.
    rec.publish("cam2mqtt/cam/set/wifi_ssid", "net").await;
    rec.publish("cam2mqtt/cam/set/wifi_password", WIFI_PW2)
        .await;
    rec.publish(
        "cam2mqtt/cam/set/wifi",
        format!(r#"{{"ssid": "net", "password": {}}}"#, "31415926"),
    )
    .await;
    rec.publish(
        "cam2mqtt/cam/set/wifi",
        format!(r#"{{"ssid": 7, "password": "{WIFI_PW}"}}"#),
    )
    .await;
    rec.publish(
        "cam2mqtt/cam/set/wifi",
        format!(r#"{{"ssid": "net", "password": "{WIFI_PW}"}}"#),
    )
    .await;
    rec.wait_for("five command events", Duration::from_secs(20), |m| {
        m.iter().filter(|x| x.topic == "cam2mqtt/cam/event").count() >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        cam.handle().wifi_requests()[0].password,
        WIFI_PW,
        "the password did reach the camera"
    );

    for m in rec.all().iter().filter(|m| !m.topic.contains("/set/")) {
        assert_clean(
            &format!("MQTT message on {}", m.topic),
            &String::from_utf8_lossy(&m.payload),
        );
        assert!(
            !String::from_utf8_lossy(&m.payload).contains("31415926"),
            "malformed payload echoed on {}",
            m.topic
        );
    }
    let log = bridge.log_text();
    assert!(log.contains("command"), "the log has content: {log}");
    assert_clean("bridge log", &log);

    // check-config with a password from the environment as well.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env("CAM2MQTT__WYZE__API_KEY", "wyze-api-key-8e8e")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_clean("check-config", &text);
    assert!(!text.contains("wyze-api-key-8e8e"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
    assert!(
        text.contains("username = \"bridge\""),
        "non-secrets are shown: {text}"
    );
    cam.stop().await;
}

#[test]
fn check_config_errors_name_the_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[snapshots]\ninterval_s = 99999\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("snapshots.interval_s") && err.contains("bad.toml"),
        "{err}"
    );
}
