//! `cam2mqtt demo` with nothing installed but the binary: its embedded broker
//! serves snapshots of the simulated camera within 10 s (watched with
//! mosquitto_sub, exactly as the README says, when it is installed).

// Real time: a base instant for virtual time, or timing a real subprocess.
#![allow(clippy::disallowed_methods)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_snapshots_on_its_embedded_broker_within_10_seconds() {
    let port = support::free_port();
    let http = support::free_port();
    let rtsp = support::free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .args([
            "demo",
            "--mqtt-listen",
            &format!("127.0.0.1:{port}"),
            "--http-listen",
            &format!("127.0.0.1:{http}"),
            "--rtsp-listen",
            &format!("127.0.0.1:{rtsp}"),
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cam2mqtt demo");
    let started = Instant::now();
    assert!(
        support::wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(10)),
        "embedded broker listens"
    );

    let has_mosquitto_sub = Command::new("mosquitto_sub").arg("--help").output().is_ok();
    if has_mosquitto_sub {
        let left = Duration::from_secs(10)
            .saturating_sub(started.elapsed())
            .as_secs()
            .max(1);
        let out = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "cam2mqtt/#",
                "-v",
                "-W",
                &left.to_string(),
            ])
            .args(["-T", "cam2mqtt/+/snapshot", "-C", "6"])
            .output()
            .expect("run mosquitto_sub");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("cam2mqtt/bridge/state online"), "{text}");
        // The snapshot itself (binary) was filtered out with -T; check it separately.
        let snap = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "cam2mqtt/demo_a9/snapshot",
                "-C",
                "1",
                "-W",
                "5",
                "-N",
            ])
            .output()
            .expect("run mosquitto_sub");
        image::load_from_memory(&snap.stdout).expect("the demo's snapshot is a JPEG");
        // The simulated Wyze camera's snapshot is decoded from H.264.
        let wyze = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "cam2mqtt/demo_wyze/snapshot",
                "-C",
                "1",
                "-W",
                "5",
                "-N",
            ])
            .output()
            .expect("run mosquitto_sub");
        image::load_from_memory(&wyze.stdout).expect("the Wyze camera's snapshot is a JPEG");
    } else {
        let rec = support::Recorder::connect(port, &["cam2mqtt/#"]).await;
        let msgs = rec
            .wait_for("a snapshot", Duration::from_secs(10), |m| {
                m.iter().any(|x| x.topic.ends_with("/snapshot"))
            })
            .await;
        let snap = msgs
            .iter()
            .find(|x| x.topic.ends_with("/snapshot"))
            .unwrap();
        image::load_from_memory(&snap.payload).expect("the demo's snapshot is a JPEG");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "within 10 s ({:?})",
        started.elapsed()
    );
    let _ = demo.kill();
    let _ = demo.wait();
    let mut stdout = String::new();
    use std::io::Read as _;
    let _ = demo.stdout.take().unwrap().read_to_string(&mut stdout);
    assert!(
        stdout.contains(&format!("rtsp://127.0.0.1:{rtsp}/demo_wyze")),
        "demo prints its RTSP URL: {stdout}"
    );
    assert!(
        stdout.contains("mosquitto_sub -h 127.0.0.1"),
        "demo prints how to watch it: {stdout}"
    );
}
