//! Simulated A9 camera in "demo mode" (Little Stars AP mode), the camera's side.
//!
//! Owns [`DemoCamera`] (a sans-IO [`Device`]), its configuration
//! [`DemoCameraConfig`] / [`SimHeader`], and the test-control handle
//! [`DemoCameraHandle`] / [`WifiRecord`]. Written from the protocol references
//! (`shared/reference/pppp.md` §5 and the A9 forum thread), not from the bridge's
//! client code; only the wire codec in `proto::demo::wire` is shared.
//!
//! Sockets (the driver binds them; the real camera uses the ports in brackets):
//! - [`VIDEO_SOCKET`] (8080): `42 76` from X makes X the video subscriber (the
//!   latest request wins). The camera then sends one JPEG frame every `1/fps`
//!   seconds, cut into datagrams of at most [`MAX_DATAGRAM`] bytes, each an
//!   8-byte header plus JPEG bytes. Any other bytes on this port are ignored.
//! - [`AUDIO_SOCKET`] (8070): any datagram from Y makes Y the audio subscriber
//!   (the scripts sent `30 67` / `30 66`; we accept anything). The camera then
//!   sends raw s16le PCM, a 440 Hz sine, in [`AUDIO_DATAGRAM`]-byte datagrams at
//!   real-time pace. That the stream is raw PCM is an inference from one capture.
//! - [`WIFI_SOCKET`] (8090): `66 ssid ### pwd 00 99`. A valid request is recorded
//!   and answered with three identical datagrams ([`WIFI_ANSWER`]); then, with
//!   `leave_demo_after_wifi`, the camera "reboots into station mode": all
//!   streaming stops and all three ports act closed (everything is ignored).
//!
//! Header assumption: [`SimHeader::Beken`] writes the Beken BK7252 layout
//! `[frame_id][is_eof][packet counter, 1-based][size = 0][4 zero bytes]` via
//! [`VideoHeader::new`]; this layout is an inference, not documented for the A9.
//! [`SimHeader::Opaque`] writes a running byte offset instead, to emulate
//! firmware whose header means something else.
//!
//! Sans-IO: no clock reads, no sockets, no async. Time comes in as `now`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::proto::demo::wire::{
    VideoDatagram, VideoHeader, WifiRequest, HEADER_LEN, MAX_DATAGRAM, START_VIDEO,
};
use crate::proto::{Datagram, SocketIx, Transmit};
use crate::sim::pattern::{FrameCache, PatternSpec, DEFAULT_DISTINCT};
use crate::sim::Device;

/// The video socket (port 8080 on a real camera).
pub const VIDEO_SOCKET: SocketIx = SocketIx(0);
/// The audio socket (port 8070 on a real camera).
pub const AUDIO_SOCKET: SocketIx = SocketIx(1);
/// The Wi-Fi / command socket (port 8090 on a real camera).
pub const WIFI_SOCKET: SocketIx = SocketIx(2);
/// Ports a real demo-mode camera uses for the three sockets, in socket order.
pub const REAL_PORTS: [u16; 3] = [8080, 8070, 8090];
/// Size of every audio datagram: 736 s16le samples (the captured 8070 payload size).
pub const AUDIO_DATAGRAM: usize = 1472;
/// Samples per audio datagram.
pub const AUDIO_SAMPLES: usize = AUDIO_DATAGRAM / 2;
/// Frequency of the simulated tone.
pub const TONE_HZ: u32 = 440;
/// Payload of each of the three answers to a valid Wi-Fi request.
///
/// The real answer's content was never recorded (the forum script only checks
/// that three identical datagrams arrive), so this is an arbitrary placeholder;
/// a client must not depend on it.
pub const WIFI_ANSWER: &[u8] = b"ok";
/// How many identical answers a valid Wi-Fi request gets.
pub const WIFI_ANSWER_COUNT: usize = 3;
/// Most Wi-Fi records kept by the handle (the oldest are dropped beyond it).
pub const MAX_WIFI_RECORDS: usize = 256;
/// Most control datagrams (Wi-Fi answers) queued at once; beyond it they are dropped.
const MAX_CONTROL_QUEUE: usize = 32;
/// Most audio datagrams produced in one catch-up; beyond it the pace is re-anchored.
const MAX_AUDIO_BURST: u64 = 4;

