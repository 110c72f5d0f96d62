//! The HTTP side end to end: the bridge as a subprocess with simulated
//! cameras on loopback and a real mosquitto, HTTP clients over real TCP.
//! Live MJPEG to several viewers (one of which never reads), the same command
//! errors over MQTT and REST, metrics and health, and the trust rule.

#![allow(clippy::disallowed_methods)] // real time: subprocesses and a real broker

mod support;

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cam2mqtt::sim::runner::{PpppSimOptions, SimCamera, SimPpppCamera};
use support::{bridge_config, camera_toml, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(30);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("http client")
}

/// A bridge config serving HTTP on `http` (and `extra_http` keys in `[http]`).
/// The bridge's config; its HTTP server on a port the kernel chooses
/// ([`Bridge::listening`] says which).
fn config(mqtt_url: &str, extra_http: &str, cameras: &str) -> String {
    bridge_config(mqtt_url, cameras).replacen(
        "[http]\nlisten = \"\"\n",
        &format!("[http]\nlisten = \"127.0.0.1:0\"\nhealth_interval_s = 1\n{extra_http}\n"),
        1,
    )
}

async fn get_json(base: &str, path: &str) -> serde_json::Value {
    client()
        .get(format!("{base}/{path}"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .expect("JSON")
}

/// Waits until `GET api/cameras/<id>` says the camera streams.
async fn wait_streaming(base: &str, id: &str) {
    let deadline = Instant::now() + T;
    loop {
        if let Ok(r) = client()
            .get(format!("{base}/api/cameras/{id}"))
            .send()
            .await
        {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                if v["status"] == "streaming" && v["state"]["fps"].as_f64().unwrap_or(0.0) > 0.0 {
                    return;
                }
            }
        }
        assert!(Instant::now() < deadline, "{id} not streaming within {T:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads `multipart/x-mixed-replace` parts for `dur`; returns the parts
/// whose headers named their type and length and whose JPEG decodes.
async fn read_mjpeg(url: String, dur: Duration) -> (usize, usize) {
    let mut resp = client().get(&url).send().await.expect("stream");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ctype.starts_with("multipart/x-mixed-replace; boundary="),
        "{ctype}"
    );
    let boundary = format!("--{}", ctype.split("boundary=").nth(1).unwrap());
    let mut buf: Vec<u8> = Vec::new();
    let (mut parts, mut decodable) = (0, 0);
    let end = tokio::time::Instant::now() + dur;
    loop {
        let chunk = tokio::time::timeout_at(end, resp.chunk()).await;
        let Ok(Ok(Some(chunk))) = chunk else { break };
        buf.extend_from_slice(&chunk);
        // Parse every complete part in the buffer.
        while let Some(head_end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            assert!(
                head.starts_with(&boundary),
                "part starts with the boundary: {head:?}"
            );
            assert!(head.contains("Content-Type: image/jpeg"), "{head}");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("Content-Length")
                .trim()
                .parse()
                .expect("a length");
            let start = head_end + 4;
            if buf.len() < start + len + 2 {
                break;
            }
            parts += 1;
            if image::load_from_memory(&buf[start..start + len]).is_ok() {
                decodable += 1;
            }
            assert_eq!(&buf[start + len..start + len + 2], b"\r\n");
            buf.drain(..start + len + 2);
        }
    }
    (parts, decodable)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A client that asks for the stream and never reads a byte.
fn stalled_viewer(http: SocketAddr, id: &str) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(http).expect("connect");
    write!(
        s,
        "GET /api/cameras/{id}/stream.mjpeg HTTP/1.1\r\nHost: {http}\r\n\r\n"
    )
    .expect("request");
    s
}

async fn camera_fps(base: &str, id: &str) -> f64 {
    get_json(base, &format!("api/cameras/{id}")).await["state"]["fps"]
        .as_f64()
        .unwrap_or(0.0)
}

async fn pppp_bridge(
    broker: &Mosquitto,
    extra_http: &str,
) -> (SimPpppCamera, Bridge, SocketAddr, String) {
    let sim = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera");
    let cfg = config(&broker.url(), extra_http, &sim.config_snippet("door"));
    let bridge = Bridge::run(&cfg, "info");
    let http = bridge.listening("http");
    assert!(
        support::wait_tcp(http, T),
        "HTTP not listening; log:\n{}",
        bridge.log_text()
    );
    (sim, bridge, http, format!("http://{http}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_get_decodable_parts_and_one_that_never_reads_slows_nobody() {
    let broker = Mosquitto::start();
    let (_sim, bridge, http, base) = pppp_bridge(&broker, "").await;
    wait_streaming(&base, "door").await;
    let url = format!("{base}/api/cameras/door/stream.mjpeg");
    let window = Duration::from_secs(5);

    let fps_before = camera_fps(&base, "door").await;
    let (a, b) = tokio::join!(
        read_mjpeg(url.clone(), window),
        read_mjpeg(url.clone(), window)
    );
    for (parts, decodable) in [a, b] {
        assert!(
            decodable >= 5,
            "{decodable} decodable parts of {parts} in 5 s"
        );
        assert_eq!(parts, decodable, "every part decodes");
    }

    // A third viewer asks and never reads: its socket buffers fill, and then
    // it holds nothing but the newest picture.
    let stalled = stalled_viewer(http, "door");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let viewers = get_json(&base, "api/cameras/door").await["viewers"].clone();
    assert_eq!(viewers, 1, "the stalled viewer is counted");
    let (c, d) = tokio::join!(
        read_mjpeg(url.clone(), window),
        read_mjpeg(url.clone(), window)
    );
    let fps_after = camera_fps(&base, "door").await;
    drop(stalled);
    let rate = |n: (usize, usize)| n.1 as f64 / window.as_secs_f64();
    eprintln!(
        "parts/s without the stalled viewer: {:.1} {:.1}; with it: {:.1} {:.1}; camera fps {fps_before} -> {fps_after}",
        rate(a),
        rate(b),
        rate(c),
        rate(d)
    );
    // Ratios, not timings: the same viewers, the same camera, before and after.
    let before = rate(a).min(rate(b));
    for after in [rate(c), rate(d)] {
        assert!(
            after >= 0.8 * before,
            "a viewer's rate fell from {before:.1} to {after:.1} parts/s"
        );
    }
    assert!(
        fps_after >= 0.8 * fps_before,
        "camera fps fell from {fps_before} to {fps_after}"
    );
    // The snapshot endpoint serves the newest picture.
    let jpeg = client()
        .get(format!("{base}/api/cameras/door/snapshot.jpg"))
        .send()
        .await
        .expect("snapshot");
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    let bytes = jpeg.bytes().await.expect("body");
    assert!(image::load_from_memory(&bytes).is_ok());
    drop(bridge);
}

/// One bad command, sent over MQTT and over REST.
struct Case {
    camera: &'static str,
    command: &'static str,
    payload: Vec<u8>,
    status: u16,
    says: &'static str,
}

fn case(
    camera: &'static str,
    command: &'static str,
    payload: &str,
    status: u16,
    says: &'static str,
) -> Case {
    Case {
        camera,
        command,
        payload: payload.as_bytes().to_vec(),
        status,
        says,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bad_commands_get_the_same_error_texts_over_mqtt_and_rest() {
    let broker = Mosquitto::start();
    let a9 = support::demo_sim("a9", 3, 320, 240).await;
    // One bridge with two cameras: a PPPP camera with a light and an A9 without.
    let pppp = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dialect: cam2mqtt::proto::pppp::dialect::Dialect::Binary,
        ..PpppSimOptions::default()
    })
    .await
    .expect("simulated PPPP camera");
    let cameras = format!(
        "{}\n{}",
        pppp.config_snippet("door"),
        camera_toml("a9", &a9)
    );
    let cfg = config(&broker.url(), "", &cameras);
    let bridge = Bridge::run(&cfg, "info");
    let http = bridge.listening("http");
    let base = format!("http://{http}");
    assert!(support::wait_tcp(http, T), "{}", bridge.log_text());
    wait_streaming(&base, "door").await;
    wait_streaming(&base, "a9").await;
    let mqtt = Recorder::connect(broker.addr().port(), &["cam2mqtt/+/event"]).await;

    let cases = [
        case("nope", "snapshot", "", 404, "unknown camera \"nope\""),
        case("door", "fly", "now", 404, "unknown command \"fly\""),
        case("door", "light", "maybe", 400, "allowed: on, off"),
        case("a9", "light", "on", 409, "has no light"),
        case("a9", "ptz", "sideways", 409, "has no pan/tilt"),
        case("door", "night_vision", "purple", 400, "allowed: on, off"),
        case("door", "snapshot_interval", "5000", 400, "0 to 3600"),
        case("door", "snapshot_interval", "1e3", 400, "digits only"),
        case("door", "wifi", "{not json", 400, "not JSON"),
        case(
            "door",
            "wifi",
            &format!(
                "{{\"ssid\": \"{}\", \"password\": \"12345678\"}}",
                "x".repeat(40)
            ),
            400,
            "ssid",
        ),
        case("door", "resolution", "8k", 400, "resolution"),
        case(
            "door",
            "wifi_ssid",
            &"s".repeat(5000),
            413,
            "at most 4096 bytes",
        ),
        case("door", "wifi_apply", "", 400, "no SSID staged"),
    ];
    for c in &cases {
        let topic = format!("cam2mqtt/{}/event", c.camera);
        let before = mqtt.on(&topic).len();
        mqtt.publish(
            &format!("cam2mqtt/{}/set/{}", c.camera, c.command),
            c.payload.clone(),
        )
        .await;
        let msgs = mqtt
            .wait_for(
                &format!("the event for {} {}", c.camera, c.command),
                T,
                |_| mqtt.on(&topic).len() > before,
            )
            .await;
        let _ = msgs;
        let event = mqtt.on(&topic)[before].json();
        assert_eq!(event["ok"], false, "{event}");
        let over_mqtt = event["error"].as_str().unwrap_or_default().to_string();

        let resp = client()
            .post(format!(
                "{base}/api/cameras/{}/commands/{}",
                c.camera, c.command
            ))
            .body(c.payload.clone())
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.expect("JSON error");
        let over_rest = body["error"].as_str().unwrap_or_default().to_string();
        assert_eq!(over_rest, over_mqtt, "{} {}", c.camera, c.command);
        assert!(
            over_rest.contains(c.says),
            "{over_rest:?} should say {:?}",
            c.says
        );
        assert_eq!(status, c.status, "{} {}: {over_rest}", c.camera, c.command);
        assert_eq!(body["ok"], false);
        // A REST command that reached its camera's gate is an MQTT event too;
        // one refused before (no such camera or command, too big) is answered
        // to its sender only.
        if ![404, 413].contains(&c.status) {
            mqtt.wait_for("the REST command's event", T, |_| {
                mqtt.on(&topic).len() > before + 1
            })
            .await;
        }
    }
    // And a good one: 200, the same as MQTT's ok.
    let ok = client()
        .post(format!("{base}/api/cameras/door/commands/snapshot"))
        .body("PRESS")
        .send()
        .await
        .expect("POST");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<serde_json::Value>().await.unwrap()["ok"], true);
    drop(bridge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_grow_and_a_camera_that_stops_sending_is_degraded_within_15_s() {
    let broker = Mosquitto::start();
    let (sim, bridge, _http, base) = pppp_bridge(&broker, "").await;
    wait_streaming(&base, "door").await;
    let mqtt = Recorder::connect(broker.addr().port(), &["cam2mqtt/bridge/health"]).await;

    let frames = |text: &str| -> f64 {
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
        let sample = scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "cam2mqtt_camera_frames_total" && s.labels.get("camera") == Some("door")
            })
            .expect("a frame counter for door");
        match sample.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("frames is {other:?}"),
        }
    };
    let scrape = || async {
        let r = client()
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics");
        assert_eq!(r.status(), 200);
        r.text().await.expect("text")
    };
    let first = scrape().await;
    for family in [
        "cam2mqtt_camera_session_phase",
        "cam2mqtt_camera_viewers",
        "cam2mqtt_live_decoders",
        "cam2mqtt_camera_snapshot_latency_seconds_bucket",
        "cam2mqtt_mqtt_connected",
        "cam2mqtt_mqtt_published_messages_total",
        "cam2mqtt_camera_reconnects_total",
        "cam2mqtt_camera_session_frames_dropped",
    ] {
        assert!(first.contains(family), "{family} missing:\n{first}");
    }
    // A histogram's +Inf bucket is its count, and its buckets never shrink.
    let value = |text: &str, prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{text}"))
    };
    assert_eq!(
        value(
            &first,
            "cam2mqtt_camera_snapshot_latency_seconds_bucket{le=\"+Inf\",camera=\"door\"}"
        ),
        value(
            &first,
            "cam2mqtt_camera_snapshot_latency_seconds_count{camera=\"door\"}"
        ),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = scrape().await;
    assert!(
        frames(&second) > frames(&first),
        "the frame counter grows: {} then {}",
        frames(&first),
        frames(&second)
    );

    // A page learns of a new viewer from the event stream, without polling.
    let mut events = client()
        .get(format!("{base}/api/events"))
        .send()
        .await
        .expect("event stream");
    let viewer = client()
        .get(format!("{base}/api/cameras/door/stream.mjpeg"))
        .send()
        .await
        .expect("stream");
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + T;
    while !seen.contains("\"viewers\":1") {
        match tokio::time::timeout_at(deadline, events.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("no camera event with one viewer; saw:\n{seen}"),
        }
    }
    drop(viewer);
    drop(events);

    let health = get_json(&base, "api/health").await;
    assert_eq!(health["degraded"], serde_json::json!([]), "{health}");
    assert_eq!(health["cameras"][0]["healthy"], true);
    // The camera's encoder hangs; its session stays up.
    sim.handle().set_video_stalled(true);
    let stalled_at = Instant::now();
    loop {
        let health = get_json(&base, "api/health").await;
        if health["degraded"] == serde_json::json!(["door"]) {
            let session = get_json(&base, "api/cameras/door").await["state"]["session"].clone();
            assert_eq!(session, "streaming", "the session is still up");
            assert_eq!(health["healthy"], false);
            break;
        }
        assert!(
            stalled_at.elapsed() < Duration::from_secs(15),
            "not degraded within 15 s: {health}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("degraded after {:?}", stalled_at.elapsed());
    // The retained bridge/health says so too.
    mqtt.wait_for("bridge/health naming door degraded", T, |msgs| {
        msgs.iter()
            .any(|m| m.json()["degraded"] == serde_json::json!(["door"]))
    })
    .await;
    // /healthz is about the process and MQTT: still fine.
    let hz = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(hz.status(), 200);
    drop(bridge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_credentials_set_every_endpoint_refuses_a_request_without_them() {
    let broker = Mosquitto::start();
    let (_sim, bridge, _http, base) = pppp_bridge(
        &broker,
        "username = \"viewer\"\npassword = \"pw-not-in-any-answer\"\ntoken = \"tok-not-in-any-answer\"",
    )
    .await;
    let get = |path: &'static str| ("GET", path);
    let endpoints = [
        get(""),
        get("ui/app.js"),
        get("metrics"),
        get("api/health"),
        get("api/cameras"),
        get("api/cameras/door"),
        get("api/cameras/door/snapshot.jpg"),
        get("api/cameras/door/stream.mjpeg"),
        get("api/events"),
        ("POST", "api/cameras/door/commands/reboot"),
        get("no/such/page"),
    ];
    for (method, path) in endpoints {
        let url = format!("{base}/{path}");
        let req = |c: reqwest::Client| match method {
            "POST" => c.post(&url).body("PRESS"),
            _ => c.get(&url),
        };
        let r = req(client()).send().await.expect("request");
        assert_eq!(r.status(), 401, "{method} /{path}");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        let text = r.text().await.unwrap();
        assert!(
            text.contains("http.username") && !text.contains("not-in-any-answer"),
            "{text}"
        );
        let r = req(client())
            .basic_auth("viewer", Some("wrong"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401, "{method} /{path} with a wrong password");
    }
    // The container health check (curl on 127.0.0.1) has no credentials:
    // `/healthz` answers a loopback client, and says nothing else.
    let r = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(
        r.status(),
        200,
        "/healthz from loopback without credentials"
    );
    let text = r.text().await.unwrap();
    assert!(!text.contains("not-in-any-answer"), "{text}");
    // With them: in (not the endless ones, which only need their headers).
    for path in ["", "api/cameras", "metrics", "api/health"] {
        let url = format!("{base}/{path}");
        let r = client()
            .get(&url)
            .basic_auth("viewer", Some("pw-not-in-any-answer"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "/{path} with basic auth");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("not-in-any-answer"),
            "/{path} shows a secret"
        );
        let r = client()
            .get(&url)
            .bearer_auth("tok-not-in-any-answer")
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 200, "/{path} with the token");
    }
    assert!(
        !bridge.log_text().contains("not-in-any-answer"),
        "a secret in the log"
    );
    drop(bridge);
}

async fn live_decoders(base: &str) -> f64 {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text");
    scrape
        .samples
        .iter()
        .find(|s| s.metric == "cam2mqtt_live_decoders")
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .expect("cam2mqtt_live_decoders")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_wyze_camera_is_decoded_live_for_its_viewers_and_the_decoder_stops_after_the_last(
) {
    let broker = Mosquitto::start();
    let sim = cam2mqtt::sim::runner::SimCamera::spawn_tutk(cam2mqtt::sim::runner::TutkSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..cam2mqtt::sim::runner::TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera");
    let cfg = config(&broker.url(), "live_fps = 5", &sim.config_snippet("garage"));
    let bridge = Bridge::run(&cfg, "info");
    let http = bridge.listening("http");
    let base = format!("http://{http}");
    assert!(support::wait_tcp(http, T), "{}", bridge.log_text());
    wait_streaming(&base, "garage").await;
    assert_eq!(live_decoders(&base).await, 0.0, "nobody watches yet");

    let url = format!("{base}/api/cameras/garage/stream.mjpeg");
    let window = Duration::from_secs(5);
    let stalled = stalled_viewer(http, "garage");
    let (a, b) = tokio::join!(
        read_mjpeg(url.clone(), window),
        read_mjpeg(url.clone(), window)
    );
    eprintln!("Wyze live parts in 5 s: {a:?} {b:?}");
    for (parts, decodable) in [a, b] {
        assert!(
            decodable >= 5,
            "{decodable} decodable parts of {parts} in 5 s"
        );
        assert_eq!(parts, decodable);
    }
    assert_eq!(
        live_decoders(&base).await,
        1.0,
        "one decoder for three viewers"
    );
    let fps = camera_fps(&base, "garage").await;
    assert!(
        fps >= 10.0,
        "the camera's own rate is untouched by a stalled viewer: {fps}"
    );
    drop(stalled);
    let closed = Instant::now();
    loop {
        if live_decoders(&base).await == 0.0 {
            break;
        }
        assert!(
            closed.elapsed() < Duration::from_secs(5),
            "the live decoder still runs 5 s after the last viewer left"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "live decoder stopped {:?} after the last viewer left",
        closed.elapsed()
    );
    drop(bridge);
}
