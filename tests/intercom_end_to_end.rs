//! Intercom through the whole bridge: real mosquitto, real UDP on loopback,
//! the simulated cameras' side of the talk protocols.
//!
//! Bad inputs each get exactly one clear `event` and the camera keeps
//! streaming: not audio, a truncated file, an unsupported codec, a URL that
//! 404s, a file over the size limit, a camera without a speaker.

#![allow(clippy::disallowed_methods)] // real time: a real broker and a real bridge

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use cam2mqtt::sim::runner::{SimCamera, TutkSimOptions};
use support::{bridge_config, events, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/audio/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("audio fixture")
}

/// A one-route HTTP server on loopback that answers 404 to everything.
async fn not_found_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    format!("http://{addr}/speech/missing.mp3")
}

/// Publishes `payload` to `set/<command>` and returns the one event it got.
async fn one_event(
    rec: &Recorder,
    cam: &str,
    command: &str,
    payload: Vec<u8>,
) -> serde_json::Value {
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/{command}"), payload)
        .await;
    rec.wait_for("an event", T, |m| !events(m, cam).is_empty())
        .await;
    // No second event comes for the same command.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ev = events(&rec.all(), cam);
    assert_eq!(ev.len(), 1, "exactly one event: {ev:?}");
    ev.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_each_get_one_clear_event_and_the_camera_keeps_streaming() {
    let broker = Mosquitto::start();
    let sim = SimCamera::spawn_tutk(TutkSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 9], 0)),
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera");
    let demo = support::demo_sim("nospeaker", 3, 320, 240).await;
    let cfg = bridge_config(
        &broker.url(),
        &format!(
            "{}{}",
            sim.config_snippet("door"),
            support::camera_toml("yard", &demo)
        ),
    );
    let _bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    rec.wait_for("both cameras streaming", T, |m| {
        ["door", "yard"].iter().all(|c| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
        })
    })
    .await;
    // The Wyze camera said in its login answer that it has a speaker.
    rec.wait_for("the door's intercom entities", T, |m| {
        m.iter().any(|x| {
            // Only the Wyze camera has a speaker.
            x.topic.starts_with("homeassistant/") && x.topic.contains("intercom_stop")
        })
    })
    .await;

    let wav = fixture("tone_1k.wav");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not audio", fixture("not_audio.jpg"), "not an audio file"),
        (
            "a truncated file",
            wav[..wav.len() * 3 / 10].to_vec(),
            "cut short",
        ),
        (
            "an unsupported codec",
            fixture("tone_gsm.wav"),
            "unsupported audio codec",
        ),
        (
            "a URL that 404s",
            serde_json::json!({ "url": not_found_server().await })
                .to_string()
                .into_bytes(),
            "404",
        ),
        ("a file over the limit", vec![0u8; 9 << 20], "too big"),
    ];
    for (what, payload, says) in cases {
        let ev = one_event(&rec, "door", "intercom", payload).await;
        assert_eq!(ev["ok"], false, "{what}: {ev}");
        let error = ev["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{what}: {error}");
        assert_eq!(ev["command"], "intercom", "{what}");
    }

    // A camera without a speaker says so, whatever the payload.
    let ev = one_event(&rec, "yard", "intercom", wav.clone()).await;
    assert_eq!(ev["ok"], false);
    assert!(
        ev["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no speaker"),
        "{ev}"
    );

    // The camera kept streaming through all of it: a fresh snapshot now.
    let ev = one_event(&rec, "door", "snapshot", Vec::new()).await;
    assert_eq!(ev["ok"], true, "{ev}");
    let states: Vec<serde_json::Value> = rec
        .all()
        .iter()
        .filter(|m| m.topic == "cam2mqtt/door/state")
        .map(|m| m.json())
        .collect();
    if let Some(st) = states.last() {
        assert_eq!(st["session"], "streaming", "{st}");
        assert_eq!(st["intercom"], "idle", "{st}");
    }
}
