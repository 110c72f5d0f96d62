//! `DemoSession` driven like `io::driver` drives it, but by the fuzzer: arbitrary
//! datagrams from the camera's video, audio and command ports (and from a
//! stranger), arbitrary clock jumps and timeouts, and commands. After every
//! call `poll_transmit` and `poll_event` are drained until both are empty (the
//! drain contract in `proto/mod.rs`).
//!
//! Must never panic. Also checked: `Closed` is emitted at most once and
//! `is_closed` agrees with it; a closed session disowns datagrams; `Streaming`
//! comes once and before any frame; frames are JPEGs within `max_frame_bytes`;
//! datagrams go only to the camera's three ports; every `CommandDone` answers a
//! command that was issued and answers it once; stats never go backwards.
#![no_main]

// The protocol-neutral drain-contract checks, shared with every `Pair` test.
#[path = "../../support/contract.rs"]
#[allow(dead_code)]
mod contract;

use contract::ContractChecker;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use cam2mqtt::model::{CameraCommand, MediaFrame};
use cam2mqtt::proto::demo::wire::{VideoHeader, EOI, SOI};
use cam2mqtt::proto::demo::{AudioStart, DemoConfig, DemoSession, FrameCheck};
use cam2mqtt::proto::{CommandId, Datagram, Handled, Session, SessionEvent, SocketIx};
use cam2mqtt::secret::Secret;
use cam2mqtt::sim::pattern::{render_jpeg, PatternSpec};
use libfuzzer_sys::fuzz_target;

const CAMERA: Ipv4Addr = Ipv4Addr::new(192, 168, 4, 153);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(CAMERA, port))
}

/// The one clock origin of this process; session time is `base() + offset`.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(cam2mqtt::io::clock::now)
}

/// A small valid JPEG, so that `FrameCheck::Markers` (which decodes) gets whole frames.
fn picture() -> &'static [u8] {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    JPEG.get_or_init(|| {
        let spec = PatternSpec {
            width: 16,
            height: 16,
            quality: 50,
        };
        render_jpeg(&spec, "fuzz", 1)
    })
}

#[derive(Debug, Arbitrary)]
struct Input {
    markers: bool,
    audio_off: bool,
    silence_ms: u16,
    start_retry_ms: u16,
    wifi_timeout_ms: u16,
    /// Max frame size in bytes; 0 keeps the default (1 MiB).
    max_frame_bytes: u16,
    ops: Vec<Op>,
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Raw bytes from the video port.
    Video(Vec<u8>),
    /// A well-formed video datagram (header built from the fields).
    VideoFramed {
        frame_id: u8,
        end_of_frame: bool,
        packet: u8,
        payload: Vec<u8>,
    },
    /// A real JPEG (the simulator's 16x16 test pattern) cut into `parts`
    /// Beken-numbered datagrams, one of which may be left out.
    Picture {
        frame_id: u8,
        parts: u8,
        skip: Option<u8>,
    },
    /// Bytes from the audio port.
    Audio(Vec<u8>),
    /// Bytes from the Wi-Fi setup port (the camera's answer).
    Command(Vec<u8>),
    /// Bytes from an address that is not the camera's.
    Stranger { port: u16, payload: Vec<u8> },
    /// Time passes; then `handle_timeout` is called, due or not.
    Advance { ms: u32 },
    /// Jump to the session's own deadline (if any) and fire it, as the driver does.
    FireDeadline,
    /// Wi-Fi setup from MQTT.
    SetWifi { ssid: String, password: String },
    /// A command demo mode does not support.
    Other(u8),
}

struct Harness {
    session: DemoSession,
    cfg: DemoConfig,
    offset: Duration,
    next_id: u64,
    contract: ContractChecker,
    closed: bool,
}

impl Harness {
    fn now(&self) -> Instant {
        base() + self.offset
    }

