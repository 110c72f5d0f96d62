//! RTSP through the whole bridge: real mosquitto, the simulated cameras over
//! real UDP on loopback, and real clients — ffmpeg/ffprobe (Debian's,
//! installed by `tests/run.sh`), retina (an independent Rust client), and a
//! minimal client of the tests' own for what those cannot do (stop reading,
//! talk on the back-channel).

#![allow(clippy::disallowed_methods)] // real time: a real broker, a real bridge, real clients

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cam2mqtt::model::VideoCodec;
use cam2mqtt::sim::runner::{
    PpppSimOptions, SimCamera, SimPpppCamera, SimTutkCamera, TutkSimOptions,
};
use cam2mqtt::sim::video::TestVideo;
use support::rtsp::{rtp_packet, tracks, ulaw, RtspClient};
use support::{bridge_config, Bridge, Mosquitto, Recorder};

const T: Duration = Duration::from_secs(30);

/// A bridge with three simulated cameras: Wyze H.264 (`h264`), Wyze H.265
/// (`h265`), PPPP JSON with MJPEG, ADPCM audio and a speaker (`porch`).
struct Rig {
    _broker: Mosquitto,
    bridge: Bridge,
    rtsp: SocketAddr,
    http: SocketAddr,
    /// `Authorization` for the REST API, when credentials are set.
    http_auth: Option<String>,
    h264: SimTutkCamera,
    _h265: SimTutkCamera,
    _pppp: SimPpppCamera,
}

impl Rig {
    fn url(&self, cam: &str) -> String {
        format!("rtsp://{}/{cam}", self.rtsp)
    }

    /// The camera's viewer count, as the REST API shows it.
    async fn viewers(&self, cam: &str) -> u64 {
        let body = self.get(&format!("/api/cameras/{cam}")).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["viewers"].as_u64().unwrap_or(u64::MAX)
    }

    /// The body of `GET path` on the web server.
    async fn get(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut s = tokio::net::TcpStream::connect(self.http).await.unwrap();
        let auth = self
            .http_auth
            .as_ref()
            .map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer);
        text.split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_string())
    }
}

/// Starts the rig (`ip` the last octet base of the cameras' loopback
/// addresses, so tests running at once do not meet) with `[http]` keys
/// `http_extra`, and waits until every camera streams.
async fn rig(ip: u8, http_extra: &str, http_auth: Option<String>) -> Rig {
    let broker = Mosquitto::start();
    let tutk = |n: u8, codec| {
        SimCamera::spawn_tutk(TutkSimOptions {
            listen: SocketAddr::from(([127, 0, 0, n], 0)),
            uid: Some(format!("SIMWYZE{n:013}")),
            codec,
            ..TutkSimOptions::default()
        })
    };
    let h264 = tutk(ip, VideoCodec::H264).await.expect("Wyze H.264");
    let h265 = tutk(ip + 1, VideoCodec::H265).await.expect("Wyze H.265");
    let pppp = SimCamera::spawn_pppp(PpppSimOptions {
        listen: SocketAddr::from(([127, 0, 0, ip + 2], 0)),
        ..PpppSimOptions::default()
    })
    .await
    .expect("PPPP JSON");
    let cameras = format!(
        "{}{}{}",
        h264.config_snippet("h264"),
        h265.config_snippet("h265"),
        pppp.config_snippet("porch")
    );
    let cfg = bridge_config(&broker.url(), &cameras)
        .replacen(
            "[rtsp]\nlisten = \"\"\n",
            "[rtsp]\nlisten = \"127.0.0.1:0\"\n",
            1,
        )
        .replacen(
            "[http]\nlisten = \"\"\n",
            &format!("[http]\nlisten = \"127.0.0.1:0\"\n{http_extra}\n"),
            1,
        );
    let bridge = Bridge::run(&cfg, "info,cam2mqtt::rtsp=debug");
    let (rtsp, http) = (bridge.listening("rtsp"), bridge.listening("http"));
    let rec = Recorder::connect(broker.port, &["cam2mqtt/#"]).await;
    let streaming = tokio::time::timeout(
        T,
        rec.wait_for("every camera streaming", T + T, |m| {
            ["h264", "h265", "porch"].iter().all(|c| {
                m.iter()
                    .any(|x| x.topic == format!("cam2mqtt/{c}/snapshot"))
            })
        }),
    )
    .await;
    assert!(
        streaming.is_ok(),
        "cameras not streaming; log:\n{}",
        bridge.log_text()
    );
    Rig {
        _broker: broker,
        bridge,
        rtsp,
        http,
        http_auth,
        h264,
        _h265: h265,
        _pppp: pppp,
    }
}

