//! The demo-mode session against the simulated camera over seeded lossy links,
//! in virtual time (no tokio, no sockets, no sleeps).

// Real time: a base instant for virtual time, or timing a real subprocess.
#![allow(clippy::disallowed_methods)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cam2mqtt::model::{CameraCommand, CommandError, MediaFrame};
use cam2mqtt::proto::demo::{DemoConfig, DemoSession, FrameCheck};
use cam2mqtt::proto::{CloseReason, Session, SessionEvent};
use cam2mqtt::secret::Secret;
use cam2mqtt::sim::demo::{DemoCamera, DemoCameraConfig, SimHeader};
use cam2mqtt::sim::netem::{Netem, NetemConfig};
use cam2mqtt::sim::pattern::{read_stamp, FrameCache, PatternSpec};
use support::pair::Pair;

const CLIENT: &str = "127.0.0.1:40000";
const VIDEO: &str = "127.0.0.2:8080";
const AUDIO: &str = "127.0.0.2:8070";
const WIFI: &str = "127.0.0.2:8090";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn spec() -> PatternSpec {
    PatternSpec {
        width: 320,
        height: 240,
        ..PatternSpec::default()
    }
}

/// Exactly what the camera sends as frame `n`: the camera takes its frames
/// from a [`FrameCache`], which is deterministic, so an independent cache with
/// the same inputs re-creates them.
fn expected_frame(n: u64) -> Vec<u8> {
    thread_local! {
        static CACHE: FrameCache = FrameCache::lazy(
            spec(),
            "lossy",
            DemoCameraConfig::default().distinct_frames,
        );
    }
    CACHE.with(|c| c.frame(n))
}

fn pair(
    up: NetemConfig,
    down: NetemConfig,
    check: FrameCheck,
    header: SimHeader,
) -> Pair<DemoSession, DemoCamera> {
    let t0 = Instant::now();
    let mut cfg = DemoConfig::new(
        addr(VIDEO),
        addr(AUDIO),
        addr(WIFI),
        cam2mqtt::media::jpeg::decodes,
    );
    cfg.frame_check = check;
    let cam = DemoCamera::new(
        DemoCameraConfig {
            label: "lossy".into(),
            pattern: spec(),
            fps: 10,
            header,
            ..DemoCameraConfig::default()
        },
        t0,
    );
    Pair::new(
        DemoSession::new(cfg),
        cam,
        t0,
        addr(CLIENT),
        vec![addr(VIDEO), addr(AUDIO), addr(WIFI)],
        up,
        down,
    )
}

/// Session and camera over links that lose nothing.
fn clean_pair(check: FrameCheck, header: SimHeader) -> Pair<DemoSession, DemoCamera> {
    pair(
        NetemConfig::perfect(1),
        NetemConfig::perfect(2),
        check,
        header,
    )
}

