//! The PPPP session against the simulated camera over seeded lossy links, in
//! virtual time (no tokio, no sockets): all three dialects, 5% loss,
//! duplication and reordering, index wraparound, a silent camera, a camera
//! that never sends video, a rejected login, and commands reaching the camera.

// Real time: a base instant for virtual time.
#![allow(clippy::disallowed_methods)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use cam2mqtt::model::{CameraCommand, MediaFrame, NightVision};
use cam2mqtt::proto::pppp::dialect::Dialect;
use cam2mqtt::proto::pppp::session::{PpppConfig, PpppSession};
use cam2mqtt::proto::{CloseReason, SessionEvent};
use cam2mqtt::secret::Secret;
use cam2mqtt::sim::netem::NetemConfig;
use cam2mqtt::sim::pattern::read_stamp;
use cam2mqtt::sim::pppp::{PpppCamera, PpppCameraConfig, ReceivedCommand};
use support::pair::Pair;

const C_SEARCH: &str = "127.0.0.1:40000";
const C_SESSION: &str = "127.0.0.1:40001";
const D_SEARCH: &str = "127.0.0.2:32108";
const D_SESSION: &str = "127.0.0.2:41000";

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

fn camera(dialect: Dialect, tweak: impl FnOnce(&mut PpppCameraConfig)) -> PpppCameraConfig {
    let mut c = PpppCameraConfig::new(dialect);
    c.vga.width = 320;
    c.vga.height = 240;
    c.qvga.width = 160;
    c.qvga.height = 120;
    tweak(&mut c);
    c
}

fn pair(
    cam: PpppCameraConfig,
    up: NetemConfig,
    down: NetemConfig,
) -> Pair<PpppSession, PpppCamera> {
    let t0 = Instant::now();
    let mut cfg = PpppConfig::new(vec![addr(D_SEARCH)], cam2mqtt::media::jpeg::decodes);
    cfg.uid = Some(cam.uid.clone());
    let session = PpppSession::new(cfg, SystemTime::UNIX_EPOCH);
    let device = PpppCamera::new(cam, t0);
    Pair::with_sockets(
        session,
        device,
        t0,
        vec![addr(C_SEARCH), addr(C_SESSION)],
        vec![addr(D_SEARCH), addr(D_SESSION)],
        up,
        down,
    )
}

fn jpegs(events: &[SessionEvent]) -> Vec<bytes::Bytes> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Media(MediaFrame::Jpeg(j)) => Some(j.clone()),
            _ => None,
        })
        .collect()
}

fn closed(events: &[SessionEvent]) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        SessionEvent::Closed(r) => Some(r.clone()),
        _ => None,
    })
}

/// Every JPEG the bridge emits is exactly the frame the camera sent (its stamp
/// names the frame number, and the camera's frames are deterministic), in
/// order; at least 90% of the frames sent arrive.
fn check_frames(p: &Pair<PpppSession, PpppCamera>) -> usize {
    let got = jpegs(&p.events);
    let mut last = None;
    for j in &got {
        let (_, n) = read_stamp(j).expect("a stamped frame");
        assert_eq!(
            j.as_ref(),
            p.device.handle().frame_bytes(n).as_slice(),
            "frame {n} is byte-identical"
        );
        assert!(last.is_none_or(|l| n > l), "in order");
        last = Some(n);
    }
    got.len()
}

#[test]
fn all_three_dialects_deliver_exact_frames_over_a_lossy_link() {
    for (i, dialect) in [Dialect::Json, Dialect::Binary, Dialect::Cgi]
        .into_iter()
        .enumerate()
    {
        for seed in 0..3u64 {
            let s = seed + 10 * i as u64;
            let mut p = pair(camera(dialect, |_| {}), lossy(s), lossy(s + 100));
            p.run_for(Duration::from_secs(30));
            assert!(
                closed(&p.events).is_none(),
                "{dialect} seed {s}: {:?}",
                closed(&p.events)
            );
            let got = check_frames(&p);
            let sent = p.device.handle().frames_sent() as usize;
            assert!(sent >= 250, "{dialect}: the camera streamed ({sent})");
            assert!(
                got * 10 >= sent * 9,
                "{dialect} seed {s}: {got} of {sent} frames arrived"
            );
            assert!(
                p.up.stats().lost > 0 && p.down.stats().lost > 0,
                "the link lost packets"
            );
        }
    }
}

#[test]
fn indices_wrapping_past_0xffff_do_not_disturb_the_stream() {
    let cam = camera(Dialect::Json, |c| c.first_index = 0xFF00);
    let mut p = pair(cam, lossy(7), lossy(8));
    // 0x100 packets before the wrap are about 2 s of video at this size.
    p.run_for(Duration::from_secs(20));
    let got = check_frames(&p);
    let sent = p.device.handle().frames_sent() as usize;
    assert!(got * 10 >= sent * 9, "{got} of {sent}");
    assert!(sent >= 150);
    // More than 0x100 packets of at most 1024 bytes arrived: the video
    // channel's index went past 0xFFFF and back to 0.
    let bytes = p.contract.stats().media_bytes;
    assert!(bytes > 0x100 * 1024, "{bytes} bytes: the index wrapped");
}

