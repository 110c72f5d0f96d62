//! The RTSP server's tokio glue: a TCP listener, one UDP port pair shared by
//! every client that asks for UDP, and one task per connection that drives
//! its [`Conn`] and, while it plays, its [`Player`] from the camera's live
//! feed.
//!
//! **Fan-out.** Every client reads the same live feed the HTTP viewers do
//! (one camera session, whatever the number of clients): a new client starts
//! with the current GOP, so it shows a picture at once. Feeding never waits
//! for a client. A client that falls behind the feed's buffer skips to the
//! next keyframe; one whose socket takes nothing for [`STALL_LIMIT`], or
//! that falls behind [`MAX_LAGS`] times in [`LAG_WINDOW`], is dropped.
//!
//! **Back-channel.** RTP a client sends on the back-channel track (PCMU or
//! PCMA, interleaved or UDP) is decoded and played on the camera through the
//! intercom path, like push-to-talk in the web UI; a pause of
//! [`TALK_PAUSE`] ends that playback and the next packet starts another.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::Access;
use super::conn::{Catalog, Conn, ConnConfig, ConnEvent, Delivery, Lookup, TrackSetup};
use super::play::{audio_track, Outgoing, Player};
use super::rtp;
use super::sdp::{Description, TrackKind, VideoTrack};
use crate::bus::live::{CameraFeed, LiveAudioChunk, LiveJpeg, LiveVideo, Viewer};
use crate::bus::{CommandInput, Hub};
use crate::io::clock;
use crate::io::socket::DatagramSocket;
use crate::model::{
    CameraCommand, CameraId, Capability, IntercomRequest, IntercomSource, LiveAudio, PlaybackMode,
    VideoCodec,
};

