//! The bridge run as the Home Assistant add-on runs it: `--addon-options` with
//! an options file, a `/data`-like state directory, the broker from the
//! Supervisor's MQTT service (the variables the start script exports), a
//! `config.toml` in the add-on's config folder, and the ingress proxy's
//! trusted address simulated on loopback (127.0.0.2). Real mosquitto,
//! simulated camera, real HTTP.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use cam2mqtt::sim::runner::{PpppSimOptions, SimCamera};
use support::{Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(30);

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().ok())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_add_on_publishes_snapshots_serves_its_ui_through_ingress_and_refuses_strangers() {
    let broker = Mosquitto::start();
    let sim = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config_dir = dir.path().join("addon_config");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&config_dir).unwrap();
    // The options as the Supervisor writes them.
    let options = data.join("options.json");
    std::fs::write(
        &options,
        r#"{"log_level": "info", "cameras": [], "snapshot_interval_s": 2,
            "discovery": {"pppp_broadcast": false, "tutk_broadcast": false, "unicast_hosts": []},
            "web_username": "viewer", "web_password": "web-pass-not-shown"}"#,
    )
    .unwrap();
    // The camera (on a test port, which the options have no field for)
    // comes from the user's config.toml under the options.
    std::fs::write(config_dir.join("config.toml"), sim.config_snippet("door")).unwrap();
    let mqtt = Recorder::connect(broker.addr().port(), &["cam2mqtt/door/snapshot"]).await;
    let bridge = Bridge::spawn(
        &[
            "--addon-options".as_ref(),
            options.as_os_str(),
            "--state-dir".as_ref(),
            data.as_os_str(),
            "run".as_ref(),
        ],
        &[
            ("CAM2MQTT_ADDON_MQTT_HOST", "127.0.0.1".into()),
            ("CAM2MQTT_ADDON_MQTT_PORT", broker.addr().port().to_string()),
            ("CAM2MQTT_ADDON_MQTT_USERNAME", String::new()),
            ("CAM2MQTT_ADDON_MQTT_PASSWORD", String::new()),
            ("CAM2MQTT_ADDON_MQTT_SSL", "false".into()),
            ("CAM2MQTT_ADDON_HTTP_LISTEN", "127.0.0.1:0".into()),
            ("CAM2MQTT_ADDON_INGRESS_PROXY", "127.0.0.2".into()),
            (
                "CAM2MQTT_ADDON_CONFIG_DIR",
                config_dir.to_string_lossy().into_owned(),
            ),
        ],
    );
    let http = bridge.listening("http");
    mqtt.wait_for("a snapshot of door", T, |m| !m.is_empty())
        .await;

    // Through ingress (from the trusted proxy's address, with its path header):
    // no credentials needed, the page gets the ingress path as its base.
    let ingress = client_from("127.0.0.2");
    let page = ingress
        .get(format!("http://{http}/"))
        .header("X-Ingress-Path", "/api/hassio_ingress/abc123")
        .send()
        .await
        .expect("ingress request");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<base href=\"/api/hassio_ingress/abc123/\">"),
        "{html}"
    );
    let deadline = Instant::now() + T;
    loop {
        let cams: serde_json::Value = ingress
            .get(format!("http://{http}/api/cameras"))
            .header("X-Ingress-Path", "/api/hassio_ingress/abc123")
            .send()
            .await
            .expect("ingress API")
            .json()
            .await
            .expect("JSON");
        if cams["cameras"][0]["status"] == "streaming" {
            assert_eq!(cams["cameras"][0]["id"], "door");
            break;
        }
        assert!(Instant::now() < deadline, "door never streamed: {cams}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anyone else (here a client on the machine itself) needs the web
    // credentials the options set.
    let stranger = client_from("127.0.0.1");
    for path in ["", "api/cameras", "api/cameras/door/stream.mjpeg"] {
        let r = stranger
            .get(format!("http://{http}/{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401, "/{path}");
        assert!(!r.text().await.unwrap().contains("web-pass-not-shown"));
    }
    // The image's HEALTHCHECK (curl on 127.0.0.1, no credentials) works
    // with web credentials set.
    let health = stranger
        .get(format!("http://{http}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200, "the container health check");
    let ok = stranger
        .get(format!("http://{http}/api/cameras"))
        .basic_auth("viewer", Some("web-pass-not-shown"))
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    // State goes to the add-on's data directory.
    assert!(
        data.join("discovery.json").exists(),
        "the discovery record in /data"
    );
    assert!(!bridge.log_text().contains("web-pass-not-shown"));
}

#[test]
fn check_config_prints_the_add_ons_effective_config_redacted_and_a_malformed_file_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .args([
            "--addon-options",
            "tests/data/addon/options.json",
            "check-config",
        ])
        .env_remove("SUPERVISOR_TOKEN")
        .env("RES_OPTIONS", "attempts:0")
        .output()
        .expect("run cam2mqtt");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for shown in [
        "url = \"mqtt://192.168.1.2:1884\"",
        "id = \"garage\"",
        "trusted_proxies = [\"172.30.32.2\"]",
        "live_fps = 3",
    ] {
        assert!(stdout.contains(shown), "{shown} in:\n{stdout}");
    }
    for secret in [
        "mqtt-pass-55",
        "web-pass-66",
        "wyze-pass-77",
        "wyze-api-key-88",
        "JBSWY3DPEHPK3PXP",
        "pppp-pass-31",
        "enr-secret-0123456",
    ] {
        assert!(!stdout.contains(secret), "{secret} shown");
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("options.json");
    std::fs::write(
        &bad,
        r#"{"cameras": [{"protocol": "demo", "host": "192.168.4.153", "uid": "X"}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .arg("--addon-options")
        .arg(&bad)
        .arg("check-config")
        .env_remove("SUPERVISOR_TOKEN")
        .env("CAM2MQTT_ADDON_MQTT_HOST", "127.0.0.1")
        .env("RES_OPTIONS", "attempts:0")
        .output()
        .expect("run cam2mqtt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cameras[0].uid") && stderr.contains("options.json"),
        "{stderr}"
    );
}