/// Which 8-byte header the simulated firmware puts on video datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimHeader {
    /// Beken BK7252 layout: frame id, end-of-frame flag, 1-based packet counter,
    /// then five zero bytes ([`VideoHeader::new`]).
    #[default]
    Beken,
    /// Not Beken: the running byte offset of the payload within the whole video
    /// stream, as a little-endian u64 (so the "frame id" byte changes on every
    /// datagram and the "counter" byte is mostly 0).
    Opaque,
}

/// How the simulated camera behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCameraConfig {
    /// Written into every frame's COM stamp (see [`crate::sim::pattern::read_stamp`]).
    pub label: String,
    /// Size and quality of the rendered frames.
    pub pattern: PatternSpec,
    /// Frames per second (0 is treated as 1).
    pub fps: u32,
    /// Header layout of the video datagrams.
    pub header: SimHeader,
    /// Whether a valid Wi-Fi request ends demo mode (as on the real camera).
    pub leave_demo_after_wifi: bool,
    /// After leaving demo mode, come back to it this much later, as a camera
    /// does when it cannot join the network it was given (`None`: never). The
    /// `demo` and `simulate` commands use 30 s, so a demo survives `set/wifi`.
    pub return_to_demo_after: Option<Duration>,
    /// Audio sample rate in Hz (0 is treated as 8000).
    pub audio_rate: u32,
    /// Distinct pictures the camera cycles through ([`FrameCache`]); frame `n`
    /// is picture `n % distinct_frames` with its own stamp. 0 is treated as 1.
    pub distinct_frames: usize,
}

impl Default for DemoCameraConfig {
    /// Label `demo`, 640x480 q80, 10 fps, Beken header, leaves demo mode after
    /// Wi-Fi setup, 8000 Hz audio, [`DEFAULT_DISTINCT`] cached pictures.
    fn default() -> Self {
        Self {
            label: "demo".to_owned(),
            pattern: PatternSpec::default(),
            fps: 10,
            header: SimHeader::Beken,
            leave_demo_after_wifi: true,
            return_to_demo_after: None,
            audio_rate: 8000,
            distinct_frames: DEFAULT_DISTINCT,
        }
    }
}

/// A Wi-Fi provisioning request the camera accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WifiRecord {
    /// The SSID (lossy UTF-8).
    pub ssid: String,
    /// The password (lossy UTF-8).
    pub password: String,
    /// The datagram exactly as received.
    pub raw: Vec<u8>,
}

/// State shared between the device and its handles.
#[derive(Debug, Default)]
struct Shared {
    paused: AtomicBool,
    left_demo: AtomicBool,
    frames_sent: AtomicU64,
    audio_packets_sent: AtomicU64,
    video_requests: AtomicU64,
    wifi: Mutex<VecDeque<WifiRecord>>,
    last_frame: Mutex<Option<Vec<u8>>>,
}

/// Locks a mutex, ignoring poisoning (the data stays usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Controls and observes a [`DemoCamera`] from tests, also while the device runs
/// inside a driver task.
#[derive(Debug, Clone)]
pub struct DemoCameraHandle {
    shared: Arc<Shared>,
}

impl DemoCameraHandle {
    /// Pauses or resumes the camera. While paused it transmits nothing at all (as
    /// if it hung): queued datagrams are discarded, no frames are rendered and the
    /// audio clock does not catch up afterwards. It still notes `42 76` and audio
    /// subscriptions (so [`Self::video_requests`] shows a client's retries), but it
    /// ignores Wi-Fi requests (neither recorded nor answered). Streaming resumes
    /// at the next frame / audio tick after unpausing.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    /// Whether the camera is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    /// Frames whose last datagram has been handed to the driver.
    pub fn frames_sent(&self) -> u64 {
        self.shared.frames_sent.load(Ordering::SeqCst)
    }

    /// Valid Wi-Fi requests received, oldest first (at most [`MAX_WIFI_RECORDS`]).
    pub fn wifi_requests(&self) -> Vec<WifiRecord> {
        lock(&self.shared.wifi).iter().cloned().collect()
    }

    /// The JPEG of the most recently completed frame (see [`Self::frames_sent`]).
    pub fn last_frame(&self) -> Option<Vec<u8>> {
        lock(&self.shared.last_frame).clone()
    }

    /// Audio datagrams handed to the driver.
    pub fn audio_packets_sent(&self) -> u64 {
        self.shared.audio_packets_sent.load(Ordering::SeqCst)
    }

    /// `42 76` datagrams received on the video socket while in demo mode.
    pub fn video_requests(&self) -> u64 {
        self.shared.video_requests.load(Ordering::SeqCst)
    }

