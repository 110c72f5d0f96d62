//! A Wyze camera through the whole bridge over real UDP, a real mosquitto and
//! the HTTPS mock cloud: the simulated camera is found through the account's
//! camera list, publishes a JPEG decoded from its H.264 stream that matches
//! the simulator's test pattern, `set/resolution` changes the published
//! picture's size, and `set/night_vision` reaches the camera as K10042.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;
#[path = "support/wyze_cloud.rs"]
mod wyze_cloud_mock;

use std::net::SocketAddr;
use std::time::Duration;

use cam2mqtt::media::video::psnr;
use cam2mqtt::model::CameraId;
use cam2mqtt::proto::tutk::kcmd::{id, FrameSize};
use cam2mqtt::sim::runner::{SimCamera, TutkSimOptions};
use cam2mqtt::sim::video::{read_frame_code, reference_rgb};
use support::{bridge_config, events, Bridge, Mosquitto, Recorder};
use wyze_cloud_mock::{camera, Account, MockWyze};

const T: Duration = Duration::from_secs(30);
/// The published JPEG against the pattern frame it shows. The clips measure
/// 40–50 dB after decoding; JPEG at quality 80 costs a few dB more; a wrong
/// colour conversion, a shifted or wrong frame lands under 30 dB (the video
/// module's own tests pin the same bound).
const MIN_DB: f64 = 30.0;

fn check_picture(jpeg: &[u8], size: FrameSize) {
    let img = image::load_from_memory(jpeg).expect("a JPEG").to_rgb8();
    let (w, h) = size.dimensions();
    assert_eq!(img.dimensions(), (w, h));
    let code = read_frame_code(img.as_raw(), w, h).expect("a frame code");
    let db = psnr(img.as_raw(), &reference_rgb(w, h, u64::from(code)));
    assert!(db > MIN_DB, "PSNR {db:.1} dB against pattern frame {code}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wyze_camera_from_the_cloud_list_publishes_snapshots_and_answers_commands() {
    let broker = Mosquitto::start();
    let sim = SimCamera::spawn_tutk(TutkSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 6], 0)),
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera");
    let d = cam2mqtt::sim::tutk::TutkCameraConfig::default();
    let cloud = MockWyze::start(Account::example());
    cloud.set_cameras(vec![camera(
        "Garage",
        "WYZE_CAKP2JFUS",
        &d.mac,
        sim.uid(),
        // The cloud lists a LAN address; the test's camera is on a free port.
        &sim.addr().to_string(),
        d.enr.expose(),
    )]);
    let state = tempfile::tempdir().unwrap();
    let cfg = bridge_config(&broker.url(), &cloud.account().toml(&cloud));
    let _bridge = Bridge::run_with_state(&cfg, "info", Some(state.path()));
    let cam = CameraId::derive(sim.uid()).as_str().to_string();
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;
    let msgs = rec
        .wait_for("a snapshot from the Wyze camera", T, |m| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{cam}/snapshot"))
        })
        .await;
    let snap = msgs
        .iter()
        .find(|m| m.topic == format!("cam2mqtt/{cam}/snapshot"))
        .unwrap();
    check_picture(&snap.payload, FrameSize::Sd360);
    let st = msgs
        .iter()
        .rfind(|m| m.topic == format!("cam2mqtt/{cam}/state"))
        .unwrap()
        .json();
    assert_eq!(st["protocol"], "tutk");
    assert!(!snap.payload.is_empty());
    let text = String::from_utf8_lossy(&serde_json::to_vec(&st).unwrap()).into_owned();
    assert!(!text.contains(d.enr.expose()), "no ENR in the state");

    // Resolution: one ok event, then pictures of the new size.
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/resolution"), "1280x720")
        .await;
    rec.wait_for("the resolution event", T, |m| !events(m, &cam).is_empty())
        .await;
    let ev = events(&rec.all(), &cam);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["ok"], true, "{ev:?}");
    assert_eq!(sim.handle().resolution(), FrameSize::Hd720);
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/snapshot"), "")
        .await;
    let msgs = rec
        .wait_for("a 1280x720 snapshot", T, |m| {
            m.iter().any(|x| {
                x.topic == format!("cam2mqtt/{cam}/snapshot")
                    && image::load_from_memory(&x.payload).is_ok_and(|i| i.width() == 1280)
            })
        })
        .await;
    let snap = msgs
        .iter()
        .rfind(|m| m.topic == format!("cam2mqtt/{cam}/snapshot"))
        .unwrap();
    check_picture(&snap.payload, FrameSize::Hd720);

    // Night vision reaches the camera as K10042 with 1 (on).
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/night_vision"), "on")
        .await;
    rec.wait_for("the night-vision event", T, |m| !events(m, &cam).is_empty())
        .await;
    let ev = events(&rec.all(), &cam);
    assert_eq!(ev[0]["ok"], true, "{ev:?}");
    assert_eq!(sim.handle().night_vision(), 1);
    assert!(sim
        .handle()
        .commands_with_id(id::NIGHT_VISION_SET)
        .iter()
        .any(|c| c.payload == [1]));

    // The IR LEDs: K10046 with 2 (off), and the state follows.
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/ir_led"), "off")
        .await;
    rec.wait_for("the IR LED event", T, |m| !events(m, &cam).is_empty())
        .await;
    let ev = events(&rec.all(), &cam);
    assert_eq!(ev[0]["ok"], true, "{ev:?}");
    assert_eq!(sim.handle().ir_led(), 2);
    let msgs = rec
        .wait_for("state with the IR LEDs off", T, |m| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{cam}/state") && x.json()["ir_led"] == "off")
        })
        .await;
    assert!(!msgs.is_empty());

    // Reboot goes through the account (run_action `restart` for this
    // camera's MAC and model), with one ok event.
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/reboot"), "").await;
    rec.wait_for("the reboot event", T, |m| !events(m, &cam).is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ev = events(&rec.all(), &cam);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["command"], "reboot");
    assert_eq!(ev[0]["ok"], true, "{ev:?}");
    let actions = cloud.actions();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        (
            actions[0].mac.as_str(),
            actions[0].model.as_str(),
            actions[0].action.as_str()
        ),
        (d.mac.as_str(), "WYZE_CAKP2JFUS", "restart")
    );
}