/// Runs ffmpeg reading `url` over `transport` until `frames` video frames
/// are decoded: (exit ok, stderr).
fn ffmpeg_decode(url: &str, transport: &str, frames: u32) -> std::process::Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error"])
        .args(["-rtsp_transport", transport, "-timeout", "20000000"])
        .args(["-i", url])
        .args(["-frames:v", &frames.to_string(), "-f", "null", "-"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ffmpeg (tests/run.sh installs it)")
}

fn codec_name(url: &str, transport: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", transport])
        .args([
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "csv=p=0", url])
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_every_stream_over_tcp_and_udp_and_h264_arrives_as_the_camera_sent_it() {
    let rig = rig(31, "", None).await;
    for (cam, codec) in [("h264", "h264"), ("h265", "hevc"), ("porch", "mjpeg")] {
        for transport in ["tcp", "udp"] {
            let probed = codec_name(&rig.url(cam), transport);
            assert!(
                probed.starts_with(codec),
                "{cam} over {transport}: ffprobe says {probed:?}; log:\n{}",
                rig.bridge.log_text()
            );
        }
    }
    // Six decoders at once: 50 frames each, no decoder complaint.
    let runs: Vec<_> = ["h264", "h265", "porch"]
        .iter()
        .flat_map(|cam| ["tcp", "udp"].map(|t| (*cam, t)))
        .map(|(cam, t)| (cam, t, ffmpeg_decode(&rig.url(cam), t, 50)))
        .collect();
    for (cam, t, child) in runs {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{cam} over {t}: {:?}\n{stderr}\nlog:\n{}",
            out.status,
            rig.bridge.log_text()
        );
    }

    // The H.264 elementary stream ffmpeg writes (no re-encode: -c copy) is
    // made of the camera's own NAL units, in the camera's order.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.h264");
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
        ])
        .args(["-i", &rig.url("h264"), "-map", "0:v", "-c", "copy"])
        .args(["-frames:v", "60", "-f", "h264"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(&path).unwrap();
    let clip = TestVideo::clip(VideoCodec::H264, 640, 360).expect("the simulator's clip");
    let clip_nals: Vec<&[u8]> = clip.iter().flat_map(|au| nal_units(&au.data)).collect();
    // Slices (types 1 and 5) by where they sit in the clip.
    let slice_at = |nal: &[u8]| clip_nals.iter().position(|c| *c == nal);
    let mut slices = Vec::new();
    for nal in nal_units(&got) {
        let kind = nal[0] & 0x1F;
        let at = slice_at(nal);
        assert!(
            at.is_some(),
            "a NAL unit of type {kind} ({} bytes) the camera never sent",
            nal.len()
        );
        if kind == 1 || kind == 5 {
            slices.push(at.unwrap());
        }
    }
    assert!(slices.len() >= 60, "only {} pictures", slices.len());
    let n = clip_nals.len();
    for w in slices.windows(2) {
        let next = (w[0] + 1..w[0] + n)
            .map(|i| i % n)
            .find(|&i| matches!(clip_nals[i][0] & 0x1F, 1 | 5))
            .unwrap();
        assert_eq!(
            w[1], next,
            "a picture missing or out of order after NAL {}",
            w[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_and_video_stay_within_100_ms_of_each_other() {
    // The simulated Wyze camera sends its 20 ms audio chunks and its video
    // frames in real time from one clock, so packets that arrive together
    // belong together. ffprobe maps both tracks to one timeline through the
    // RTCP sender reports and lists packets as they arrive: each live video
    // packet's time must be within 100 ms of the audio packets around it.
    let rig = rig(50, "", None).await;
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-read_intervals",
            "%+6",
        ])
        .args([
            "-show_entries",
            "packet=stream_index,pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(rig.url("h264"))
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout);
    let packets: Vec<(u32, f64)> = text
        .lines()
        .filter_map(|l| {
            let (i, t) = l.split_once(',')?;
            Some((i.parse().ok()?, t.trim_end_matches(',').parse().ok()?))
        })
        .collect();
    let first_audio = packets
        .iter()
        .find(|p| p.0 == 1)
        .map(|p| p.1)
        .expect("audio packets");
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    for (i, &(stream, t)) in packets.iter().enumerate() {
        // Live video only: the GOP a client starts with is older.
        if stream != 0 || t < first_audio + 0.5 {
            continue;
        }
        let before = packets[..i].iter().rev().find(|p| p.0 == 1);
        let after = packets[i..].iter().find(|p| p.0 == 1);
        let nearest = [before, after]
            .into_iter()
            .flatten()
            .map(|p| (p.1 - t).abs())
            .fold(f64::MAX, f64::min);
        worst = worst.max(nearest);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} live video packets:\n{text}");
    assert!(
        worst < 0.1,
        "a video frame {worst:.3} s from the audio around it:\n{text}"
    );
    println!(
        "lip sync: worst {:.1} ms over {checked} video frames",
        worst * 1000.0
    );
}

/// The NAL units of Annex-B bytes (written here, not the bridge's splitter).
fn nal_units(b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let mut e = starts.get(k + 1).map_or(b.len(), |&n| n - 3);
            while e > s && b[e - 1] == 0 {
                e -= 1;
            }
            &b[s..e]
        })
        .filter(|n| !n.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_gets_the_codec_parameters_from_the_sdp_and_frames() {
    use futures_util::StreamExt as _;
    use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions, Transport};
    use retina::codec::{CodecItem, ParametersRef};

    let rig = rig(35, "", None).await;
    for (cam, encoding, codec_prefix, transport) in [
        ("h264", "h264", "avc1.", "udp"),
        ("h265", "h265", "hvc1.", "tcp"),
        ("porch", "jpeg", "", "tcp"),
    ] {
        let url = url::Url::parse(&rig.url(cam)).unwrap();
        let mut session = Session::describe(url, SessionOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{cam}: DESCRIBE: {e}"));
        let video = session
            .streams()
            .iter()
            .position(|s| s.media() == "video")
            .expect("a video stream");
        let stream = &session.streams()[video];
        assert_eq!(stream.encoding_name(), encoding, "{cam}");
        if !codec_prefix.is_empty() {
            // H.264/H.265: the parameters are in the SDP, before any frame.
            match stream.parameters() {
                Some(ParametersRef::Video(v)) => {
                    assert!(
                        v.rfc6381_codec().starts_with(codec_prefix),
                        "{cam}: {}",
                        v.rfc6381_codec()
                    );
                    assert_eq!(v.pixel_dimensions(), (640, 360), "{cam}");
                }
                other => panic!("{cam}: no video parameters from the SDP: {other:?}"),
            }
        }
        let transport: Transport = transport.parse().unwrap();
        session
            .setup(video, SetupOptions::default().transport(transport))
            .await
            .unwrap_or_else(|e| panic!("{cam}: SETUP: {e}"));
        let mut demuxed = session
            .play(PlayOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{cam}: PLAY: {e}"))
            .demuxed()
            .unwrap();
        let mut frames = 0;
        let mut first_key = None;
        let mut seen = Vec::new();
        tokio::time::timeout(T, async {
            while frames < 20 {
                match demuxed.next().await {
                    Some(Ok(CodecItem::VideoFrame(f))) => {
                        // NAL unit types (retina hands out 4-byte lengths).
                        let mut types = Vec::new();
                        let mut d = f.data();
                        while d.len() > 5 {
                            let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
                            types.push(if cam == "h264" {
                                d[4] & 0x1F
                            } else {
                                (d[4] >> 1) & 0x3F
                            });
                            d = &d[(4 + n).min(d.len())..];
                        }
                        // Retina calls only IDR pictures random access
                        // points; the simulated H.265 camera's GOPs start
                        // with CRA pictures (x265's open-GOP default), so
                        // for H.265 any IRAP picture (types 16-23) counts.
                        let irap = types.iter().any(|t| (16..=23).contains(t));
                        first_key
                            .get_or_insert(f.is_random_access_point() || (cam == "h265" && irap));
                        seen.push((f.is_random_access_point(), f.data().len(), types));
                        assert!(!f.data().is_empty());
                        frames += 1;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("{cam}: {e}"),
                    None => panic!("{cam}: the stream ended"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{cam}: only {frames} frames"));
        assert_eq!(
            first_key,
            Some(true),
            "{cam}: the first frame is a keyframe: {seen:?}"
        );
        if cam == "porch" {
            match demuxed.streams()[video].parameters() {
                Some(ParametersRef::Video(v)) => assert_eq!(v.pixel_dimensions(), (640, 480)),
                other => panic!("JPEG parameters: {other:?}"),
            }
        }
    }
}

/// Plays `cam` over TCP with the tests' client and counts the video frames
/// (RTP packets with the marker bit on channel 0) into `count`.
async fn counting_client(addr: SocketAddr, url: String, count: Arc<AtomicU64>) {
    let mut c = RtspClient::connect(addr).await;
    let d = c.request("DESCRIBE", &url, &[]).await;
    assert_eq!(d.status, 200, "{d:?}");
    let video = &tracks(&d.body)[0].1;
    let r = c
        .request(
            "SETUP",
            &format!("{url}/{video}"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(c.request("PLAY", &url, &[]).await.status, 200);
    while let Some((ch, p)) = c.packet().await {
        if ch == 0 && p.len() > 1 && p[1] & 0x80 != 0 {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_share_one_session_and_one_that_stops_reading_is_dropped() {
    let rig = rig(38, "", None).await;
    let url = rig.url("h264");
    let sessions = rig.h264.handle().sessions();
    // The one that will stop reading: a tiny receive buffer, and it never
    // reads after PLAY.
    let mut stalled = RtspClient::connect_small(rig.rtsp, 4096).await;
    let d = stalled.request("DESCRIBE", &url, &[]).await;
    let video = tracks(&d.body)[0].1.clone();
    stalled
        .request(
            "SETUP",
            &format!("{url}/{video}"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
        .await;
    assert_eq!(stalled.request("PLAY", &url, &[]).await.status, 200);

    let counts: Vec<Arc<AtomicU64>> = (0..10).map(|_| Arc::default()).collect();
    for c in &counts {
        tokio::spawn(counting_client(rig.rtsp, url.clone(), c.clone()));
    }
    // Every client plays: 11 viewers.
    let deadline = Instant::now() + T;
    while rig.viewers("h264").await != 11 {
        assert!(
            Instant::now() < deadline,
            "viewers: {}",
            rig.viewers("h264").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Past the GOP each client started with: count for 6 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent_before = rig.h264.handle().frames_sent();
    let before: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let sent = rig.h264.handle().frames_sent() - sent_before;
    let got: Vec<u64> = counts
        .iter()
        .zip(&before)
        .map(|(c, b)| c.load(Ordering::Relaxed) - b)
        .collect();
    assert!(sent >= 50, "the camera sent only {sent} frames in 6 s");
    for (i, g) in got.iter().enumerate() {
        assert!(
            *g as f64 >= 0.9 * sent as f64,
            "client {i}: {g} of the camera's {sent} frames (all: {got:?})"
        );
    }
    assert_eq!(
        rig.h264.handle().sessions(),
        sessions,
        "one camera session for every client"
    );
    // The stalled client is dropped (its buffers full, then the stall
    // limit): the viewers go down to 10 while it still reads nothing, and
    // then it finds its connection closed.
    let deadline = Instant::now() + Duration::from_secs(45);
    while rig.viewers("h264").await != 10 {
        assert!(
            Instant::now() < deadline,
            "the client that stopped reading was never dropped: {} viewers",
            rig.viewers("h264").await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(stalled.closed_within(Duration::from_secs(10)).await);
    assert!(
        rig.bridge.log_text().contains("too slow or gone"),
        "the drop is logged"
    );
    let metrics = rig.get("/metrics").await;
    for line in [
        "cam2mqtt_rtsp_clients 10.0",
        "cam2mqtt_rtsp_clients_dropped_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line:?} not in:\n{metrics}"
        );
    }
}

/// One 20 ms RTP packet (PCMU at 8 kHz, 160 samples) of a `hz` tone at
/// half scale: packet `k` of the tone.
fn tone_packet(hz: f64, k: u16) -> Vec<u8> {
    let payload: Vec<u8> = (0..160u32)
        .map(|i| {
            let t = f64::from(u32::from(k) * 160 + i) / 8000.0;
            ulaw((0.5 * 32767.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16)
        })
        .collect();
    rtp_packet(0, k, u32::from(k) * 160, 0x1234_5678, &payload)
}

/// DESCRIBE with the back-channel asked for: the back-channel track's
/// control, checked to be a sendonly PCMU/PCMA audio track.
async fn backchannel_track(c: &mut RtspClient, url: &str) -> String {
    let d = c
        .request(
            "DESCRIBE",
            url,
            &[("Require", "www.onvif.org/ver20/backchannel")],
        )
        .await;
    assert_eq!(d.status, 200, "{d:?}");
    // The back-channel is the last track: audio offering PCMU and PCMA,
    // sendonly (the client sends).
    let (media, back) = tracks(&d.body).pop().expect("tracks");
    assert_eq!(media, "audio 0 RTP/AVP 0 8", "{}", d.body);
    let section = &d.body[d.body.rfind("m=audio").unwrap()..];
    assert!(
        section.contains("a=sendonly") && section.contains("a=rtpmap:8 PCMA/8000"),
        "{section}"
    );
    back
}

/// Waits for the camera's playback number `n` (0-based) to end and checks
/// it was about 2 s of a `hz` tone.
async fn heard(rig: &Rig, n: usize, hz: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let p = loop {
        if let Some(p) = rig.h264.handle().playbacks().get(n).filter(|p| p.ended) {
            break p.clone();
        }
        assert!(
            Instant::now() < deadline,
            "playback {n} never ended; log:\n{}",
            rig.bridge.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let secs = p.pcm.len() as f64 / f64::from(p.sample_rate);
    assert!(secs >= 1.8, "{secs} s of the 2 s tone played");
    let got = dominant_hz(&p.pcm, p.sample_rate);
    assert!(
        (got - hz).abs() <= hz * 0.02,
        "dominant frequency {got:.1} Hz, sent {hz} Hz"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::disallowed_types)] // the test is the client: its own RTP socket
async fn a_tone_on_the_backchannel_plays_on_the_cameras_speaker_over_tcp_and_udp() {
    let rig = rig(41, "", None).await;
    let url = rig.url("h264");

    // Over the RTSP connection (interleaved), as go2rtc does.
    let mut c = RtspClient::connect(rig.rtsp).await;
    let back = backchannel_track(&mut c, &url).await;
    let r = c
        .request(
            "SETUP",
            &format!("{url}/{back}"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=4-5")],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(c.request("PLAY", &url, &[]).await.status, 200);
    // Two seconds of a 1 kHz tone, 20 ms a packet, in real time as a
    // microphone sends it; the pause after it ends the playback.
    let started = Instant::now();
    for k in 0..100u16 {
        c.send_packet(4, &tone_packet(1000.0, k)).await;
        tokio::time::sleep_until((started + Duration::from_millis(20 * u64::from(k + 1))).into())
            .await;
    }
    heard(&rig, 0, 1000.0).await;

    // Over UDP: RTP from the client's port to the server's, a 600 Hz tone.
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = rtp.local_addr().unwrap().port();
    let mut u = RtspClient::connect(rig.rtsp).await;
    let back = backchannel_track(&mut u, &url).await;
    let transport = format!("RTP/AVP;unicast;client_port={port}-{}", port + 1);
    let r = u
        .request(
            "SETUP",
            &format!("{url}/{back}"),
            &[("Transport", &transport)],
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let server_port: u16 = r
        .header("transport")
        .and_then(|t| t.split("server_port=").nth(1))
        .and_then(|p| p.split('-').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no server_port: {r:?}"));
    assert_eq!(u.request("PLAY", &url, &[]).await.status, 200);
    let started = Instant::now();
    for k in 0..100u16 {
        rtp.send_to(&tone_packet(600.0, k), ("127.0.0.1", server_port))
            .await
            .unwrap();
        tokio::time::sleep_until((started + Duration::from_millis(20 * u64::from(k + 1))).into())
            .await;
    }
    heard(&rig, 1, 600.0).await;
}

/// The dominant frequency of `pcm` at `rate`, by counting rising zero
/// crossings over the middle 80%.
fn dominant_hz(pcm: &[i16], rate: u32) -> f64 {
    let start = pcm.len() / 10;
    let mid = &pcm[start..pcm.len() - start];
    let rising = mid.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    rising as f64 * f64::from(rate) / mid.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_credentials_a_client_without_them_gets_401_and_ffmpeg_with_them_decodes() {
    const PASSWORD: &str = "rtsp-Pa55word";
    let basic = format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("viewer:{PASSWORD}").as_bytes())
    );
    let rig = rig(
        44,
        &format!("username = \"viewer\"\npassword = \"{PASSWORD}\"\n"),
        Some(basic),
    )
    .await;
    let url = rig.url("h264");
    let mut c = RtspClient::connect(rig.rtsp).await;
    let r = c.request("DESCRIBE", &url, &[]).await;
    assert_eq!(r.status, 401, "{r:?}");
    let challenges = r.all("www-authenticate");
    assert!(
        challenges.iter().any(|v| v.starts_with("Digest ")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|v| v.starts_with("Basic ")),
        "{challenges:?}"
    );
    assert!(!r.body.contains("m=video"), "nothing about the camera");
    c.authorization = Some(format!(
        "Basic {}",
        data_encoding::BASE64.encode(b"viewer:wrong-password")
    ));
    let r = c.request("DESCRIBE", &url, &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(rig.viewers("h264").await, 0, "no viewer was counted");
    // ffmpeg without credentials fails; with them (Digest) it decodes.
    let out = ffmpeg_decode(&url, "tcp", 10).wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let with = format!("rtsp://viewer:{PASSWORD}@{}/h264", rig.rtsp);
    let out = ffmpeg_decode(&with, "tcp", 20).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\nlog:\n{}",
        String::from_utf8_lossy(&out.stderr),
        rig.bridge.log_text()
    );
    assert!(
        !rig.bridge.log_text().contains(PASSWORD),
        "the password in the log"
    );
}

/// Figures, not assertions (a loaded CI machine must not fail them): the
/// time a new client waits for its first complete picture, and the latency
/// from the simulated camera sending a frame to a client receiving its last
/// RTP packet. Printed; run with `--nocapture` to see them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_first_frame_time_and_latency() {
    let rig = rig(47, "", None).await;
    let url = rig.url("h264");
    // Which clip picture a frame's last RTP packet belongs to: its payload
    // (the end of the picture's last NAL unit) is unique in the clip.
    let clip = TestVideo::clip(VideoCodec::H264, 640, 360).expect("the simulator's clip");
    let mut last_payload = std::collections::HashMap::new();
    for (i, au) in clip.iter().enumerate() {
        let mut s = cam2mqtt::rtsp::rtp::RtpStream::new(96, 1, 0);
        let last = s.h264(0, &au.data).pop().unwrap();
        last_payload.insert(last[12..].to_vec(), i);
    }
    let mut first = Vec::new();
    let mut latencies = Vec::new();
    for round in 0..5 {
        let t0 = Instant::now();
        let mut c = RtspClient::connect(rig.rtsp).await;
        let d = c.request("DESCRIBE", &url, &[]).await;
        let video = tracks(&d.body)[0].1.clone();
        c.request(
            "SETUP",
            &format!("{url}/{video}"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
        .await;
        c.request("PLAY", &url, &[]).await;
        let mut got_first = false;
        let until = Instant::now() + Duration::from_secs(if round == 4 { 8 } else { 1 });
        while Instant::now() < until {
            let Ok(Some((0, p))) = tokio::time::timeout(T, c.packet()).await else {
                continue;
            };
            if p[1] & 0x80 == 0 {
                continue;
            }
            let now = Instant::now();
            if !got_first {
                got_first = true;
                first.push(now - t0);
            }
            // Past the GOP burst: live frames only.
            if now - t0 < Duration::from_secs(2) {
                continue;
            }
            if let Some(&index) = last_payload.get(&p[12..]) {
                let sent = rig
                    .h264
                    .handle()
                    .frames()
                    .iter()
                    .rev()
                    .find(|f| f.index == index && f.sent_at <= now)
                    .map(|f| f.sent_at);
                if let Some(sent) = sent {
                    latencies.push(now - sent);
                }
            }
        }
    }
    first.sort();
    latencies.sort();
    assert!(
        first.len() == 5 && latencies.len() >= 30,
        "{first:?} {latencies:?}"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "RTSP figures (simulated Wyze H.264 640x360 10 fps, loopback, debug build): \
         first complete picture after connect: median {:.1} ms, max {:.1} ms (5 new clients); \
         camera send -> client receive: median {:.1} ms, p95 {:.1} ms ({} frames)",
        ms(first[2]),
        ms(first[4]),
        ms(latencies[latencies.len() / 2]),
        ms(latencies[latencies.len() * 95 / 100]),
        latencies.len()
    );
}