    /// True once a Wi-Fi request made the camera leave demo mode.
    pub fn left_demo(&self) -> bool {
        self.shared.left_demo.load(Ordering::SeqCst)
    }
}

/// The video stream to one subscriber.
#[derive(Debug)]
struct VideoSub {
    dst: SocketAddr,
    next_at: Instant,
}

/// The audio stream to one subscriber, paced by `anchor + packets * 736 / rate`.
#[derive(Debug)]
struct AudioSub {
    dst: SocketAddr,
    anchor: Instant,
    packets: u64,
}

/// A queued video datagram; `last` marks the final datagram of its frame.
#[derive(Debug)]
struct VideoOut {
    transmit: Transmit,
    last: bool,
}

/// The simulated demo-mode camera. Drive it with [`Device`] (e.g.
/// [`crate::sim::runner::run_device`]); observe and control it with [`DemoCamera::handle`].
#[derive(Debug)]
pub struct DemoCamera {
    cfg: DemoCameraConfig,
    shared: Arc<Shared>,
    /// The pictures; encoded on first use, then only copied and stamped.
    frames: FrameCache,
    frame_interval: Duration,
    audio_rate: u32,
    video: Option<VideoSub>,
    audio: Option<AudioSub>,
    /// Frames rendered so far; the next frame's number.
    frame_no: u64,
    /// Bytes of JPEG sent so far ([`SimHeader::Opaque`] writes it).
    stream_offset: u64,
    /// Samples generated so far (sine phase).
    samples: u64,
    /// At most one frame's datagrams.
    video_q: VecDeque<VideoOut>,
    /// The JPEG whose datagrams are in `video_q`.
    pending_jpeg: Option<Vec<u8>>,
    /// At most [`MAX_AUDIO_BURST`] datagrams.
    audio_q: VecDeque<Transmit>,
    /// At most [`MAX_CONTROL_QUEUE`] datagrams.
    control_q: VecDeque<Transmit>,
    /// When the camera comes back to demo mode after leaving it.
    back_at: Option<Instant>,
}

impl DemoCamera {
    /// A camera in demo mode, silent until someone sends `42 76` or subscribes to audio.
    pub fn new(cfg: DemoCameraConfig, now: Instant) -> DemoCamera {
        let _ = now; // nothing is scheduled until a subscriber appears
        let fps = cfg.fps.max(1);
        let audio_rate = if cfg.audio_rate == 0 {
            8000
        } else {
            cfg.audio_rate
        };
        DemoCamera {
            frames: FrameCache::lazy(cfg.pattern, &cfg.label, cfg.distinct_frames),
            frame_interval: Duration::from_secs(1) / fps,
            audio_rate,
            cfg,
            shared: Arc::new(Shared::default()),
            video: None,
            audio: None,
            frame_no: 0,
            stream_offset: 0,
            samples: 0,
            video_q: VecDeque::new(),
            pending_jpeg: None,
            audio_q: VecDeque::new(),
            control_q: VecDeque::new(),
            back_at: None,
        }
    }

