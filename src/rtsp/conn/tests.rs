//! The requests ffmpeg, VLC and go2rtc send (RTSP/1.0 text), and the answers.

use super::*;
use crate::rtsp::sdp::{AudioTrack, VideoTrack};

struct OneCamera;

impl Catalog for OneCamera {
    fn describe(&self, camera: &str, backchannel: bool) -> Option<Description> {
        (camera == "door").then(|| Description {
            name: "Door".into(),
            video: VideoTrack::Jpeg,
            audio: Some(AudioTrack::Pcma),
            backchannel,
            session_id: 7,
        })
    }
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
    let mut c = Conn::new("5EC0A1".into());
    c.handle_bytes(
        b"OPTIONS rtsp://127.0.0.1:8554/door RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf\r\n\r\n",
        &OneCamera,
    );
    let r = text(&mut c);
    assert!(r.starts_with("RTSP/1.0 200 "), "{r}");
    assert!(
        r.contains("CSeq: 1\r\n")
            && r.contains("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"),
        "{r}"
    );

    c.handle_bytes(b"DESCRIBE rtsp://127.0.0.1:8554/door RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n", &OneCamera);
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

    c.handle_bytes(b"SETUP rtsp://127.0.0.1:8554/door/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n", &OneCamera);
    let r = text(&mut c);
    assert!(
        r.contains("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"),
        "{r}"
    );
    assert!(r.contains("Session: 5EC0A1;timeout=60\r\n"), "{r}");
    c.handle_bytes(b"SETUP rtsp://127.0.0.1:8554/door/trackID=1 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\nSession: 5EC0A1\r\n\r\n", &OneCamera);
    assert!(text(&mut c).contains("interleaved=2-3"));

    c.handle_bytes(b"PLAY rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 5\r\nSession: 5EC0A1\r\nRange: npt=0.000-\r\n\r\n", &OneCamera);
    assert!(text(&mut c).starts_with("RTSP/1.0 200 "));
    assert_eq!(
        events(&mut c),
        [ConnEvent::Play {
            camera: "door".into(),
            tracks: vec![
                Interleaved { track: 0, rtp: 0 },
                Interleaved { track: 1, rtp: 2 }
            ],
        }]
    );

    c.handle_bytes(
        b"GET_PARAMETER rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 6\r\nSession: 5EC0A1\r\n\r\n",
        &OneCamera,
    );
    assert!(text(&mut c).contains("CSeq: 6"));
    c.handle_bytes(
        b"TEARDOWN rtsp://127.0.0.1:8554/door/ RTSP/1.0\r\nCSeq: 7\r\nSession: 5EC0A1\r\n\r\n",
        &OneCamera,
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 200 "));
    assert_eq!(events(&mut c), [ConnEvent::Teardown]);
}

#[test]
fn requests_split_across_reads_and_pipelined_are_all_answered() {
    let mut c = Conn::new("S".into());
    let two = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n";
    c.handle_bytes(&two[..10], &OneCamera);
    assert_eq!(text(&mut c), "");
    c.handle_bytes(&two[10..], &OneCamera);
    let r = text(&mut c);
    assert!(r.contains("CSeq: 1") && r.contains("CSeq: 2"), "{r}");
}

#[test]
fn unknown_cameras_sessions_and_transports_get_their_status_codes() {
    let mut c = Conn::new("S".into());
    c.handle_bytes(
        b"DESCRIBE rtsp://h/nope RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        &OneCamera,
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 404"));
    c.handle_bytes(
        b"PLAY rtsp://h/door RTSP/1.0\r\nCSeq: 2\r\nSession: other\r\n\r\n",
        &OneCamera,
    );
    assert!(text(&mut c).starts_with("RTSP/1.0 454"));
    c.handle_bytes(b"SETUP rtsp://h/door/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n", &OneCamera);
    assert!(
        text(&mut c).starts_with("RTSP/1.0 461"),
        "UDP is not offered yet"
    );
    assert!(events(&mut c).is_empty());
}

#[test]
fn a_client_asking_for_the_backchannel_gets_a_sendonly_track() {
    let mut c = Conn::new("S".into());
    c.handle_bytes(
        b"DESCRIBE rtsp://h/door RTSP/1.0\r\nCSeq: 1\r\nRequire: www.onvif.org/ver20/backchannel\r\n\r\n",
        &OneCamera,
    );
    let r = text(&mut c);
    assert!(r.contains("a=sendonly") && r.contains("trackID=2"), "{r}");
}

#[test]
fn garbage_gets_400_and_ends_the_connection() {
    let mut c = Conn::new("S".into());
    c.handle_bytes(b"\x16\x03\x01 this is TLS, not RTSP\r\n\r\n", &OneCamera);
    assert!(text(&mut c).contains("400"));
    assert_eq!(events(&mut c), [ConnEvent::Close]);
    // A request that never ends is bounded too.
    let mut c = Conn::new("S".into());
    c.handle_bytes(b"OPTIONS * RTSP/1.0\r\nX-Long: ", &OneCamera);
    c.handle_bytes(&vec![b'a'; MAX_PENDING + 10], &OneCamera);
    assert_eq!(events(&mut c), [ConnEvent::Close]);
}

proptest::proptest! {
    #[test]
    fn hostile_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..8)) {
        let mut c = Conn::new("S".into());
        for ch in chunks {
            c.handle_bytes(&ch, &OneCamera);
            while c.poll_transmit().is_some() {}
        }
    }
}