    /// The drain contract, with the invariants checked on everything that comes out.
    fn drain(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            assert_eq!(t.socket, SocketIx(0), "only one socket was bound");
            assert!(
                [self.cfg.video, self.cfg.audio, self.cfg.command].contains(&t.dst),
                "transmit to {} which is not the camera's",
                t.dst
            );
        }
        while let Some(event) = self.session.poll_event() {
            self.contract.observe(&event);
            match &event {
                SessionEvent::Media(MediaFrame::Jpeg(jpeg)) => {
                    assert!(
                        jpeg.starts_with(&SOI) && jpeg.ends_with(&EOI),
                        "frame is not a JPEG"
                    );
                    assert!(
                        jpeg.len() <= self.cfg.max_frame_bytes,
                        "frame of {} bytes",
                        jpeg.len()
                    );
                }
                SessionEvent::Media(other) => panic!("demo mode emitted {other:?}"),
                SessionEvent::Closed(_) => self.closed = true,
                _ => {}
            }
        }
        self.contract.check_is_closed(self.session.is_closed());
    }

    fn datagram(&mut self, from: SocketAddr, payload: &[u8]) {
        let now = self.now();
        let handled = self.session.handle_datagram(
            now,
            Datagram {
                socket: SocketIx(0),
                from,
                payload,
            },
        );
        let ours = [self.cfg.video, self.cfg.audio, self.cfg.command].contains(&from);
        if self.closed || !ours {
            assert_eq!(
                handled,
                Handled::NotMine,
                "closed={} from={from}",
                self.closed
            );
        } else {
            assert_eq!(handled, Handled::Mine, "datagram from the camera's {from}");
        }
        self.drain();
    }

    fn command(&mut self, command: CameraCommand) {
        let id = self.next_id;
        self.next_id += 1;
        self.contract.issued(CommandId(id));
        let now = self.now();
        self.session.handle_command(now, CommandId(id), command);
        self.drain();
    }

    fn timeout(&mut self) {
        let now = self.now();
        self.session.handle_timeout(now);
        self.drain();
    }
}

fuzz_target!(|input: Input| {
    let mut cfg = DemoConfig::new(
        addr(8080),
        addr(8070),
        addr(8090),
        cam2mqtt::media::jpeg::decodes,
    );
    cfg.frame_check = if input.markers {
        FrameCheck::Markers
    } else {
        FrameCheck::Header
    };
    cfg.audio_start = if input.audio_off {
        AudioStart::Off
    } else {
        AudioStart::Request
    };
    cfg.silence_timeout = Duration::from_millis(input.silence_ms.into());
    cfg.start_retry = Duration::from_millis(input.start_retry_ms.into());
    cfg.wifi_timeout = Duration::from_millis(input.wifi_timeout_ms.into());
    if input.max_frame_bytes != 0 {
        cfg.max_frame_bytes = input.max_frame_bytes.into();
    }

    let mut h = Harness {
        session: DemoSession::new(cfg.clone()),
        cfg,
        offset: Duration::ZERO,
        next_id: 0,
        contract: ContractChecker::default(),
        closed: false,
    };
    let start = h.now();
    h.session.start(start);
    h.drain();

    for op in input.ops {
        match op {
            Op::Video(bytes) => h.datagram(h.cfg.video, &bytes),
            Op::VideoFramed {
                frame_id,
                end_of_frame,
                packet,
                payload,
            } => {
                let mut bytes = VideoHeader::new(frame_id, packet, end_of_frame)
                    .raw
                    .to_vec();
                bytes.extend_from_slice(&payload);
                h.datagram(h.cfg.video, &bytes);
            }
            Op::Picture {
                frame_id,
                parts,
                skip,
            } => {
                let jpeg = picture();
                let n = usize::from(parts % 8) + 1;
                let size = jpeg.len().div_ceil(n);
                for (i, chunk) in jpeg.chunks(size).enumerate() {
                    if skip.is_some_and(|k| usize::from(k) == i) {
                        continue;
                    }
                    let last = (i + 1) * size >= jpeg.len();
                    let packet = u8::try_from(i + 1).unwrap_or(u8::MAX);
                    let mut bytes = VideoHeader::new(frame_id, packet, last).raw.to_vec();
                    bytes.extend_from_slice(chunk);
                    h.datagram(h.cfg.video, &bytes);
                }
            }
            Op::Audio(bytes) => h.datagram(h.cfg.audio, &bytes),
            Op::Command(bytes) => h.datagram(h.cfg.command, &bytes),
            Op::Stranger { port, payload } => {
                let from = addr(port);
                h.datagram(from, &payload);
            }
            Op::Advance { ms } => {
                h.offset += Duration::from_millis(ms.into());
                h.timeout();
            }
            Op::FireDeadline => {
                if let Some(at) = h.session.poll_timeout() {
                    // Time never runs backwards; a deadline in the past fires now.
                    h.offset = h.offset.max(at.saturating_duration_since(base()));
                }
                h.timeout();
            }
            Op::SetWifi { ssid, password } => h.command(CameraCommand::SetWifi {
                ssid,
                password: Secret::new(password),
            }),
            Op::Other(n) => h.command(match n % 6 {
                0 => CameraCommand::Snapshot,
                1 => CameraCommand::Reboot,
                2 => CameraCommand::ApplyWifi,
                3 => CameraCommand::Light(n & 0x80 != 0),
                4 => CameraCommand::SetSnapshotInterval(n.into()),
                _ => CameraCommand::SetResolution(format!("{n}x{n}")),
            }),
        }
    }
});