fn lossy(seed: u64) -> NetemConfig {
    NetemConfig {
        loss: 0.10,
        reorder: 0.10,
        duplicate: 0.02,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(3),
        ..NetemConfig::perfect(seed)
    }
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

/// Every frame the bridge emits must be exactly a frame the camera rendered:
/// the stamp names the frame number, and the frame cache is deterministic, so
/// the expected bytes are recomputed independently of the wire.
#[test]
fn ten_percent_loss_with_reordering_never_yields_a_corrupt_jpeg() {
    let mut total_ok = 0;
    for seed in 0..5 {
        let mut p = pair(
            lossy(seed),
            lossy(seed + 100),
            FrameCheck::Header,
            SimHeader::Beken,
        );
        p.run_for(Duration::from_secs(20));
        let frames = jpegs(&p.events);
        let mut last = None;
        for j in &frames {
            let (label, n) = read_stamp(j).expect("emitted frame carries the simulator's stamp");
            assert_eq!(label, "lossy");
            assert_eq!(
                j.as_ref(),
                expected_frame(n).as_slice(),
                "seed {seed}: frame {n} corrupt"
            );
            assert!(
                last.is_none_or(|l| n > l),
                "seed {seed}: frames out of order"
            );
            last = Some(n);
        }
        let dropped = p
            .events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Stats(s) => Some(s.frames_dropped),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        assert!(dropped > 0, "seed {seed}: 10% loss must cost frames");
        total_ok += frames.len();
    }
    assert!(
        total_ok > 30,
        "some frames get through ({total_ok} over 5 runs)"
    );
}

#[test]
fn lossless_link_delivers_every_frame_in_order() {
    let mut p = clean_pair(FrameCheck::Header, SimHeader::Beken);
    p.run_for(Duration::from_secs(5));
    let stamps: Vec<u64> = jpegs(&p.events)
        .iter()
        .map(|j| read_stamp(j).unwrap().1)
        .collect();
    assert!(
        stamps.len() >= 48,
        "{} frames in 5 s at 10 fps",
        stamps.len()
    );
    assert!(
        stamps.windows(2).all(|w| w[1] == w[0] + 1),
        "no gaps: {stamps:?}"
    );
    assert!(matches!(p.events.first(), Some(SessionEvent::Streaming(_))));
}

#[test]
fn markers_policy_works_with_a_non_beken_header() {
    let mut p = clean_pair(FrameCheck::Markers, SimHeader::Opaque);
    p.run_for(Duration::from_secs(3));
    let frames = jpegs(&p.events);
    assert!(frames.len() >= 25);
    for j in frames {
        let n = read_stamp(&j).unwrap().1;
        assert_eq!(j.as_ref(), expected_frame(n).as_slice());
    }
}

#[test]
fn header_policy_rejects_a_non_beken_stream_instead_of_publishing_garbage() {
    let mut p = clean_pair(FrameCheck::Header, SimHeader::Opaque);
    p.run_for(Duration::from_secs(3));
    for j in jpegs(&p.events) {
        let n = read_stamp(&j).expect("only real frames");
        assert_eq!(j.as_ref(), expected_frame(n.1).as_slice());
    }
    // What it could not verify it counted as dropped, not silently ignored.
    let sent = p.device.handle().frames_sent();
    let stats = p.contract.stats();
    assert!(sent >= 20, "the camera streamed ({sent} frames)");
    assert!(
        stats.frames_dropped >= sent / 2,
        "most of {sent} unverifiable frames counted as dropped: {stats:?}"
    );
}

#[test]
fn start_request_is_retried_until_video_flows() {
    // Every request is lost for 2.5 s (a camera still booting); the session keeps asking.
    let up = NetemConfig {
        loss: 1.0,
        ..NetemConfig::perfect(3)
    };
    let mut p = pair(
        up,
        NetemConfig::perfect(4),
        FrameCheck::Header,
        SimHeader::Beken,
    );
    p.run_for(Duration::from_millis(2500));
    assert!(jpegs(&p.events).is_empty());
    p.up = Netem::new(NetemConfig::perfect(5));
    p.run_for(Duration::from_secs(3));
    assert!(
        !jpegs(&p.events).is_empty(),
        "video flows once requests get through"
    );
    let starts = p
        .client_sent
        .iter()
        .filter(|(_, to, bytes)| *to == addr(VIDEO) && bytes.as_slice() == [0x42, 0x76])
        .count();
    assert!(starts >= 3, "the start request was sent {starts} times");
}

#[test]
fn a_camera_that_falls_silent_closes_the_session() {
    let mut p = clean_pair(FrameCheck::Header, SimHeader::Beken);
    p.run_for(Duration::from_secs(2));
    p.device.handle().set_paused(true);
    p.run_for(Duration::from_secs(11));
    assert!(
        matches!(
            p.events.last(),
            Some(SessionEvent::Closed(CloseReason::Silent(_)))
        ),
        "{:?}",
        p.events.last()
    );
    assert!(p.client.is_closed());
}

fn command(p: &mut Pair<DemoSession, DemoCamera>, id: u64, cmd: CameraCommand) {
    p.command(id, cmd);
}

fn result_of(events: &[SessionEvent], id: u64) -> Option<Result<(), CommandError>> {
    events.iter().find_map(|e| match e {
        SessionEvent::CommandDone { id: i, result } if i.0 == id => Some(result.clone()),
        _ => None,
    })
}

#[test]
fn wifi_setup_reaches_the_camera_byte_for_byte() {
    let mut p = clean_pair(FrameCheck::Header, SimHeader::Beken);
    p.run_for(Duration::from_secs(1));
    command(
        &mut p,
        7,
        CameraCommand::SetWifi {
            ssid: "home".into(),
            password: Secret::new("p4ssw0rd!"),
        },
    );
    p.run_for(Duration::from_secs(1));
    assert_eq!(result_of(&p.events, 7), Some(Ok(())));
    let recs = p.device.handle().wifi_requests();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].raw, b"\x66home###p4ssw0rd!\x00\x99");
    // The camera now leaves demo mode; so does the session, saying why.
    assert!(
        matches!(
            p.events.last(),
            Some(SessionEvent::Closed(CloseReason::LeftMode(_)))
        ),
        "{:?}",
        p.events.last()
    );
}

#[test]
fn wifi_setup_retries_then_reports_a_camera_that_does_not_answer() {
    let up = NetemConfig {
        loss: 1.0,
        ..NetemConfig::perfect(1)
    };
    let mut p = pair(
        up,
        NetemConfig::perfect(2),
        FrameCheck::Header,
        SimHeader::Beken,
    );
    command(
        &mut p,
        1,
        CameraCommand::SetWifi {
            ssid: "home".into(),
            password: Secret::new("p4ssw0rd!"),
        },
    );
    p.run_for(Duration::from_secs(4));
    let err = result_of(&p.events, 1).expect("a result").unwrap_err();
    assert!(matches!(err, CommandError::TimedOut { .. }));
    assert!(
        err.to_string().contains("no answer to Wi-Fi setup"),
        "{err}"
    );
    assert!(!err.to_string().contains("p4ssw0rd"));
    assert!(p.up.stats().sent >= 3, "the request was resent");
}

#[test]
fn invalid_wifi_values_and_unsupported_commands_are_refused_without_sending() {
    let mut p = clean_pair(FrameCheck::Header, SimHeader::Beken);
    command(
        &mut p,
        1,
        CameraCommand::SetWifi {
            ssid: "x".repeat(40),
            password: Secret::default(),
        },
    );
    command(&mut p, 2, CameraCommand::Reboot);
    p.run_for(Duration::from_millis(100));
    let e1 = result_of(&p.events, 1).unwrap().unwrap_err().to_string();
    assert!(e1.contains("at most 31"), "{e1}");
    assert!(matches!(
        result_of(&p.events, 2),
        Some(Err(CommandError::Unsupported { .. }))
    ));
    assert!(p.device.handle().wifi_requests().is_empty());
}