    /// A handle for tests; cheap to clone, usable from other threads.
    pub fn handle(&self) -> DemoCameraHandle {
        DemoCameraHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    fn paused(&self) -> bool {
        self.shared.paused.load(Ordering::SeqCst)
    }

    fn left_demo(&self) -> bool {
        self.shared.left_demo.load(Ordering::SeqCst)
    }

    fn clear_media_queues(&mut self) {
        self.video_q.clear();
        self.pending_jpeg = None;
        self.audio_q.clear();
    }

    /// When audio packet number `k` (since the anchor) is due.
    fn audio_due(&self, a: &AudioSub, k: u64) -> Instant {
        let nanos =
            u128::from(k) * AUDIO_SAMPLES as u128 * 1_000_000_000 / u128::from(self.audio_rate);
        let d = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        a.anchor.checked_add(d).unwrap_or(a.anchor)
    }

    fn handle_wifi(&mut self, now: Instant, from: SocketAddr, payload: &[u8]) {
        let Ok(req) = WifiRequest::decode(payload) else {
            tracing::debug!(%from, len = payload.len(), "sim demo: invalid wifi request ignored");
            return;
        };
        let record = WifiRecord {
            ssid: String::from_utf8_lossy(req.ssid).into_owned(),
            password: String::from_utf8_lossy(req.password).into_owned(),
            raw: payload.to_vec(),
        };
        {
            let mut wifi = lock(&self.shared.wifi);
            if wifi.len() >= MAX_WIFI_RECORDS {
                wifi.pop_front();
            }
            wifi.push_back(record);
        }
        for _ in 0..WIFI_ANSWER_COUNT {
            if self.control_q.len() < MAX_CONTROL_QUEUE {
                self.control_q.push_back(Transmit {
                    socket: WIFI_SOCKET,
                    dst: from,
                    payload: WIFI_ANSWER.to_vec(),
                });
            }
        }
        if self.cfg.leave_demo_after_wifi {
            tracing::debug!("sim demo: wifi configured, leaving demo mode");
            self.shared.left_demo.store(true, Ordering::SeqCst);
            self.video = None;
            self.audio = None;
            self.clear_media_queues();
            self.back_at = self.cfg.return_to_demo_after.map(|d| now + d);
        }
    }

    /// Comes back to demo mode when its time has come.
    fn maybe_return(&mut self, now: Instant) {
        if self.back_at.is_some_and(|t| t <= now) {
            self.back_at = None;
            self.shared.left_demo.store(false, Ordering::SeqCst);
            tracing::info!("sim demo: could not join the network it was given; back in demo mode");
        }
    }

    /// Does all work due at `now`.
    fn advance(&mut self, now: Instant) {
        if self.left_demo() {
            return;
        }
        if self.paused() {
            // Hung: keep the cadence ticking without producing anything.
            self.clear_media_queues();
            let interval = self.frame_interval;
            if let Some(v) = self.video.as_mut() {
                if v.next_at <= now {
                    v.next_at = now + interval;
                }
            }
            if let Some(a) = self.audio.as_ref() {
                if self.audio_due(a, a.packets) <= now {
                    if let Some(a) = self.audio.as_mut() {
                        a.anchor = now;
                        a.packets = 1;
                    }
                }
            }
            return;
        }
        self.advance_video(now);
        self.advance_audio(now);
    }

    fn advance_video(&mut self, now: Instant) {
        let Some(v) = self.video.as_mut() else {
            return;
        };
        if v.next_at > now {
            return;
        }
        let dst = v.dst;
        v.next_at += self.frame_interval;
        if v.next_at <= now {
            // More than a frame late (slow driver): skip rather than burst.
            v.next_at = now + self.frame_interval;
        }
        self.queue_frame(dst);
    }

    /// Takes the next frame from the cache and queues its datagrams, replacing
    /// any datagrams of the previous frame the driver has not taken yet.
    fn queue_frame(&mut self, dst: SocketAddr) {
        let frame_no = self.frame_no;
        self.frame_no += 1;
        let jpeg = self.frames.frame(frame_no);
        self.video_q.clear();
        let frame_id = frame_no as u8; // wraps at 256
        let chunks: Vec<&[u8]> = jpeg.chunks(MAX_DATAGRAM - HEADER_LEN).collect();
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let last = i + 1 == count;
            let header = match self.cfg.header {
                // 1-based counter; wraps past 255 datagrams (frames that large
                // do not occur at 640x480).
                SimHeader::Beken => VideoHeader::new(frame_id, (i + 1) as u8, last),
                SimHeader::Opaque => {
                    let raw = self.stream_offset.to_le_bytes();
                    VideoHeader {
                        frame_id: raw[0],
                        end_of_frame: raw[1] != 0,
                        packet: raw[2],
                        raw,
                    }
                }
            };
            self.stream_offset = self.stream_offset.wrapping_add(chunk.len() as u64);
            let mut payload = Vec::with_capacity(HEADER_LEN + chunk.len());
            VideoDatagram {
                header,
                payload: chunk,
            }
            .encode(&mut payload);
            self.video_q.push_back(VideoOut {
                transmit: Transmit {
                    socket: VIDEO_SOCKET,
                    dst,
                    payload,
                },
                last,
            });
        }
        self.pending_jpeg = Some(jpeg);
    }

    fn advance_audio(&mut self, now: Instant) {
        let Some(a) = self.audio.as_ref() else {
            return;
        };
        let dst = a.dst;
        let mut produced = 0;
        while produced < MAX_AUDIO_BURST {
            let Some(a) = self.audio.as_ref() else {
                return;
            };
            if self.audio_due(a, a.packets) > now {
                return;
            }
            self.queue_audio(dst);
            if let Some(a) = self.audio.as_mut() {
                a.packets += 1;
            }
            produced += 1;
        }
        // Still behind after a burst: re-anchor instead of flooding.
        if let Some(a) = self.audio.as_ref() {
            if self.audio_due(a, a.packets) <= now {
                if let Some(a) = self.audio.as_mut() {
                    a.anchor = now;
                    a.packets = 1;
                }
            }
        }
    }

