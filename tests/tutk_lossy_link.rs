//! The Wyze (TUTK) session against the independently written camera
//! simulator over seeded lossy links, in virtual time (no tokio, no sockets):
//! both IOTC transports under 5% loss, duplication and reordering never
//! deliver a corrupt frame and recover at the next keyframe; a wrong ENR is
//! `auth_failed`; a camera updating its firmware is reported, not crashed on;
//! a paused camera is silent within 6 s; commands reach the camera as the
//! right K-commands.

// Real time: a base instant for virtual time.
#![allow(clippy::disallowed_methods)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use cam2mqtt::model::{CameraCommand, MediaFrame, NightVision, VideoCodec};
use cam2mqtt::proto::tutk::auth::ChallengeStatus;
use cam2mqtt::proto::tutk::kcmd::{self, id, FrameSize};
use cam2mqtt::proto::tutk::session::{TutkConfig, TutkSession};
use cam2mqtt::proto::{CloseReason, SessionEvent};
use cam2mqtt::sim::netem::NetemConfig;
use cam2mqtt::sim::tutk::{Transport, TutkCamera, TutkCameraConfig, TutkQuirks};
use cam2mqtt::sim::video::TestVideo;
use support::pair::Pair;

const CLIENT: &str = "127.0.0.1:40000";
const CAMERA: &str = "127.0.0.2:32761";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn lossy(seed: u64) -> NetemConfig {
    NetemConfig {
        loss: 0.05,
        reorder: 0.05,
        duplicate: 0.05,
        delay: Duration::from_millis(3),
        jitter: Duration::from_millis(2),
        ..NetemConfig::perfect(seed)
    }
}

fn pair(
    cam: TutkCameraConfig,
    enr: &str,
    up: NetemConfig,
    down: NetemConfig,
) -> Pair<TutkSession, TutkCamera> {
    let t0 = Instant::now();
    let cfg = TutkConfig::new(
        &cam.uid,
        cam2mqtt::secret::Secret::new(enr),
        &cam.mac,
        addr(CAMERA),
    );
    let session = TutkSession::new(
        cfg,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    );
    let device = TutkCamera::new(cam, t0);
    Pair::new(
        session,
        device,
        t0,
        addr(CLIENT),
        vec![addr(CAMERA)],
        up,
        down,
    )
}

fn closed(events: &[SessionEvent]) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        SessionEvent::Closed(r) => Some(r.clone()),
        _ => None,
    })
}

/// Every delivered frame is byte-identical to an access unit of the clip,
/// and a decoder can take it: a keyframe, or the access unit that follows
/// the one delivered before (no loss reported in between). Returns the number
/// of frames delivered and of losses reported.
fn check_frames(events: &[SessionEvent], size: FrameSize) -> (usize, usize) {
    let (w, h) = size.dimensions();
    let gop = TestVideo::clip(VideoCodec::H264, w, h).expect("the clip exists");
    let index_of = |data: &[u8]| gop.iter().position(|au| au.data.as_ref() == data);
    let (mut frames, mut losses) = (0, 0);
    let mut last: Option<usize> = None;
    for e in events {
        match e {
            SessionEvent::Media(MediaFrame::Video(v)) => {
                let i =
                    index_of(&v.data).expect("a delivered frame is exactly one the camera sent");
                assert_eq!(v.keyframe, gop[i].keyframe);
                if !v.keyframe {
                    let prev = last.expect("never a P-frame without its keyframe");
                    assert_eq!(
                        i,
                        (prev + 1) % gop.len(),
                        "a P-frame right after its predecessor"
                    );
                }
                last = Some(i);
                frames += 1;
            }
            SessionEvent::Media(MediaFrame::VideoLost) => {
                losses += 1;
                last = None;
            }
            _ => {}
        }
    }
    (frames, losses)
}

#[test]
fn both_transports_deliver_exact_decodable_frames_over_a_lossy_link() {
    for (transport, seed) in [
        (Transport::TransCode, 1),
        (Transport::Cc51, 2),
        (Transport::TransCode, 3),
    ] {
        let cam = TutkCameraConfig {
            transport,
            seed,
            ..TutkCameraConfig::default()
        };
        let enr = cam.enr.expose().to_string();
        let mut p = pair(cam, &enr, lossy(seed * 10), lossy(seed * 10 + 1));
        p.run_for(Duration::from_secs(30));
        let events = p.take_events();
        assert_eq!(closed(&events), None, "{transport:?}");
        let (frames, losses) = check_frames(&events, FrameSize::Sd360);
        let sent = p.device.handle().frames_sent() as usize;
        assert!(frames > 100, "{transport:?}: {frames} of {sent} frames");
        // 5% of packets lost: frames of several pieces are lost more often,
        // and each loss costs the rest of the GOP at worst.
        assert!(losses > 0, "{transport:?}: the link lost something");
        assert!(
            frames * 10 >= sent * 3,
            "{transport:?}: {frames} of {sent} delivered"
        );
    }
}

