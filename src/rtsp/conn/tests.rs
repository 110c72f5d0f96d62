//! The requests ffmpeg, VLC and go2rtc send (RTSP/1.0 text), and the answers.

use std::cell::Cell;

use super::*;
use crate::config::HttpConfig;
use crate::rtsp::sdp::{AudioTrack, VideoTrack};
use crate::secret::Secret;

/// One camera, `door`, with A-law audio and a speaker; ready or not.
struct OneCamera {
    ready: Cell<bool>,
}

/// The camera, ready.
fn cam() -> OneCamera {
    OneCamera {
        ready: Cell::new(true),
    }
}

impl Catalog for OneCamera {
    fn describe(&self, camera: &str, stream: Option<&str>, backchannel: bool) -> Lookup {
        if camera != "door" || stream.is_some() {
            return Lookup::Unknown;
        }
        if !self.ready.get() {
            return Lookup::NotReady;
        }
        Lookup::Found(Description {
            name: "Door".into(),
            video: VideoTrack::Jpeg,
            audio: Some(AudioTrack::Pcma),
            backchannel,
            session_id: 7,
        })
    }
}

fn conn_with(peer: &str, user: &str, password: &str) -> (Conn, Instant) {
    let now = crate::io::clock::now();
    let http = HttpConfig {
        username: user.into(),
        password: Secret::new(password),
        ..HttpConfig::default()
    };
    let cfg = ConnConfig {
        session_id: "5EC0A1".into(),
        peer: peer.parse().unwrap(),
        access: Arc::new(Access::from_config(&http, [1; 16])),
        udp_ports: Some((6970, 6971)),
        epoch: now,
    };
    (Conn::new(cfg, now), now)
}

fn conn() -> (Conn, Instant) {
    conn_with("127.0.0.1:40000", "", "")
}

fn text(c: &mut Conn) -> String {
    let mut s = String::new();
    while let Some(b) = c.poll_transmit() {
        s.push_str(&String::from_utf8_lossy(&b));
    }
    s
}

fn events(c: &mut Conn) -> Vec<ConnEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

#[test]
fn options_describe_setup_play_teardown_over_tcp() {
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"OPTIONS rtsp://127.0.0.1:8554/door RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf\r\n\r\n",
        &cam(),
    );
    let r = text(&mut c);
    assert!(r.starts_with("RTSP/1.0 200 "), "{r}");
    assert!(
        r.contains("CSeq: 1\r\n")
            && r.contains("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"),
        "{r}"
    );

    c.handle_bytes(now, b"DESCRIBE rtsp://127.0.0.1:8554/door RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n", &cam());
    let r = text(&mut c);
    assert!(r.starts_with("RTSP/1.0 200 "), "{r}");
    assert!(r.contains("Content-Type: application/sdp\r\n"), "{r}");
    assert!(
        r.contains("Content-Base: rtsp://127.0.0.1:8554/door/\r\n"),
        "{r}"
    );
    assert!(
        r.contains("m=video 0 RTP/AVP 26") && r.contains("m=audio 0 RTP/AVP 8"),
        "{r}"
    );
    assert!(!r.contains("sendonly"), "no back-channel unless asked: {r}");

    c.handle_bytes(now, b"SETUP rtsp://127.0.0.1:8554/door/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n", &cam());
    let r = text(&mut c);
    assert!(
        r.contains("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"),
        "{r}"
    );
    assert!(r.contains("Session: 5EC0A1;timeout=60\r\n"), "{r}");
    c.handle_bytes(now, b"SETUP rtsp://127.0.0.1:8554/door/trackID=1 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\nSession: 5EC0A1\r\n\r\n", &cam());
    assert!(text(&mut c).contains("interleaved=2-3"));

    c.handle_bytes(now, b"PLAY rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 5\r\nSession: 5EC0A1\r\nRange: npt=0.000-\r\n\r\n", &cam());
    assert!(text(&mut c).starts_with("RTSP/1.0 200 "));
    assert_eq!(
        events(&mut c),
        [ConnEvent::Play {
            camera: "door".into(),
            tracks: vec![
                TrackSetup {
                    track: 0,
                    kind: TrackKind::Video,
                    delivery: Delivery::Tcp { channel: 0 }
                },
                TrackSetup {
                    track: 1,
                    kind: TrackKind::Audio,
                    delivery: Delivery::Tcp { channel: 2 }
                },
            ],
        }]
    );

    c.handle_bytes(
        now,
        b"GET_PARAMETER rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 6\r\nSession: 5EC0A1\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).contains("CSeq: 6"));
    c.handle_bytes(
        now,
        b"TEARDOWN rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 7\r\nSession: 5EC0A1\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 200 "));
    assert_eq!(events(&mut c), [ConnEvent::Teardown]);
}