/// A client whose socket takes nothing for this long is dropped.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);
/// Falling behind the feed this many times within [`LAG_WINDOW`] drops a client.
pub const MAX_LAGS: usize = 3;
/// See [`MAX_LAGS`].
pub const LAG_WINDOW: Duration = Duration::from_secs(60);
/// How long a DESCRIBE waits for a camera's first picture before 503.
pub const DESCRIBE_WAIT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once (each costs a
/// task, buffers and, while it plays, a feed reader).
pub const MAX_CONNECTIONS: u64 = 64;
/// A back-channel pause this long ends the playback.
pub const TALK_PAUSE: Duration = Duration::from_millis(800);
/// The back-channel's sample rate (G.711).
const TALK_RATE: u32 = 8000;

/// What the server needs besides the hub.
#[derive(Debug, Clone)]
pub struct RtspSettings {
    /// Who may use it.
    pub access: Arc<Access>,
}

/// The server's RTP and RTCP sockets.
type UdpPair = (Arc<dyn DatagramSocket>, Arc<dyn DatagramSocket>);

/// The bound sockets.
pub struct Bound {
    tcp: TcpListener,
    udp: Option<UdpPair>,
}

impl Bound {
    /// The TCP address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Each client connection's send buffer: about a second of a 1080p
/// stream. Bounded (not left to the kernel's autotuning, which grows to
/// megabytes), so a client that stops reading is noticed in seconds.
pub const SEND_BUFFER: u32 = 256 << 10;

/// Binds `listen` (TCP) and a UDP port pair on the same address.
pub async fn bind(listen: &str) -> std::io::Result<Bound> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    // Accepted connections inherit it.
    socket.set_send_buffer_size(SEND_BUFFER)?;
    socket.bind(addr)?;
    let tcp = socket.listen(1024)?;
    let ip = tcp.local_addr()?.ip();
    let udp = match crate::io::socket::bind_port_pair(ip).await {
        Ok((a, b)) => Some((
            Arc::new(a) as Arc<dyn DatagramSocket>,
            Arc::new(b) as Arc<dyn DatagramSocket>,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "RTSP over UDP is off: no UDP port pair");
            None
        }
    };
    Ok(Bound { tcp, udp })
}

/// Where UDP datagrams from clients go: by their source address.
type Routes = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<UdpIn>>>>;

/// A datagram from a client.
#[derive(Debug)]
enum UdpIn {
    /// RTCP (a receiver report: the client is alive).
    Rtcp,
    /// RTP (back-channel audio).
    Rtp(Vec<u8>),
}

struct Shared {
    hub: Hub,
    settings: RtspSettings,
    udp: Option<UdpPair>,
    routes: Routes,
    epoch: Instant,
    session_id: u64,
    shutdown: CancellationToken,
}

/// Serves until `shutdown` is cancelled; open connections end then.
pub async fn serve(
    bound: Bound,
    hub: Hub,
    settings: RtspSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let Bound { tcp, udp } = bound;
    let shared = Arc::new(Shared {
        hub,
        settings,
        udp: udp.clone(),
        routes: Arc::default(),
        epoch: clock::now(),
        session_id: rand::rng().random::<u32>().into(),
        shutdown: shutdown.clone(),
    });
    let tasks = TaskTracker::new();
    if let Some((rtp, rtcp)) = udp {
        tasks.spawn(udp_receive(
            rtp,
            shared.routes.clone(),
            false,
            shutdown.clone(),
        ));
        tasks.spawn(udp_receive(
            rtcp,
            shared.routes.clone(),
            true,
            shutdown.clone(),
        ));
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = tcp.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Counted here, not in the task, so a burst cannot pass
                    // the limit before the tasks start.
                    if shared.hub.status().rtsp().clients >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "RTSP connection refused: {MAX_CONNECTIONS} connections already");
                        drop(stream);
                        continue;
                    }
                    shared.hub.status().rtsp_client(true);
                    let shared = shared.clone();
                    tasks.spawn(async move {
                        connection(stream, peer, &shared).await;
                        shared.hub.status().rtsp_client(false);
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "RTSP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    tasks.close();
    tasks.wait().await;
    Ok(())
}

async fn udp_receive(
    sock: Arc<dyn DatagramSocket>,
    routes: Routes,
    rtcp: bool,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => return,
            r = std::future::poll_fn(|cx| {
                let mut rb = tokio::io::ReadBuf::new(&mut buf);
                sock.poll_recv_from(cx, &mut rb).map_ok(|from| (from, rb.filled().len()))
            }) => r,
        };
        let Ok((from, len)) = received else {
            continue;
        };
        let route = routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&from)
            .cloned();
        if let Some(tx) = route {
            let msg = if rtcp {
                UdpIn::Rtcp
            } else {
                UdpIn::Rtp(buf[..len].to_vec())
            };
            let _ = tx.try_send(msg);
        }
    }
}

/// The hub as the connection's catalog.
struct HubCatalog<'a> {
    shared: &'a Shared,
}

impl HubCatalog<'_> {
    fn camera(&self, name: &str) -> Option<(CameraId, String, bool)> {
        self.shared.hub.read(|v| {
            v.find(name).map(|c| {
                (
                    c.info.id.clone(),
                    c.info.name.clone(),
                    c.info.can(Capability::Intercom),
                )
            })
        })
    }
}

impl Catalog for HubCatalog<'_> {
    fn describe(&self, camera: &str, stream: Option<&str>, backchannel: bool) -> Lookup {
        let Some((id, name, speaker)) = self.camera(camera) else {
            return Lookup::Unknown;
        };
        if stream.is_some() {
            // No camera offers a parallel sub-stream cheaply (README).
            return Lookup::Unknown;
        }
        let Some(feed) = self.shared.hub.live().get(&id) else {
            return Lookup::NotReady;
        };
        let Some(video) = video_track(&feed) else {
            return Lookup::NotReady;
        };
        let audio = feed.last_audio().as_ref().and_then(audio_track);
        Lookup::Found(Description {
            name,
            video,
            audio,
            backchannel: backchannel && speaker,
            session_id: self.shared.session_id,
        })
    }
}

