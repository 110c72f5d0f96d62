//! The command line against simulated cameras: `discover` finds a demo-mode
//! camera by probing it, and `check-config` rejects a key that does not belong
//! to a camera's protocol, naming the key, the camera and the file.

use std::process::{Command, Output};

use cam2mqtt::sim::runner::{DemoSimOptions, SimCamera};

fn cam2mqtt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CAM2MQTT_CONFIG")
        .output()
        .expect("run cam2mqtt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_lists_a_simulated_demo_mode_camera_as_json() {
    let sim = SimCamera::spawn_demo(DemoSimOptions {
        width: 160,
        height: 120,
        ..DemoSimOptions::default()
    })
    .await
    .expect("simulated camera");
    let video = sim.video_addr();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(
        &conf,
        format!("[discovery]\npppp_broadcast = false\ndemo_mode_hosts = [\"{video}\", \"127.0.0.1:9\"]\n"),
    )
    .unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        cam2mqtt(&["--config", &conf, "discover", "--json", "--timeout", "2s"])
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
    assert_eq!(list.len(), 1, "only the camera that answered: {list:?}");
    let cam = &list[0];
    assert_eq!(cam["protocol"], "demo");
    assert_eq!(cam["address"], video.to_string());
    assert_eq!(cam["source"], "demo_probe");
    assert_eq!(cam["id"], format!("demo_127_0_0_1_{}", video.port()));
    assert!(cam["model"].as_str().unwrap().contains("A9"));
    sim.stop().await;
}

#[test]
fn check_config_rejects_a_demo_key_on_a_tutk_camera() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.toml");
    std::fs::write(
        &conf,
        "[[cameras]]\nid = \"garage\"\nprotocol = \"tutk\"\nuid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"secret-enr\"\nvideo_port = 8080\n",
    )
    .unwrap();
    let out = cam2mqtt(&["--config", &conf.to_string_lossy(), "check-config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cameras[0].video_port"), "{stderr}");
    assert!(stderr.contains("garage"), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("tutk cameras take"), "{stderr}");
    assert!(!stderr.contains("secret-enr"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_wifi_reach_a_pppp_camera_named_by_its_uid() {
    use cam2mqtt::proto::pppp::dialect::Dialect;
    use cam2mqtt::sim::runner::PpppSimOptions;
    let cam = SimCamera::spawn_pppp(PpppSimOptions {
        dialect: Dialect::Binary,
        listen: "127.0.0.11:0".parse().unwrap(),
        width: 320,
        height: 240,
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(
        &conf,
        format!(
            "[discovery]\npppp_broadcast = false\nunicast_hosts = [\"{}\"]\n",
            cam.search_addr()
        ),
    )
    .unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "correct horse\n").unwrap();
    let (conf, out, pw, state) = (
        conf.to_string_lossy().into_owned(),
        dir.path().join("p.jpg").to_string_lossy().into_owned(),
        pw.to_string_lossy().into_owned(),
        dir.path().join("state").to_string_lossy().into_owned(),
    );
    let (listing, snap, wifi) = tokio::task::spawn_blocking({
        let out = out.clone();
        move || {
            let listing = cam2mqtt(&[
                "--config",
                &conf,
                "--state-dir",
                &state,
                "discover",
                "--json",
                "--timeout",
                "2s",
            ]);
            let snap = cam2mqtt(&[
                "--config",
                &conf,
                "--state-dir",
                &state,
                "snapshot",
                "BATC-424242-SIMCA",
                "-o",
                &out,
            ]);
            let wifi = cam2mqtt(&[
                "--config",
                &conf,
                "--state-dir",
                &state,
                "wifi",
                "BATC424242SIMCA",
                "--ssid",
                "cam2mqtt-lab",
                "--password-file",
                &pw,
            ]);
            (listing, snap, wifi)
        }
    })
    .await
    .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&listing.stdout).expect("JSON");
    let cam_json = &list.as_array().expect("an array")[0];
    assert_eq!(cam_json["protocol"], "pppp");
    assert_eq!(cam_json["uid"], "BATC424242SIMCA");
    assert_eq!(cam_json["id"], "batc424242simca");
    assert_eq!(cam_json["psk"], "none");
    assert_eq!(cam_json["dialect"], "binary");
    assert_eq!(cam_json["source"], "pppp_lan");
    assert!(cam_json["address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.11:"));
    assert!(
        snap.status.success(),
        "{}",
        String::from_utf8_lossy(&snap.stderr)
    );
    let jpeg = std::fs::read(&out).unwrap();
    let img = image::load_from_memory(&jpeg).expect("a JPEG");
    assert!(img.width() >= 320 && img.height() >= 240, "a real picture");
    assert!(
        wifi.status.success(),
        "{}",
        String::from_utf8_lossy(&wifi.stderr)
    );
    let w = cam.handle().last_wifi().expect("Wi-Fi reached the camera");
    assert_eq!(
        (w.ssid.as_str(), w.password.expose()),
        ("cam2mqtt-lab", "correct horse")
    );
    cam.stop().await;
}