#[test]
fn udp_delivery_goes_to_the_clients_ports_from_the_servers_pair() {
    let (mut c, now) = conn_with("127.0.0.5:40000", "", "");
    c.handle_bytes(now, b"SETUP rtsp://h/door/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n", &cam());
    let r = text(&mut c);
    assert!(
        r.contains("Transport: RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971\r\n"),
        "{r}"
    );
    c.handle_bytes(
        now,
        b"PLAY rtsp://h/door RTSP/1.0\r\nCSeq: 4\r\nSession: 5EC0A1\r\n\r\n",
        &cam(),
    );
    text(&mut c);
    let ip: std::net::IpAddr = "127.0.0.5".parse().unwrap();
    assert_eq!(
        events(&mut c),
        [ConnEvent::Play {
            camera: "door".into(),
            tracks: vec![TrackSetup {
                track: 0,
                kind: TrackKind::Video,
                delivery: Delivery::Udp {
                    rtp: SocketAddr::new(ip, 5000),
                    rtcp: SocketAddr::new(ip, 5001)
                }
            }],
        }]
    );
}

#[test]
fn requests_split_across_reads_and_pipelined_are_all_answered() {
    let (mut c, now) = conn();
    let two = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n";
    c.handle_bytes(now, &two[..10], &cam());
    assert_eq!(text(&mut c), "");
    c.handle_bytes(now, &two[10..], &cam());
    let r = text(&mut c);
    assert!(r.contains("CSeq: 1") && r.contains("CSeq: 2"), "{r}");
}

#[test]
fn unknown_cameras_streams_sessions_and_transports_get_their_status_codes() {
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/nope RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 404"));
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door/sub RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 404"), "no sub-stream");
    c.handle_bytes(
        now,
        b"PLAY rtsp://h/door RTSP/1.0\r\nCSeq: 2\r\nSession: other\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 454"));
    c.handle_bytes(now, b"SETUP rtsp://h/door/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;multicast\r\n\r\n", &cam());
    assert!(text(&mut c).starts_with("RTSP/1.0 461"), "no multicast");
    c.handle_bytes(now, b"SETUP rtsp://h/door/trackID=9 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n", &cam());
    assert!(text(&mut c).starts_with("RTSP/1.0 404"), "no such track");
    assert!(events(&mut c).is_empty());
}

#[test]
fn a_camera_name_may_be_percent_encoded() {
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/%64oor RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &cam(),
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 200"));
}

#[test]
fn a_client_asking_for_the_backchannel_gets_a_sendonly_track_and_its_audio_is_passed_on() {
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n",
        &cam(),
    );
    let r = text(&mut c);
    assert!(r.contains("a=sendonly") && r.contains("trackID=2"), "{r}");
    c.handle_bytes(now, b"SETUP rtsp://h/door/trackID=2 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=4-5\r\n\r\n", &cam());
    c.handle_bytes(
        now,
        b"PLAY rtsp://h/door RTSP/1.0\r\nCSeq: 3\r\nSession: 5EC0A1\r\n\r\n",
        &cam(),
    );
    text(&mut c);
    assert!(
        matches!(&events(&mut c)[..], [ConnEvent::Play { tracks, .. }] if tracks[0].kind == TrackKind::Backchannel)
    );
    // Interleaved RTP on the back-channel's channel; RTCP on 5 is not audio.
    c.handle_bytes(now, b"$\x04\x00\x03abc$\x05\x00\x01x", &cam());
    assert_eq!(events(&mut c), [ConnEvent::Backchannel(b"abc".to_vec())]);
}