/// The camera's video as RTP carries it, once a keyframe or a JPEG of the
/// camera's own is there.
fn video_track(feed: &CameraFeed) -> Option<VideoTrack> {
    let (gop, _) = feed.video_from_keyframe();
    if let Some(key) = gop.first() {
        return match key.codec {
            VideoCodec::H264 => rtp::h264_fmtp(&key.data).map(|fmtp| VideoTrack::H264 { fmtp }),
            VideoCodec::H265 => rtp::h265_fmtp(&key.data).map(|fmtp| VideoTrack::H265 { fmtp }),
        };
    }
    feed.latest_jpeg()
        .filter(|j| !j.decoded)
        .map(|_| VideoTrack::Jpeg)
}

/// Where the connection writes: the TCP stream (responses and interleaved
/// RTP) and the shared UDP sockets.
struct Writer<'a> {
    tcp: OwnedWriteHalf,
    udp: Option<&'a UdpPair>,
    buf: Vec<u8>,
}

impl Writer<'_> {
    /// Queues a packet for `setup`.
    fn packet(&mut self, setup: &TrackSetup, rtcp: bool, packet: &[u8]) -> Option<SocketAddr> {
        match setup.delivery {
            Delivery::Tcp { channel } => {
                let Ok(len) = u16::try_from(packet.len()) else {
                    return None;
                };
                self.buf.push(b'$');
                self.buf.push(channel.wrapping_add(u8::from(rtcp)));
                self.buf.extend_from_slice(&len.to_be_bytes());
                self.buf.extend_from_slice(packet);
                None
            }
            Delivery::Udp {
                rtp,
                rtcp: rtcp_addr,
            } => Some(if rtcp { rtcp_addr } else { rtp }),
        }
    }

    async fn udp(&self, rtcp: bool, to: SocketAddr, packet: &[u8]) {
        if let Some((rtp_sock, rtcp_sock)) = self.udp {
            let sock = if rtcp { rtcp_sock } else { rtp_sock };
            // A full socket buffer drops the datagram, as UDP does.
            let _ = std::future::poll_fn(|cx| sock.poll_send_to(cx, packet, to)).await;
        }
    }

    /// Writes what is queued for TCP; false if the client took nothing for
    /// [`STALL_LIMIT`] or is gone.
    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let ok = matches!(
            tokio::time::timeout(STALL_LIMIT, self.tcp.write_all(&self.buf)).await,
            Ok(Ok(()))
        );
        self.buf.clear();
        ok
    }
}

/// A client's live media while it plays.
struct Playing {
    player: Player,
    tracks: Vec<TrackSetup>,
    video: VideoSource,
    audio: Option<broadcast::Receiver<LiveAudioChunk>>,
    lags: Vec<Instant>,
    talk: Talk,
    /// Completes when the camera is removed.
    removed: CancellationToken,
    _viewer: Viewer,
}

enum VideoSource {
    Encoded(broadcast::Receiver<LiveVideo>),
    Jpeg(watch::Receiver<Option<Arc<LiveJpeg>>>),
}

/// One thing from the feed.
enum Media {
    Video(LiveVideo),
    Lagged,
    Jpeg(Arc<LiveJpeg>),
    Audio(LiveAudioChunk),
    Ended,
}

