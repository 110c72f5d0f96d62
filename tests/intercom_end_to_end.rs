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

/// Publishes `payload` to `set/<command>` and returns the one event it got
/// (checked again a moment later: no second event comes).
async fn one_event(
    rec: &Recorder,
    cam: &str,
    command: &str,
    payload: Vec<u8>,
) -> serde_json::Value {
    let ev = one_event_within(rec, cam, command, payload, T).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events(&rec.all(), cam).len(), 1, "a second event came");
    ev
}

/// A simulated Wyze camera (with a speaker) on `ip`.
async fn wyze_sim(ip: [u8; 4]) -> cam2mqtt::sim::runner::SimTutkCamera {
    SimCamera::spawn_tutk(TutkSimOptions {
        listen: SocketAddr::from((ip, 0)),
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera")
}

/// Waits until `n` cameras have their intercom entities (the Wyze camera
/// says it has a speaker in its login answer).
async fn speakers_announced(rec: &Recorder, n: usize) {
    rec.wait_for("the intercom entities", T, |m| {
        m.iter()
            .filter(|x| x.topic.starts_with("homeassistant/") && x.topic.contains("intercom_stop"))
            .count()
            >= n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_each_get_one_clear_event_and_the_camera_keeps_streaming() {
    let broker = Mosquitto::start();
    let sim = wyze_sim([127, 0, 0, 9]).await;
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
    // Only the Wyze camera has a speaker.
    speakers_announced(&rec, 1).await;

    let wav = fixture("tone_1k.wav");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not audio", fixture("not_audio.jpg"), "not an audio file"),
        (
            "a truncated file",
            wav[..wav.len() * 3 / 10].to_vec(),
            "could be decoded",
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

/// A WAV of `secs` seconds of a `hz` tone, 16-bit mono at `rate`, at half
/// scale (built here: the header is 44 bytes of RIFF/WAVE/fmt/data).
fn tone_wav(hz: f64, secs: f64, rate: u32) -> Vec<u8> {
    let n = (secs * f64::from(rate)) as u32;
    let mut w = Vec::with_capacity(44 + 2 * n as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + 2 * n).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&(2 * n).to_le_bytes());
    for i in 0..n {
        let t = f64::from(i) / f64::from(rate);
        let s = (0.5 * 32767.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

/// The dominant frequency of `pcm` at `rate`, by counting rising zero
/// crossings over the middle 80% (the edges hold the resampler's ramps).
/// A pure tone at half scale survives G.711 with its crossings intact.
fn dominant_hz(pcm: &[i16], rate: u32) -> f64 {
    let start = pcm.len() / 10;
    let mid = &pcm[start..pcm.len() - start];
    let rising = mid.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    rising as f64 * f64::from(rate) / mid.len() as f64
}

/// A one-file HTTP server on loopback serving `body` at every path.
async fn file_server(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: audio/wav\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    });
    format!("http://{addr}/door-bell.wav")
}

/// Plays `payload` on the simulated Wyze camera and checks what it heard:
/// a 1 kHz tone within 2 %, the file's length within 10 %, paced in real
/// time (arrival spread ≥ 90 % of the length), video flowing meanwhile.
async fn plays_a_tone(
    what: &str,
    rec: &Recorder,
    sim: &cam2mqtt::sim::runner::SimTutkCamera,
    payload: Vec<u8>,
    secs: f64,
) {
    let before = sim.handle().playbacks().len();
    let frames_before = sim.handle().frames_sent();
    let ev = one_event_within(rec, "door", "intercom", payload, T).await;
    assert_eq!(ev["ok"], true, "{what}: {ev}");
    let played = ev["playback"]["played_s"].as_f64().unwrap_or_default();
    assert!(
        (played - secs).abs() <= secs * 0.1 + 0.05,
        "{what}: played {played} s: {ev}"
    );
    let p = ended_playback(sim).await;
    assert_eq!(
        sim.handle().playbacks().len(),
        before + 1,
        "{what}: one playback"
    );
    assert!(p.logged_in, "{what}: {}", summary(&p));
    assert_eq!(p.rejected, 0, "{what}: frames rejected");
    assert_eq!(p.out_of_sequence, 0, "{what}: frames out of sequence");
    let heard = p.duration().as_secs_f64();
    assert!(
        (heard - secs).abs() <= secs * 0.1,
        "{what}: the camera heard {heard} s of {secs} s"
    );
    let hz = dominant_hz(&p.pcm, p.sample_rate);
    assert!(
        (hz - 1000.0).abs() <= 20.0,
        "{what}: dominant frequency {hz:.1} Hz"
    );
    let spread = p.last_frame_at.unwrap() - p.first_frame_at.unwrap();
    assert!(
        spread.as_secs_f64() >= 0.9 * secs - 0.05,
        "{what}: {secs} s of audio arrived within {spread:?}: not paced"
    );
    let video = sim.handle().frames_sent() - frames_before;
    // 10 fps for the whole playback: at least most of it.
    assert!(
        video as f64 >= secs * 10.0 * 0.7,
        "{what}: only {video} video frames while playing"
    );
}

/// The newest playback, once the camera heard it end (at most 5 s).
async fn ended_playback(
    sim: &cam2mqtt::sim::runner::SimTutkCamera,
) -> cam2mqtt::sim::tutk::Playback {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let p = sim.handle().last_playback().expect("a playback");
        if p.ended {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never ended: {}",
            summary(&p)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A playback without its samples (for messages).
fn summary(p: &cam2mqtt::sim::tutk::Playback) -> String {
    format!(
        "logged_in {} ended {} codec {:?} rate {} frames {} rejected {} out_of_sequence {} duration {:?}",
        p.logged_in,
        p.ended,
        p.codec,
        p.sample_rate,
        p.frames,
        p.rejected,
        p.out_of_sequence,
        p.duration()
    )
}

/// [`one_event`] with a longer wait (a playback is answered when it ends).
async fn one_event_within(
    rec: &Recorder,
    cam: &str,
    command: &str,
    payload: Vec<u8>,
    wait: Duration,
) -> serde_json::Value {
    rec.clear();
    rec.publish(&format!("cam2mqtt/{cam}/set/{command}"), payload)
        .await;
    rec.wait_for("an event", wait, |m| !events(m, cam).is_empty())
        .await;
    let ev = events(&rec.all(), cam);
    assert_eq!(ev.len(), 1, "exactly one event: {ev:?}");
    ev.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wav_an_mp3_and_a_url_play_on_a_wyze_camera_paced_while_video_flows() {
    let broker = Mosquitto::start();
    let sim = wyze_sim([127, 0, 0, 10]).await;
    let cfg = bridge_config(&broker.url(), &sim.config_snippet("door"));
    let _bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    speakers_announced(&rec, 1).await;

    plays_a_tone("a WAV", &rec, &sim, tone_wav(1000.0, 2.0, 44_100), 2.0).await;
    plays_a_tone("an MP3", &rec, &sim, fixture("tone_1k_2s.mp3"), 2.0).await;
    let url = file_server(tone_wav(1000.0, 1.5, 16_000)).await;
    plays_a_tone(
        "a URL",
        &rec,
        &sim,
        serde_json::json!({ "url": url }).to_string().into_bytes(),
        1.5,
    )
    .await;
    let p = sim.handle().last_playback().unwrap();
    // The camera streams PCMU at 8 kHz, so that is what it gets back.
    assert_eq!(
        (p.codec, p.sample_rate),
        (Some(cam2mqtt::model::AudioCodec::Mulaw), 8000)
    );

    // A second playback while one runs is busy; stop ends the first early.
    rec.clear();
    rec.publish("cam2mqtt/door/set/intercom", tone_wav(1000.0, 3.0, 8000))
        .await;
    rec.wait_for("playing", T, |m| {
        m.iter()
            .any(|x| x.topic == "cam2mqtt/door/state" && x.json()["intercom"] == "playing")
    })
    .await;
    rec.publish("cam2mqtt/door/set/intercom", tone_wav(1000.0, 1.0, 8000))
        .await;
    rec.wait_for("the busy event", T, |m| !events(m, "door").is_empty())
        .await;
    let busy = events(&rec.all(), "door");
    assert_eq!(busy[0]["ok"], false, "{busy:?}");
    assert!(
        busy[0]["error"].as_str().unwrap().contains("busy"),
        "{busy:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    rec.publish("cam2mqtt/door/set/intercom", "stop").await;
    rec.wait_for("the stopped playback's event", T, |m| {
        events(m, "door")
            .iter()
            .any(|e| e["playback"]["stopped"] == true)
    })
    .await;
    let evs = events(&rec.all(), "door");
    let stopped = evs
        .iter()
        .find(|e| e["playback"]["stopped"] == true)
        .unwrap();
    assert_eq!(stopped["ok"], true, "{stopped}");
    assert!(
        stopped["playback"]["played_s"].as_f64().unwrap() < 2.5,
        "{stopped}"
    );
    assert_eq!(evs.len(), 3, "busy, stop, the stopped playback: {evs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_talk_over_the_websocket_reaches_the_camera_within_half_a_second() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let broker = Mosquitto::start();
    let sim = wyze_sim([127, 0, 0, 11]).await;
    let cfg = bridge_config(&broker.url(), &sim.config_snippet("door")).replacen(
        "[http]\nlisten = \"\"\n",
        "[http]\nlisten = \"127.0.0.1:0\"\n",
        1,
    );
    let bridge = Bridge::run(&cfg, "info");
    let http = bridge.listening("http");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    speakers_announced(&rec, 1).await;

    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{http}/api/cameras/door/talk?rate=16000"))
            .await
            .unwrap_or_else(|e| panic!("WebSocket: {e}; log:\n{}", bridge.log_text()));
    // Two seconds of a 1 kHz tone at 16 kHz, 20 ms a message, in real time
    // as a browser's microphone sends it.
    let rate = 16_000.0;
    let started = std::time::Instant::now();
    let mut n = 0u32;
    for chunk in 0..100u32 {
        let mut b = Vec::with_capacity(640);
        for _ in 0..320 {
            let t = f64::from(n) / rate;
            let s = (0.5 * 32767.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16;
            b.extend_from_slice(&s.to_le_bytes());
            n += 1;
        }
        ws.send(Message::Binary(b.into())).await.expect("send PCM");
        let next = started + Duration::from_millis(20 * u64::from(chunk + 1));
        tokio::time::sleep_until(next.into()).await;
    }
    ws.send(Message::Text("stop".into()))
        .await
        .expect("send stop");
    let answer = tokio::time::timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break t.to_string(),
                Some(Ok(_)) => {}
                other => panic!("the socket ended without an answer: {other:?}"),
            }
        }
    })
    .await
    .expect("the talk's answer");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["ok"], true, "{answer}");

    // The answer comes when the bridge ended the talk; the camera hears the
    // K10010 off a moment later.
    let p = ended_playback(&sim).await;
    assert!(p.logged_in, "{}", summary(&p));
    assert_eq!((p.rejected, p.out_of_sequence), (0, 0), "{}", summary(&p));
    let heard = p.duration().as_secs_f64();
    assert!(heard >= 1.8, "the camera heard {heard:.2} s of 2 s");
    let first = p.first_frame_at.expect("audio at the camera") - started;
    assert!(
        first <= Duration::from_millis(500),
        "the first audio reached the camera after {first:?}"
    );
    let hz = dominant_hz(&p.pcm, p.sample_rate);
    assert!((hz - 1000.0).abs() <= 20.0, "dominant frequency {hz:.1} Hz");
    // The result is on MQTT too, with what was spoken.
    rec.wait_for("the talk's event", T, |m| {
        events(m, "door")
            .iter()
            .any(|e| e["command"] == "intercom" && e["ok"] == true)
    })
    .await;
}

/// A stand-in for Home Assistant's API: `GET /api/states` lists one TTS
/// engine, `POST /api/tts_get_url` answers a proxy path, and that path
/// serves `wav`; every request must carry `token`. Returns the base URL and
/// the requests seen (method, path, body).
async fn home_assistant(
    token: &'static str,
    wav: Vec<u8>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head, then the body its length names.
            let (head, body) = loop {
                let n = s.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let head = text[..i].to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if text.len() >= i + 4 + len {
                        break (head, text[i + 4..i + 4 + len].to_string());
                    }
                }
            };
            let mut words = head.split_whitespace();
            let (method, path) = (
                words.next().unwrap_or_default().to_string(),
                words.next().unwrap_or_default().to_string(),
            );
            log.lock()
                .unwrap()
                .push((method.clone(), path.clone(), body));
            let authorized = head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {token}")));
            let (status, kind, content): (&str, &str, Vec<u8>) = if !authorized {
                (
                    "401 Unauthorized",
                    "text/plain",
                    b"401: Unauthorized".to_vec(),
                )
            } else if method == "GET" && path == "/api/states" {
                (
                    "200 OK",
                    "application/json",
                    br#"[{"entity_id": "light.hall"}, {"entity_id": "tts.piper"}]"#.to_vec(),
                )
            } else if method == "POST" && path == "/api/tts_get_url" {
                (
                    "200 OK",
                    "application/json",
                    br#"{"url": "http://elsewhere.example:8123/api/tts_proxy/abc.wav", "path": "/api/tts_proxy/abc.wav"}"#
                        .to_vec(),
                )
            } else if method == "GET" && path == "/api/tts_proxy/abc.wav" {
                ("200 OK", "audio/wav", wav.clone())
            } else {
                ("404 Not Found", "text/plain", Vec::new())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                content.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&content).await;
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_say_entity_speaks_through_home_assistants_text_to_speech() {
    const TOKEN: &str = "ha-token-not-in-any-log";
    let broker = Mosquitto::start();
    let sim = wyze_sim([127, 0, 0, 12]).await;
    let (ha, seen) = home_assistant(TOKEN, tone_wav(1000.0, 1.0, 22_050)).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("ha-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let cfg = bridge_config(
        &broker.url(),
        &format!(
            "[homeassistant]\nurl = \"{ha}\"\ntoken_file = \"{}\"\n\n{}",
            token_file.display(),
            sim.config_snippet("door")
        ),
    );
    let bridge = Bridge::run(&cfg, "debug");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    // With text-to-speech set up, the camera gets a Say notify entity.
    let msgs = rec
        .wait_for("the Say entity", T, |m| {
            m.iter()
                .any(|x| x.topic.starts_with("homeassistant/notify/") && x.topic.contains("/say/"))
        })
        .await;
    let say = msgs
        .iter()
        .find(|x| x.topic.starts_with("homeassistant/notify/"))
        .unwrap()
        .json();
    assert_eq!(say["command_topic"], "cam2mqtt/door/set/say", "{say}");

    let before = sim.handle().playbacks().len();
    let ev = one_event_within(&rec, "door", "say", b"Someone is at the door".to_vec(), T).await;
    assert_eq!(ev["ok"], true, "{ev}");
    assert_eq!(ev["command"], "say", "{ev}");
    let p = ended_playback(&sim).await;
    assert_eq!(sim.handle().playbacks().len(), before + 1);
    let heard = p.duration().as_secs_f64();
    assert!(
        (heard - 1.0).abs() <= 0.1,
        "heard {heard} s: {}",
        summary(&p)
    );
    let hz = dominant_hz(&p.pcm, p.sample_rate);
    assert!((hz - 1000.0).abs() <= 20.0, "dominant frequency {hz:.1} Hz");

    // What Home Assistant was asked: the first TTS engine it has, the
    // message, then the audio from its own address (not the URL's host).
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(_, p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/api/states", "/api/tts_get_url", "/api/tts_proxy/abc.wav"],
        "{seen:?}"
    );
    let request: serde_json::Value = serde_json::from_str(&seen[1].2).unwrap();
    assert_eq!(request["engine_id"], "tts.piper");
    assert_eq!(request["message"], "Someone is at the door");
    assert!(!bridge.log_text().contains(TOKEN), "the token in the log");
}

/// The PPPP camera's experimental path: JSON `talk_send`, then ADPCM on DRW
/// channel 3 (binary cameras: `0x3002`, A-law) — the tone arrives, paced,
/// while video flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wav_plays_on_pppp_cameras_on_the_experimental_path() {
    use cam2mqtt::proto::pppp::dialect::Dialect;
    use cam2mqtt::sim::runner::PpppSimOptions;
    let broker = Mosquitto::start();
    let json = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 13], 0)),
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated JSON PPPP camera");
    let binary = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 14], 0)),
        dialect: Dialect::Binary,
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated binary PPPP camera");
    // Binary cameras take part only when asked (intercom = "on").
    let cameras = format!(
        "{}{}intercom = \"on\"\n\n",
        json.config_snippet("porch"),
        binary.config_snippet("shed")
    );
    let cfg = bridge_config(&broker.url(), &cameras);
    let bridge = Bridge::run(&cfg, "info");
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#", "homeassistant/#"]).await;
    speakers_announced(&rec, 2).await;
    rec.wait_for("both cameras online", T, |m| {
        ["porch", "shed"].iter().all(|c| {
            m.iter()
                .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
        })
    })
    .await;

    for (cam, sim, codec) in [
        ("porch", &json, cam2mqtt::model::AudioCodec::ImaAdpcm),
        ("shed", &binary, cam2mqtt::model::AudioCodec::Alaw),
    ] {
        let frames_before = sim.handle().frames_sent();
        let ev = one_event_within(&rec, cam, "intercom", tone_wav(1000.0, 2.0, 44_100), T).await;
        assert_eq!(ev["ok"], true, "{cam}: {ev}; log:\n{}", bridge.log_text());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let p = loop {
            let p = sim.handle().last_playback().expect("a playback");
            if p.ended || std::time::Instant::now() > deadline {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(p.ended, "{cam}: {}", summary(&p));
        assert_eq!(p.codec, Some(codec), "{cam}");
        assert_eq!(
            (p.rejected, p.out_of_sequence),
            (0, 0),
            "{cam}: {}",
            summary(&p)
        );
        let heard = p.duration().as_secs_f64();
        assert!(
            (heard - 2.0).abs() <= 0.2,
            "{cam}: heard {heard} s: {}",
            summary(&p)
        );
        let hz = dominant_hz(&p.pcm, p.sample_rate);
        assert!(
            (hz - 1000.0).abs() <= 20.0,
            "{cam}: dominant frequency {hz:.1} Hz"
        );
        let spread = p.last_frame_at.unwrap() - p.first_frame_at.unwrap();
        assert!(
            spread.as_secs_f64() >= 1.8 - 0.1,
            "{cam}: not paced: {spread:?}"
        );
        assert!(
            sim.handle().frames_sent() - frames_before >= 10,
            "{cam}: video stopped while talking"
        );
    }
}