#[test]
fn a_describe_waits_for_the_cameras_first_picture_and_holds_what_follows() {
    let cam = OneCamera {
        ready: Cell::new(false),
    };
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n",
        &cam,
    );
    assert_eq!(text(&mut c), "", "nothing answered out of order");
    assert_eq!(
        events(&mut c),
        [ConnEvent::Wait {
            camera: "door".into()
        }]
    );
    cam.ready.set(true);
    c.retry(now, &cam, false);
    let r = text(&mut c);
    let (first, second) = (r.find("CSeq: 1").unwrap(), r.find("CSeq: 2").unwrap());
    assert!(r.starts_with("RTSP/1.0 200") && first < second, "{r}");

    // A camera that never shows a picture: 503 at the end.
    let cam = OneCamera {
        ready: Cell::new(false),
    };
    let (mut c, now) = conn();
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &cam,
    );
    c.retry(now, &cam, true);
    assert!(text(&mut c).starts_with("RTSP/1.0 503"));
}

#[test]
fn credentials_are_asked_for_before_any_camera_is_looked_up() {
    struct Never;
    impl Catalog for Never {
        fn describe(&self, _: &str, _: Option<&str>, _: bool) -> Lookup {
            panic!("a camera was looked up for an unauthenticated client")
        }
    }
    let (mut c, now) = conn_with("192.168.1.9:4000", "viewer", "s3cret");
    c.handle_bytes(now, b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", &Never);
    assert!(text(&mut c).starts_with("RTSP/1.0 200"), "OPTIONS is free");
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 2\r\n\r\n",
        &Never,
    );
    let r = text(&mut c);
    assert!(r.starts_with("RTSP/1.0 401"), "{r}");
    assert!(
        r.contains("WWW-Authenticate: Digest realm=\"cam2mqtt\", nonce=\"")
            && r.contains("WWW-Authenticate: Basic realm=\"cam2mqtt\""),
        "{r}"
    );
    let wrong = format!(
        "DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic {}\r\n\r\n",
        data_encoding::BASE64.encode(b"viewer:guess")
    );
    c.handle_bytes(now, wrong.as_bytes(), &Never);
    assert!(text(&mut c).starts_with("RTSP/1.0 401"));
    let right = format!(
        "DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 4\r\nAuthorization: Basic {}\r\n\r\n",
        data_encoding::BASE64.encode(b"viewer:s3cret")
    );
    c.handle_bytes(now, right.as_bytes(), &cam());
    assert!(text(&mut c).starts_with("RTSP/1.0 200"));

    // No credentials set: a client on the LAN is told why.
    let (mut c, now) = conn_with("192.168.1.9:4000", "", "");
    c.handle_bytes(
        now,
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &Never,
    );
    let r = text(&mut c);
    assert!(
        r.starts_with("RTSP/1.0 403") && r.contains("http.username"),
        "{r}"
    );
}

#[test]
fn a_session_nobody_keeps_alive_ends() {
    let (mut c, now) = conn();
    c.handle_bytes(now, b"SETUP rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n", &cam());
    text(&mut c);
    let limit = Duration::from_secs(u64::from(SESSION_TIMEOUT_S));
    c.touch(now + Duration::from_secs(30)); // an RTCP receiver report
    assert_eq!(
        c.poll_timeout(),
        Some(now + Duration::from_secs(30) + limit)
    );
    c.handle_timeout(now + limit);
    assert!(events(&mut c).is_empty());
    c.handle_timeout(now + Duration::from_secs(30) + limit);
    assert_eq!(events(&mut c), [ConnEvent::Teardown, ConnEvent::Close]);
    assert!(c.is_closed());
}

#[test]
fn garbage_gets_400_and_ends_the_connection() {
    let (mut c, now) = conn();
    c.handle_bytes(now, b"\x16\x03\x01 this is TLS, not RTSP\r\n\r\n", &cam());
    assert!(text(&mut c).contains("400"));
    assert_eq!(events(&mut c), [ConnEvent::Close]);
    // A request that never ends is bounded too.
    let (mut c, now) = conn();
    c.handle_bytes(now, b"OPTIONS * RTSP/1.0\r\nX-Long: ", &cam());
    c.handle_bytes(now, &vec![b'a'; MAX_PENDING + 10], &cam());
    assert_eq!(events(&mut c), [ConnEvent::Close]);
}

proptest::proptest! {
    #[test]
    fn hostile_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..8)) {
        let (mut c, now) = conn();
        for ch in chunks {
            c.handle_bytes(now, &ch, &cam());
            while c.poll_transmit().is_some() {}
        }
    }
}