    fn queue_audio(&mut self, dst: SocketAddr) {
        let rate = u64::from(self.audio_rate);
        let mut payload = Vec::with_capacity(AUDIO_DATAGRAM);
        for _ in 0..AUDIO_SAMPLES {
            // Exact periodicity: 440 Hz completes whole cycles every second.
            let n = (self.samples % rate) as f64;
            let phase = 2.0 * std::f64::consts::PI * f64::from(TONE_HZ) * n / rate as f64;
            let s = (phase.sin() * 0.3 * f64::from(i16::MAX)) as i16;
            payload.extend_from_slice(&s.to_le_bytes());
            self.samples = self.samples.wrapping_add(1);
        }
        if self.audio_q.len() >= MAX_AUDIO_BURST as usize {
            self.audio_q.pop_front();
        }
        self.audio_q.push_back(Transmit {
            socket: AUDIO_SOCKET,
            dst,
            payload,
        });
    }
}

impl Device for DemoCamera {
    fn sockets(&self) -> usize {
        3
    }

    fn handle_datagram(&mut self, now: Instant, datagram: Datagram<'_>) {
        self.maybe_return(now);
        if self.left_demo() {
            // Rebooted into station mode: the demo ports are closed.
            return;
        }
        let from = datagram.from;
        match datagram.socket {
            VIDEO_SOCKET if datagram.payload == START_VIDEO => {
                self.shared.video_requests.fetch_add(1, Ordering::SeqCst);
                match self.video.as_mut() {
                    Some(v) => v.dst = from,
                    None => {
                        self.video = Some(VideoSub {
                            dst: from,
                            next_at: now,
                        })
                    }
                }
            }
            AUDIO_SOCKET => match self.audio.as_mut() {
                Some(a) => a.dst = from,
                None => {
                    self.audio = Some(AudioSub {
                        dst: from,
                        anchor: now,
                        packets: 0,
                    })
                }
            },
            // A hung camera does not act on Wi-Fi requests.
            WIFI_SOCKET if !self.paused() => self.handle_wifi(now, from, datagram.payload),
            // Other bytes on the video port, and unknown sockets, are ignored.
            _ => {}
        }
        self.advance(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.maybe_return(now);
        self.advance(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.paused() {
            self.clear_media_queues();
            self.control_q.clear();
            return None;
        }
        if let Some(t) = self.control_q.pop_front() {
            return Some(t);
        }
        if let Some(t) = self.audio_q.pop_front() {
            self.shared
                .audio_packets_sent
                .fetch_add(1, Ordering::SeqCst);
            return Some(t);
        }
        let out = self.video_q.pop_front()?;
        if out.last {
            self.shared.frames_sent.fetch_add(1, Ordering::SeqCst);
            *lock(&self.shared.last_frame) = self.pending_jpeg.take();
        }
        Some(out.transmit)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.left_demo() {
            return self.back_at;
        }
        let video = self.video.as_ref().map(|v| v.next_at);
        let audio = self.audio.as_ref().map(|a| self.audio_due(a, a.packets));
        match (video, audio) {
            (Some(v), Some(a)) => Some(v.min(a)),
            (v, a) => v.or(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::demo::wire::EOI;
    use crate::sim::pattern::read_stamp;

    fn t0() -> Instant {
        // An arbitrary origin from the one permitted clock; the device reads none.
        crate::io::clock::now()
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 168, 4, 2], port))
    }

    fn small() -> DemoCameraConfig {
        DemoCameraConfig {
            label: "unit".into(),
            pattern: PatternSpec {
                width: 320,
                height: 240,
                quality: 70,
            },
            ..DemoCameraConfig::default()
        }
    }

    fn send(cam: &mut DemoCamera, now: Instant, socket: SocketIx, from: SocketAddr, p: &[u8]) {
        cam.handle_datagram(
            now,
            Datagram {
                socket,
                from,
                payload: p,
            },
        );
    }

    fn drain(cam: &mut DemoCamera) -> Vec<Transmit> {
        std::iter::from_fn(|| cam.poll_transmit()).collect()
    }

    /// Splits video datagrams into frames by the Beken end-of-frame flag.
    fn frames(out: &[Transmit]) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        let mut cur = Vec::new();
        let mut expected_counter = 1u8;
        for t in out.iter().filter(|t| t.socket == VIDEO_SOCKET) {
            assert!(t.payload.len() <= MAX_DATAGRAM);
            let d = VideoDatagram::decode(&t.payload).unwrap();
            assert_eq!(d.header.packet, expected_counter);
            assert_eq!(&d.header.raw[3..], &[0, 0, 0, 0, 0]);
            expected_counter += 1;
            cur.extend_from_slice(d.payload);
            if d.header.end_of_frame {
                frames.push((d.header.frame_id, std::mem::take(&mut cur)));
                expected_counter = 1;
            }
        }
        assert!(cur.is_empty(), "trailing partial frame");
        frames
    }

    #[test]
    fn start_video_streams_decodable_frames_at_fps() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        let h = cam.handle();
        assert_eq!(cam.sockets(), 3);
        assert_eq!(cam.poll_timeout(), None);
        // Junk on the video port does nothing.
        send(&mut cam, t, VIDEO_SOCKET, addr(5000), b"hello");
        assert!(drain(&mut cam).is_empty());
        assert_eq!(h.video_requests(), 0);

        send(&mut cam, t, VIDEO_SOCKET, addr(5000), &START_VIDEO);
        assert_eq!(h.video_requests(), 1);
        let mut out = drain(&mut cam);
        assert!(out
            .iter()
            .all(|t| t.dst == addr(5000) && t.socket == VIDEO_SOCKET));
        assert_eq!(h.frames_sent(), 1);
        let interval = Duration::from_millis(100);
        assert_eq!(cam.poll_timeout(), Some(t + interval));
        // Nothing more before the next tick.
        cam.handle_timeout(t + interval / 2);
        assert!(drain(&mut cam).is_empty());
        for k in 1..4u32 {
            cam.handle_timeout(t + interval * k);
            out.extend(drain(&mut cam));
        }
        assert_eq!(h.frames_sent(), 4);
        let frames = frames(&out);
        assert_eq!(frames.len(), 4);
        for (i, (id, jpeg)) in frames.iter().enumerate() {
            assert_eq!(usize::from(*id), i);
            assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&EOI));
            let img = image::load_from_memory(jpeg).unwrap();
            assert_eq!((img.width(), img.height()), (320, 240));
            assert_eq!(read_stamp(jpeg), Some(("unit".to_owned(), i as u64)));
        }
        assert_eq!(h.last_frame().as_ref(), Some(&frames[3].1));
    }

    #[test]
    fn frame_ids_wrap_and_latest_requester_wins() {
        let t = t0();
        let cfg = DemoCameraConfig {
            pattern: PatternSpec {
                width: 16,
                height: 16,
                quality: 10,
            },
            fps: 1000,
            ..DemoCameraConfig::default()
        };
        let mut cam = DemoCamera::new(cfg, t);
        send(&mut cam, t, VIDEO_SOCKET, addr(1), &START_VIDEO);
        let mut ids = Vec::new();
        for k in 0..300u32 {
            if k == 150 {
                send(
                    &mut cam,
                    t + Duration::from_millis(150),
                    VIDEO_SOCKET,
                    addr(2),
                    &START_VIDEO,
                );
            }
            cam.handle_timeout(t + Duration::from_millis(u64::from(k)));
            let out = drain(&mut cam);
            for tr in &out {
                assert_eq!(tr.dst, if k < 150 { addr(1) } else { addr(2) });
            }
            ids.extend(frames(&out).into_iter().map(|(id, _)| id));
        }
        assert_eq!(ids.len(), 300);
        assert!(ids.iter().enumerate().all(|(i, id)| *id == i as u8));
        assert_eq!(cam.handle().video_requests(), 2);
    }

    #[test]
    fn opaque_header_is_a_running_offset() {
        let t = t0();
        let cfg = DemoCameraConfig {
            header: SimHeader::Opaque,
            ..small()
        };
        let mut cam = DemoCamera::new(cfg, t);
        send(&mut cam, t, VIDEO_SOCKET, addr(1), &START_VIDEO);
        let mut out = drain(&mut cam);
        cam.handle_timeout(t + Duration::from_millis(100));
        out.extend(drain(&mut cam));
        let mut offset = 0u64;
        let mut stream = Vec::new();
        for tr in &out {
            let (head, body) = tr.payload.split_at(HEADER_LEN);
            assert_eq!(u64::from_le_bytes(head.try_into().unwrap()), offset);
            offset += body.len() as u64;
            stream.extend_from_slice(body);
        }
        // Two whole JPEGs back to back.
        let first_end = stream.windows(2).position(|w| w == EOI).unwrap() + 2;
        assert!(image::load_from_memory(&stream[..first_end]).is_ok());
        assert_eq!(read_stamp(&stream[first_end..]), Some(("unit".into(), 1)));
    }

    #[test]
    fn wifi_request_gets_three_identical_answers_and_ends_demo_mode() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        let h = cam.handle();
        send(&mut cam, t, VIDEO_SOCKET, addr(5000), &START_VIDEO);
        send(&mut cam, t, AUDIO_SOCKET, addr(5001), &[0x30, 0x67]);
        let _ = drain(&mut cam);

        let mut req = Vec::new();
        WifiRequest::new("home", "secret123")
            .unwrap()
            .encode(&mut req);
        send(&mut cam, t, WIFI_SOCKET, addr(6000), &req);
        let out = drain(&mut cam);
        assert_eq!(out.len(), 3);
        for tr in &out {
            assert_eq!(tr.socket, WIFI_SOCKET);
            assert_eq!(tr.dst, addr(6000));
            assert_eq!(tr.payload, out[0].payload);
        }
        assert_eq!(
            h.wifi_requests(),
            vec![WifiRecord {
                ssid: "home".into(),
                password: "secret123".into(),
                raw: req.clone(),
            }]
        );
        assert!(h.left_demo());
        // Demo mode is over: no more streaming, START ignored, ports closed.
        assert_eq!(cam.poll_timeout(), None);
        cam.handle_timeout(t + Duration::from_secs(1));
        send(
            &mut cam,
            t + Duration::from_secs(1),
            VIDEO_SOCKET,
            addr(5000),
            &START_VIDEO,
        );
        send(
            &mut cam,
            t + Duration::from_secs(1),
            WIFI_SOCKET,
            addr(6000),
            &req,
        );
        assert!(drain(&mut cam).is_empty());
        assert_eq!(h.video_requests(), 1);
        assert_eq!(h.wifi_requests().len(), 1);
    }

    #[test]
    fn a_camera_that_left_demo_mode_comes_back_when_configured_to() {
        let t0 = crate::io::clock::now();
        let mut cam = DemoCamera::new(
            DemoCameraConfig {
                return_to_demo_after: Some(Duration::from_secs(30)),
                ..DemoCameraConfig::default()
            },
            t0,
        );
        let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut req = Vec::new();
        WifiRequest::new("home", "password1")
            .unwrap()
            .encode(&mut req);
        cam.handle_datagram(
            t0,
            Datagram {
                socket: WIFI_SOCKET,
                from: client,
                payload: &req,
            },
        );
        assert!(cam.handle().left_demo());
        assert_eq!(cam.poll_timeout(), Some(t0 + Duration::from_secs(30)));
        cam.handle_timeout(t0 + Duration::from_secs(30));
        assert!(!cam.handle().left_demo(), "back in demo mode");
        cam.handle_datagram(
            t0 + Duration::from_secs(31),
            Datagram {
                socket: VIDEO_SOCKET,
                from: client,
                payload: &START_VIDEO,
            },
        );
        assert!(cam.poll_timeout().is_some(), "streams again");
    }

    #[test]
    fn wifi_without_leaving_keeps_streaming() {
        let t = t0();
        let cfg = DemoCameraConfig {
            leave_demo_after_wifi: false,
            ..small()
        };
        let mut cam = DemoCamera::new(cfg, t);
        send(&mut cam, t, VIDEO_SOCKET, addr(5000), &START_VIDEO);
        let _ = drain(&mut cam);
        let mut req = Vec::new();
        WifiRequest::new("open", "").unwrap().encode(&mut req);
        send(&mut cam, t, WIFI_SOCKET, addr(6000), &req);
        assert_eq!(drain(&mut cam).len(), 3);
        cam.handle_timeout(t + Duration::from_millis(100));
        assert!(!drain(&mut cam).is_empty());
        assert_eq!(cam.handle().frames_sent(), 2);
    }

    #[test]
    fn invalid_wifi_requests_get_no_answer() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        let long = [&[0x66][..], &[b'x'; 40], b"###pw", &[0, 0x99]].concat();
        for bad in [
            &b""[..],
            b"\x66",
            b"\x66home###pw",
            b"\x66home-pw\x00\x99",
            b"\x67home###pw\x00\x99",
            &long,
        ] {
            send(&mut cam, t, WIFI_SOCKET, addr(6000), bad);
        }
        assert!(drain(&mut cam).is_empty());
        assert!(cam.handle().wifi_requests().is_empty());
        assert!(!cam.handle().left_demo());
    }

    #[test]
    fn audio_is_paced_sine_pcm() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        let h = cam.handle();
        send(&mut cam, t, AUDIO_SOCKET, addr(7000), &[0x30, 0x66]);
        let mut out = drain(&mut cam);
        assert_eq!(out.len(), 1);
        // 736 samples at 8 kHz = 92 ms per datagram.
        assert_eq!(cam.poll_timeout(), Some(t + Duration::from_millis(92)));
        for ms in (10..=1000).step_by(10) {
            cam.handle_timeout(t + Duration::from_millis(ms));
            out.extend(drain(&mut cam));
        }
        // Packets at 0, 92, ..., 920 ms.
        assert_eq!(out.len(), 11);
        assert_eq!(h.audio_packets_sent(), 11);
        let mut samples = Vec::new();
        for tr in &out {
            assert_eq!(
                (tr.socket, tr.dst, tr.payload.len()),
                (AUDIO_SOCKET, addr(7000), 1472)
            );
            samples.extend(
                tr.payload
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]])),
            );
        }
        // 440 Hz: 880 zero crossings per second of audio.
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count() as f64;
        let seconds = samples.len() as f64 / 8000.0;
        assert!((crossings / seconds - 880.0).abs() < 20.0);
        assert!(samples.iter().any(|s| *s > 5000) && samples.iter().any(|s| *s < -5000));
    }

    #[test]
    fn late_driver_gets_no_burst() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        send(&mut cam, t, VIDEO_SOCKET, addr(1), &START_VIDEO);
        send(&mut cam, t, AUDIO_SOCKET, addr(2), b"x");
        let _ = drain(&mut cam);
        cam.handle_timeout(t + Duration::from_secs(10));
        let out = drain(&mut cam);
        assert_eq!(frames(&out).len(), 1);
        assert!(
            out.iter().filter(|t| t.socket == AUDIO_SOCKET).count() <= MAX_AUDIO_BURST as usize
        );
        let next = cam.poll_timeout().unwrap();
        assert!(next > t + Duration::from_secs(10));
    }

    #[test]
    fn paused_camera_sends_nothing_then_resumes() {
        let t = t0();
        let mut cam = DemoCamera::new(small(), t);
        let h = cam.handle();
        send(&mut cam, t, VIDEO_SOCKET, addr(5000), &START_VIDEO);
        send(&mut cam, t, AUDIO_SOCKET, addr(5001), b"a");
        // Paused before the driver drained: the queued frame is discarded.
        h.set_paused(true);
        assert!(drain(&mut cam).is_empty());
        let mut req = Vec::new();
        WifiRequest::new("home", "secret123")
            .unwrap()
            .encode(&mut req);
        for ms in (0..2000).step_by(50) {
            let now = t + Duration::from_millis(ms);
            send(&mut cam, now, VIDEO_SOCKET, addr(5000), &START_VIDEO);
            send(&mut cam, now, WIFI_SOCKET, addr(6000), &req);
            cam.handle_timeout(now);
            assert!(drain(&mut cam).is_empty());
            // It keeps asking to be woken, so unpausing is noticed.
            assert!(cam.poll_timeout().is_some());
        }
        assert_eq!(h.frames_sent(), 0);
        assert_eq!(h.audio_packets_sent(), 0);
        assert!(h.wifi_requests().is_empty());
        assert_eq!(h.video_requests(), 41);

        h.set_paused(false);
        let wake = cam.poll_timeout().unwrap();
        assert!(wake <= t + Duration::from_millis(2100));
        // By then both the frame and the audio tick are due.
        cam.handle_timeout(t + Duration::from_millis(2100));
        let out = drain(&mut cam);
        let frames = frames(&out);
        assert_eq!(frames.len(), 1);
        assert_eq!(h.frames_sent(), 1);
        assert_eq!(read_stamp(&frames[0].1).map(|s| s.0), Some("unit".into()));
    }

    proptest::proptest! {
        #[test]
        fn hostile_datagrams_never_panic(
            socket in 0u8..5,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1600),
        ) {
            let t = t0();
            let cfg = DemoCameraConfig {
                pattern: PatternSpec { width: 16, height: 16, quality: 10 },
                ..DemoCameraConfig::default()
            };
            let mut cam = DemoCamera::new(cfg, t);
            send(&mut cam, t, SocketIx(socket), addr(9), &bytes);
            cam.handle_timeout(t + Duration::from_millis(500));
            let _ = drain(&mut cam);
        }
    }
}