#[test]
fn after_a_loss_the_session_asks_for_a_keyframe() {
    let cam = TutkCameraConfig::default();
    let enr = cam.enr.expose().to_string();
    let mut p = pair(cam, &enr, lossy(7), lossy(8));
    p.run_for(Duration::from_secs(20));
    let events = p.take_events();
    let (_, losses) = check_frames(&events, FrameSize::Sd360);
    assert!(losses > 0);
    // The keyframe request re-sends K10056 with the current size.
    let asks = p.device.handle().commands_with_id(id::RESOLUTION);
    assert!(!asks.is_empty(), "K10056 re-sent after a loss");
    assert!(asks
        .iter()
        .all(|c| c.payload == kcmd::resolution(FrameSize::Sd360, 0)));
}

#[test]
fn a_wrong_enr_is_auth_failed_and_an_updating_camera_is_reported() {
    // The ENR the cloud lists no longer matches the camera's DTLS key (the
    // AuthKey still matches, so the camera answers the Disco).
    let cam = TutkCameraConfig {
        quirks: TutkQuirks {
            wrong_enr: true,
            ..TutkQuirks::default()
        },
        ..TutkCameraConfig::default()
    };
    let enr = cam.enr.expose().to_string();
    let mut p = pair(cam, &enr, NetemConfig::perfect(1), NetemConfig::perfect(2));
    p.run_for(Duration::from_secs(15));
    let r = closed(&p.take_events()).expect("closed");
    assert!(matches!(r, CloseReason::AuthRejected(_)), "{r:?}");
    assert!(!r.to_string().contains(&enr));
    // An ENR that does not even give the camera's AuthKey gets no answer at
    // all: the camera ignores the Disco. The session says what to check
    // instead of calling the camera silent.
    let mut p = pair(
        TutkCameraConfig::default(),
        "not-the-cameras-enr-0123456789ab",
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_for(Duration::from_secs(15));
    let r = closed(&p.take_events()).expect("closed");
    assert!(
        matches!(&r, CloseReason::Unanswered(t) if t.contains("check the ENR and MAC")),
        "{r:?}"
    );
    assert!(!r.to_string().contains("not-the-cameras-enr"));
    for (status, text) in [(2, "updating"), (4, "checking"), (5, "off")] {
        let cam = TutkCameraConfig {
            auth_status: ChallengeStatus::from_byte(status),
            ..TutkCameraConfig::default()
        };
        let enr = cam.enr.expose().to_string();
        let mut p = pair(cam, &enr, NetemConfig::perfect(1), NetemConfig::perfect(2));
        p.run_for(Duration::from_secs(10));
        let r = closed(&p.take_events()).expect("closed");
        assert!(
            matches!(&r, CloseReason::Unavailable(t) if t.contains(text)),
            "{status}: {r:?}"
        );
    }
}

#[test]
fn every_challenge_status_authenticates() {
    for status in [1, 3, 6] {
        let cam = TutkCameraConfig {
            auth_status: ChallengeStatus::from_byte(status),
            ..TutkCameraConfig::default()
        };
        let enr = cam.enr.expose().to_string();
        let mut p = pair(cam, &enr, NetemConfig::perfect(1), NetemConfig::perfect(2));
        p.run_for(Duration::from_secs(3));
        let events = p.take_events();
        assert_eq!(closed(&events), None, "status {status}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SessionEvent::Streaming(_))),
            "status {status}"
        );
    }
}

#[test]
fn a_paused_camera_is_silent_within_6_s() {
    let cam = TutkCameraConfig::default();
    let enr = cam.enr.expose().to_string();
    let mut p = pair(cam, &enr, NetemConfig::perfect(1), NetemConfig::perfect(2));
    p.run_for(Duration::from_secs(3));
    p.device.handle().set_paused(true);
    let paused_at = p.now;
    p.run_for(Duration::from_secs(8));
    let events = p.take_events();
    let r = closed(&events).expect("closed");
    assert!(matches!(r, CloseReason::Silent(_)), "{r:?}");
    assert!(p.now.duration_since(paused_at) <= Duration::from_secs(8));
}

#[test]
fn commands_reach_the_camera_as_k_commands_and_change_the_picture_size() {
    let cam = TutkCameraConfig::default();
    let enr = cam.enr.expose().to_string();
    let mut p = pair(cam, &enr, NetemConfig::perfect(1), NetemConfig::perfect(2));
    p.run_for(Duration::from_secs(2));
    p.command(1, CameraCommand::SetResolution("1280x720".into()));
    p.command(2, CameraCommand::NightVision(NightVision::On));
    p.command(3, CameraCommand::Light(false));
    p.run_for(Duration::from_secs(3));
    let events = p.take_events();
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::CommandDone { id, result } => Some((id.0, result.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    let h = p.device.handle();
    assert_eq!(h.resolution(), FrameSize::Hd720);
    assert_eq!(h.night_vision(), 1);
    assert_eq!(h.status_light(), 2);
    assert!(h
        .commands_with_id(id::NIGHT_VISION_SET)
        .iter()
        .any(|c| c.payload == [1]));
    // The frames after the switch are the 720p clip, starting with its keyframe.
    let after: Vec<_> = events
        .iter()
        .skip_while(|e| !matches!(e, SessionEvent::CommandDone { .. }))
        .filter_map(|e| match e {
            SessionEvent::Media(MediaFrame::Video(v)) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let gop = TestVideo::clip(VideoCodec::H264, 1280, 720).unwrap();
    let first720 = after
        .iter()
        .position(|v| gop.iter().any(|au| au.data == v.data))
        .expect("720p frames");
    assert!(after[first720].keyframe);
}