impl Playing {
    async fn next(&mut self) -> Media {
        let audio = async {
            match &mut self.audio {
                Some(rx) => loop {
                    match rx.recv().await {
                        Ok(c) => return Some(c),
                        // Late audio is not worth catching up: skip ahead.
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.removed.cancelled() => Media::Ended,
            v = async {
                match &mut self.video {
                    VideoSource::Encoded(rx) => match rx.recv().await {
                        Ok(v) => Media::Video(v),
                        Err(broadcast::error::RecvError::Lagged(_)) => Media::Lagged,
                        Err(broadcast::error::RecvError::Closed) => Media::Ended,
                    },
                    VideoSource::Jpeg(rx) => loop {
                        if rx.changed().await.is_err() {
                            return Media::Ended;
                        }
                        if let Some(j) = rx.borrow_and_update().clone() {
                            if !j.decoded {
                                return Media::Jpeg(j);
                            }
                        }
                    },
                }
            } => v,
            a = audio => a.map_or(Media::Ended, Media::Audio),
        }
    }
}

/// The back-channel of one client: decoded audio on its way to the camera.
struct Talk {
    camera: CameraId,
    tx: Option<mpsc::Sender<Vec<i16>>>,
    last: Option<Instant>,
    samples: u64,
}

impl Talk {
    fn new(camera: CameraId) -> Self {
        Self {
            camera,
            tx: None,
            last: None,
            samples: 0,
        }
    }

    /// An RTP packet from the client at `now`.
    fn packet(&mut self, hub: &Hub, now: Instant, packet: &[u8]) {
        let Some((pt, payload)) = rtp::payload(packet) else {
            return;
        };
        let decode: fn(u8) -> i16 = match pt {
            super::sdp::pt::PCMU => crate::media::audio::codec::mulaw_decode,
            super::sdp::pt::PCMA => crate::media::audio::codec::alaw_decode,
            _ => return,
        };
        let pcm: Vec<i16> = payload.iter().map(|&b| decode(b)).collect();
        self.last = Some(now);
        if self.tx.is_none() {
            let (tx, rx) = mpsc::channel(64);
            let request = IntercomRequest {
                source: IntercomSource::Live(LiveAudio::new(TALK_RATE, rx)),
                volume: 1.0,
                mode: PlaybackMode::Replace,
            };
            let input = CommandInput::Parsed(CameraCommand::Intercom(request));
            let (hub, camera) = (hub.clone(), self.camera.clone());
            tokio::spawn(async move {
                let wait = crate::command::PLAYBACK_WAIT;
                match hub.command(camera.clone(), input, wait).await {
                    Ok(()) => tracing::debug!(camera = %camera, "RTSP back-channel audio played"),
                    Err(e) => {
                        tracing::info!(camera = %camera, error = %e, "RTSP back-channel audio not played")
                    }
                }
            });
            self.tx = Some(tx);
            self.samples = 0;
        }
        self.samples += pcm.len() as u64;
        if self.samples > u64::from(TALK_RATE) * crate::command::MAX_PLAYBACK.as_secs() {
            // The longest playback: the rest is not sent.
            return;
        }
        if let Some(tx) = &self.tx {
            if tx.try_send(pcm).is_err() {
                tracing::trace!("back-channel audio dropped: the camera is not taking it");
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.tx.as_ref().and(self.last).map(|t| t + TALK_PAUSE)
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.deadline().is_some_and(|t| now >= t) {
            self.tx = None; // the playback ends when what arrived has played
        }
    }
}

fn random_session_id() -> String {
    format!("{:016X}", rand::rng().random::<u64>())
}

async fn connection(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let (mut rd, wr) = stream.into_split();
    let mut writer = Writer {
        tcp: wr,
        udp: shared.udp.as_ref(),
        buf: Vec::new(),
    };
    let cfg = ConnConfig {
        session_id: random_session_id(),
        peer,
        access: shared.settings.access.clone(),
        udp_ports: shared
            .udp
            .as_ref()
            .and_then(|(a, b)| Some((a.local_addr().ok()?.port(), b.local_addr().ok()?.port()))),
        epoch: shared.epoch,
    };
    let catalog = HubCatalog { shared };
    let mut conn = Conn::new(cfg, clock::now());
    let mut playing: Option<Playing> = None;
    let mut waiting: Option<(String, Instant)> = None;
    let (udp_tx, mut udp_rx) = mpsc::channel::<UdpIn>(64);
    let mut routes: Vec<SocketAddr> = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    tracing::debug!(%peer, "RTSP client connected");
    let why = 'conn: loop {
        // Answers first, then what the connection asks for.
        while let Some(b) = conn.poll_transmit() {
            writer.buf.extend_from_slice(&b);
        }
        while let Some(ev) = conn.poll_event() {
            match ev {
                ConnEvent::Play { camera, tracks } => {
                    playing = start(shared, &camera, &tracks, peer);
                    register(&shared.routes, &mut routes, &tracks, &udp_tx);
                    if playing.is_none() {
                        break 'conn "its camera went away";
                    }
                }
                ConnEvent::Teardown => {
                    playing = None;
                    unregister(&shared.routes, &mut routes);
                }
                ConnEvent::Close => break 'conn "closed",
                ConnEvent::Wait { camera } => {
                    waiting = Some((camera, clock::now() + DESCRIBE_WAIT));
                }
                ConnEvent::Backchannel(p) => {
                    if let Some(pl) = &mut playing {
                        pl.talk.packet(&shared.hub, clock::now(), &p);
                    }
                }
            }
        }
        if let Some(p) = &mut playing {
            while let Some(Outgoing {
                track,
                rtcp,
                packet,
            }) = p.player.poll_transmit()
            {
                if let Some(setup) = p.tracks.iter().find(|t| t.track == track) {
                    if let Some(to) = writer.packet(setup, rtcp, &packet) {
                        writer.udp(rtcp, to, &packet).await;
                    }
                }
            }
        }
        if !writer.flush().await {
            if playing.is_some() {
                shared.hub.status().rtsp_dropped();
            }
            break 'conn "its socket took nothing (too slow or gone)";
        }
        let deadline = [
            conn.poll_timeout(),
            playing.as_ref().and_then(|p| p.player.poll_timeout()),
            playing.as_ref().and_then(|p| p.talk.deadline()),
            // A waiting DESCRIBE looks again every 100 ms.
            waiting
                .as_ref()
                .map(|_| clock::now() + Duration::from_millis(100)),
        ]
        .into_iter()
        .flatten()
        .min();
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        let media = async {
            match &mut playing {
                Some(p) => p.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shared.shutdown.cancelled() => break 'conn "the bridge is stopping",
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break 'conn "the client left",
                Ok(n) => conn.handle_bytes(clock::now(), &buf[..n], &catalog),
            },
            () = sleep => {
                let now = clock::now();
                conn.handle_timeout(now);
                if let Some(p) = &mut playing {
                    p.player.handle_timeout(now);
                    p.talk.handle_timeout(now);
                }
                if let Some((camera, until)) = &waiting {
                    let last = now >= *until;
                    if last || catalog.describe(camera, None, false) != Lookup::NotReady {
                        waiting = None;
                        conn.retry(now, &catalog, last);
                    }
                }
            }
            m = media => {
                let now = clock::now();
                let Some(p) = &mut playing else { continue };
                match m {
                    Media::Video(LiveVideo::Frame(f)) => p.player.handle_video(now, &f, Some(now)),
                    Media::Video(LiveVideo::Lost) => p.player.handle_video_lost(),
                    Media::Lagged => {
                        p.player.handle_video_lost();
                        p.lags.retain(|t| now.duration_since(*t) < LAG_WINDOW);
                        p.lags.push(now);
                        if p.lags.len() >= MAX_LAGS {
                            shared.hub.status().rtsp_dropped();
                            break 'conn "it fell behind the camera too often";
                        }
                    }
                    Media::Jpeg(j) => {
                        let before = p.player.stats().reencoded;
                        p.player.handle_jpeg(now, &j.jpeg, j.at, reencode);
                        if p.player.stats().reencoded > before {
                            shared.hub.status().rtsp_reencoded();
                        }
                    }
                    Media::Audio(chunk) => p.player.handle_audio(now, &chunk),
                    Media::Ended => break 'conn "the camera went away",
                }
            }
            Some(u) = udp_rx.recv() => {
                let now = clock::now();
                conn.touch(now);
                if let (UdpIn::Rtp(pkt), Some(p)) = (u, &mut playing) {
                    p.talk.packet(&shared.hub, now, &pkt);
                }
            }
        }
    };
    unregister(&shared.routes, &mut routes);
    // Best effort: what is queued (a 400 answer) goes out.
    while let Some(b) = conn.poll_transmit() {
        writer.buf.extend_from_slice(&b);
    }
    let _ = writer.flush().await;
    tracing::debug!(%peer, "RTSP client gone: {why}");
}

/// A JPEG re-encoded as baseline 4:2:0 (what RFC 2435 carries).
fn reencode(jpeg: &[u8]) -> Option<Bytes> {
    let img = crate::media::jpeg::decode_bounded(jpeg).ok()?.to_rgb8();
    crate::media::jpeg::encode_rgb(&img, 85)
        .ok()
        .map(Bytes::from)
}

/// The media of `camera` for `tracks`, from its live feed.
fn start(
    shared: &Shared,
    camera: &str,
    tracks: &[TrackSetup],
    peer: SocketAddr,
) -> Option<Playing> {
    let catalog = HubCatalog { shared };
    let (id, _, _) = catalog.camera(camera)?;
    let Lookup::Found(d) = catalog.describe(camera, None, false) else {
        return None;
    };
    let feed = shared.hub.live().get(&id)?;
    let now = clock::now();
    let wants = |k: TrackKind| tracks.iter().find(|t| t.kind == k).map(|t| t.track);
    let video = wants(TrackKind::Video).map(|n| (n, d.video.clone()));
    let audio = wants(TrackKind::Audio).and_then(|n| d.audio.map(|a| (n, a)));
    let mut rng = rand::rng();
    let mut player = Player::new(
        now,
        clock::wall(),
        video.clone(),
        audio,
        [rng.random(), rng.random()],
        format!("cam2mqtt-{}", id.as_str()),
    );
    let source = match d.video {
        VideoTrack::Jpeg => {
            let mut rx = feed.jpegs();
            rx.mark_changed(); // the current picture goes out at once
            VideoSource::Jpeg(rx)
        }
        VideoTrack::H264 { .. } | VideoTrack::H265 { .. } => {
            let (gop, rx) = feed.video_from_keyframe();
            if video.is_some() {
                player.handle_gop(now, &gop);
            }
            VideoSource::Encoded(rx)
        }
    };
    tracing::debug!(%peer, camera = %id, "RTSP client plays");
    Some(Playing {
        player,
        tracks: tracks.to_vec(),
        video: source,
        audio: audio_rx(&feed, tracks),
        lags: Vec::new(),
        talk: Talk::new(id),
        removed: feed.removed(),
        _viewer: feed.watch_stream(),
    })
}

fn audio_rx(
    feed: &Arc<CameraFeed>,
    tracks: &[TrackSetup],
) -> Option<broadcast::Receiver<LiveAudioChunk>> {
    tracks
        .iter()
        .any(|t| t.kind == TrackKind::Audio)
        .then(|| feed.audio())
}

fn register(
    routes: &Routes,
    mine: &mut Vec<SocketAddr>,
    tracks: &[TrackSetup],
    tx: &mpsc::Sender<UdpIn>,
) {
    let mut r = routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for t in tracks {
        if let Delivery::Udp { rtp, rtcp } = t.delivery {
            for a in [rtp, rtcp] {
                r.insert(a, tx.clone());
                mine.push(a);
            }
        }
    }
}

fn unregister(routes: &Routes, mine: &mut Vec<SocketAddr>) {
    let mut r = routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for a in mine.drain(..) {
        r.remove(&a);
    }
}

/// The RTSP URL base (`rtsp://host:port`) for cameras' state: `configured`
/// if set, else the listening address if it names one, else `fallback_host`
/// (the host of the web UI's external URL, or this machine's address).
pub fn url_base(configured: &str, listen: SocketAddr, fallback_host: Option<IpAddr>) -> String {
    if !configured.is_empty() {
        return configured.trim_end_matches('/').to_string();
    }
    let ip = if listen.ip().is_unspecified() {
        fallback_host.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    } else {
        listen.ip()
    };
    format!("rtsp://{}", SocketAddr::new(ip, listen.port()))
}

#[cfg(test)]
mod tests;