/// No Wyze secret (account password, API key, TOTP secret, the cloud's
/// tokens, the camera's ENR) appears in the bridge's debug log or in any MQTT
/// message, while a 2FA account's camera streams and takes a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wyze_secret_in_logs_state_or_events() {
    const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";
    let broker = Mosquitto::start();
    let sim = SimCamera::spawn_tutk(TutkSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 7], 0)),
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera");
    let d = cam2mqtt::sim::tutk::TutkCameraConfig::default();
    let account = Account::example().with_totp(TOTP);
    let secrets = [
        account.password.clone(),
        account.api_key.clone(),
        TOTP.to_string(),
        d.enr.expose().to_string(),
        "mock-access-".to_string(),
        "mock-refresh-".to_string(),
    ];
    let cloud = MockWyze::start(account);
    cloud.set_cameras(vec![camera(
        "Garage",
        "WYZE_CAKP2JFUS",
        &d.mac,
        sim.uid(),
        &sim.addr().to_string(),
        d.enr.expose(),
    )]);
    let cfg = bridge_config(&broker.url(), &cloud.account().toml(&cloud));
    let bridge = Bridge::run(&cfg, "debug");
    let cam = CameraId::derive(sim.uid()).as_str().to_string();
    let rec = Recorder::connect(broker.port, &["#"]).await;
    rec.wait_for("a snapshot", T, |m| {
        m.iter()
            .any(|x| x.topic == format!("cam2mqtt/{cam}/snapshot"))
    })
    .await;
    rec.publish(&format!("cam2mqtt/{cam}/set/night_vision"), "auto")
        .await;
    rec.wait_for("the event", T, |m| !events(m, &cam).is_empty())
        .await;
    let log = bridge.log_text();
    assert!(log.contains("DTLS up"), "the debug log covers the session");
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "the log leaks {s}");
        for m in rec.all() {
            if m.topic.ends_with("/snapshot") {
                continue;
            }
            assert!(!m.text().contains(s.as_str()), "{} leaks {s}", m.topic);
        }
    }
}