#[test]
fn a_silent_camera_is_detected_within_6_s_and_a_new_session_finds_it_again() {
    let mut p = pair(
        camera(Dialect::Binary, |_| {}),
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
    );
    p.run_for(Duration::from_secs(3));
    assert!(!jpegs(&p.events).is_empty());
    p.device.handle().set_paused(true);
    let paused_at = p.now;
    let mut detected = None;
    for _ in 0..700 {
        p.run_for(Duration::from_millis(10));
        if closed(&p.events).is_some() {
            detected = Some(p.now - paused_at);
            break;
        }
    }
    let after = detected.expect("the session closed");
    assert!(after <= Duration::from_secs(6), "detected after {after:?}");
    assert!(matches!(closed(&p.events), Some(CloseReason::Silent(_))));
    // The camera comes back; a new session (what the camera core starts) streams again.
    p.device.handle().set_paused(false);
    let mut cfg = PpppConfig::new(vec![addr(D_SEARCH)], cam2mqtt::media::jpeg::decodes);
    cfg.uid = Some(p.device.config().uid.clone());
    p.client = PpppSession::new(cfg, SystemTime::UNIX_EPOCH);
    p.contract = Default::default();
    p.events.clear();
    cam2mqtt::proto::Session::start(&mut p.client, p.now);
    p.run_for(Duration::from_secs(8));
    assert!(!jpegs(&p.events).is_empty(), "streams again");
}

#[test]
fn a_camera_that_never_sends_video_is_asked_again_then_closed_with_a_reason() {
    let cam = camera(Dialect::Json, |c| c.quirks.no_video = true);
    let mut p = pair(cam, NetemConfig::perfect(1), NetemConfig::perfect(2));
    p.run_for(Duration::from_secs(30));
    let stream_requests = p
        .device
        .handle()
        .commands()
        .iter()
        .filter(|c| matches!(c, ReceivedCommand::Stream(_)))
        .count();
    assert!(
        stream_requests >= 2,
        "video asked for again ({stream_requests})"
    );
    let reason = closed(&p.events).expect("closed");
    assert!(matches!(reason, CloseReason::NoMedia(_)), "{reason:?}");
    assert!(reason.to_string().contains("no video"), "{reason}");
}

#[test]
fn a_rejected_login_closes_with_auth_rejected() {
    for dialect in [Dialect::Json, Dialect::Cgi] {
        let cam = camera(dialect, |c| c.quirks.reject_auth = true);
        let mut p = pair(cam, NetemConfig::perfect(1), NetemConfig::perfect(2));
        p.run_for(Duration::from_secs(12));
        let reason = closed(&p.events).expect("closed");
        assert!(
            matches!(reason, CloseReason::AuthRejected(_)),
            "{dialect}: {reason:?}"
        );
    }
}

fn command(
    p: &mut Pair<PpppSession, PpppCamera>,
    id: u64,
    cmd: CameraCommand,
) -> Result<(), String> {
    p.command(id, cmd);
    for _ in 0..200 {
        p.run_for(Duration::from_millis(50));
        if let Some(r) = p.events.iter().find_map(|e| match e {
            SessionEvent::CommandDone { id: i, result } if i.0 == id => Some(result.clone()),
            _ => None,
        }) {
            return r.map_err(|e| e.to_string());
        }
    }
    Err("no result".into())
}

#[test]
fn commands_reach_the_camera_in_every_dialect_that_has_them() {
    for dialect in [Dialect::Json, Dialect::Binary] {
        let mut p = pair(camera(dialect, |_| {}), lossy(3), lossy(4));
        p.run_for(Duration::from_secs(3));
        command(&mut p, 1, CameraCommand::NightVision(NightVision::On)).unwrap();
        assert!(p.device.handle().ir_cut(), "{dialect}: IR on");
        command(&mut p, 2, CameraCommand::Light(true)).unwrap();
        assert!(p.device.handle().light(), "{dialect}: light on");
        command(&mut p, 3, CameraCommand::SetResolution("320x240".into())).unwrap();
        p.run_for(Duration::from_secs(2));
        let last = jpegs(&p.events).last().cloned().expect("frames");
        let img = image::load_from_memory(&last).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (160, 120),
            "{dialect}: the picture got smaller"
        );
        command(
            &mut p,
            4,
            CameraCommand::Ptz(cam2mqtt::model::PtzMove::Left),
        )
        .unwrap();
        command(
            &mut p,
            5,
            CameraCommand::SetWifi {
                ssid: "cam2mqtt-lab".into(),
                password: Secret::new("correct horse"),
            },
        )
        .unwrap();
        let wifi = p.device.handle().last_wifi().expect("Wi-Fi set");
        assert_eq!(
            (wifi.ssid.as_str(), wifi.password.expose()),
            ("cam2mqtt-lab", "correct horse")
        );
        assert!(
            matches!(closed(&p.events), Some(CloseReason::LeftMode(_))),
            "{dialect}: the session ends as the camera joins the network"
        );
    }
}
