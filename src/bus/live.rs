//! Live feeds: per camera, the newest JPEG (latest wins), a small broadcast of
//! encoded video frames and one of received audio, frame counters for
//! health, and how many viewers watch. Fed where every frame already passes
//! (the session's event sink in `supervisor/camera.rs`); read by HTTP
//! (MJPEG), RTSP, and the live decoder.
//!
//! Nothing here may slow a camera: feeding is a few atomic stores, a
//! `watch::send_replace` and a `broadcast::send`, none of which waits for a
//! reader. A reader that is slow sees only the newest JPEG; a video reader
//! that lags is told so and skips ahead (for a decoder: to the next keyframe).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::io::clock;
use crate::model::{AudioCodec, CameraId, VideoFrame};

/// Video frames the broadcast keeps for a slow reader (about 3 s at 20 fps).
pub const VIDEO_CAPACITY: usize = 64;
/// Audio chunks the broadcast keeps for a slow reader (a few seconds of
/// camera packets).
pub const AUDIO_CAPACITY: usize = 128;
/// Most frames of the current GOP kept for a decoder that starts mid-GOP.
pub const GOP_FRAMES: usize = 600;
/// Most bytes of the current GOP kept (the payloads are shared with the
/// snapshot cache, so this costs references, not copies).
pub const GOP_BYTES: usize = 16 << 20;

/// The current GOP: the last keyframe and every frame after it, so a
/// decoder started now can show the current picture at once instead of
/// waiting for the next keyframe.
#[derive(Debug, Default)]
struct Gop {
    frames: Vec<VideoFrame>,
    bytes: usize,
}

/// One live picture.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJpeg {
    /// Increases with every picture of this camera.
    pub seq: u64,
    /// JPEG bytes.
    pub jpeg: Bytes,
    /// Whether the bridge encoded it (from H.264/H.265) rather than the camera.
    pub decoded: bool,
    /// When it reached the hub (the bridge's clock): a stream's timeline
    /// follows the camera's cadence, not when a viewer got around to it.
    pub at: Instant,
}

/// What the video broadcast carries.
#[derive(Debug, Clone)]
pub enum LiveVideo {
    /// The next access unit.
    Frame(VideoFrame),
    /// Frames were lost before this point: decoding restarts at a keyframe.
    Lost,
}

/// One chunk of the camera's audio as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAudioChunk {
    /// Encoding.
    pub codec: AudioCodec,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Encoded bytes (one camera packet).
    pub data: Bytes,
    /// When it arrived (the bridge's clock; video arrivals share it).
    pub at: Instant,
}

/// Who watches: viewers of pictures (MJPEG, the web UI: for an H.264/H.265
/// camera they need the live decoder) and viewers of the camera's own
/// stream (RTSP: no decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewers {
    /// Viewers of JPEG pictures.
    pub pictures: usize,
    /// Viewers of the encoded stream.
    pub streams: usize,
}

impl Viewers {
    /// Everyone.
    pub fn total(&self) -> usize {
        self.pictures + self.streams
    }
}

/// Counters of one camera's feed, as read for health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedCounters {
    /// Complete pictures (JPEG or video access units) received since start.
    pub frames: u64,
    /// Their bytes.
    pub bytes: u64,
    /// JPEGs handed to viewers (from the camera or the live decoder).
    pub jpegs: u64,
}

/// Upper bounds (seconds) of the snapshot latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A fixed-bucket histogram of snapshot latencies (request to JPEG ready),
/// in the shape Prometheus histograms take.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    /// Records one latency.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// `(sum in seconds, count, (upper bound, observations in that bucket
    /// alone))`, the last bucket's bound being `f64::MAX` (+Inf): the shape
    /// `prometheus-client` encodes (it sums the buckets itself).
    pub fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let count = self.count.load(Ordering::Relaxed);
        let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, n)| (*bound, n.load(Ordering::Relaxed)))
            .collect();
        let counted: u64 = buckets.iter().map(|(_, n)| n).sum();
        buckets.push((f64::MAX, count.saturating_sub(counted)));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        (sum, count, buckets)
    }
}

/// One camera's live feed.
#[derive(Debug)]
pub struct CameraFeed {
    /// How long snapshots took from request to JPEG.
    pub snapshot_latency: LatencyHistogram,
    jpeg: watch::Sender<Option<Arc<LiveJpeg>>>,
    video: broadcast::Sender<LiveVideo>,
    audio: broadcast::Sender<LiveAudioChunk>,
    /// The last audio chunk (a stream's description names its format).
    last_audio: Mutex<Option<LiveAudioChunk>>,
    /// Held while a frame is sent, so [`CameraFeed::video_from_keyframe`]
    /// hands out a GOP and a subscription with no gap and no overlap.
    gop: Mutex<Gop>,
    viewers: watch::Sender<Viewers>,
    frames: AtomicU64,
    bytes: AtomicU64,
    jpegs: AtomicU64,
    /// Milliseconds after `epoch` of the last frame, plus one (0: none yet).
    last_frame: AtomicU64,
    epoch: Instant,
    /// Cancelled when the camera is removed: its viewers end.
    removed: CancellationToken,
}

impl CameraFeed {
    fn new() -> Self {
        Self {
            snapshot_latency: LatencyHistogram::default(),
            jpeg: watch::channel(None).0,
            video: broadcast::channel(VIDEO_CAPACITY).0,
            audio: broadcast::channel(AUDIO_CAPACITY).0,
            last_audio: Mutex::new(None),
            gop: Mutex::new(Gop::default()),
            viewers: watch::channel(Viewers::default()).0,
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            jpegs: AtomicU64::new(0),
            last_frame: AtomicU64::new(0),
            epoch: clock::now(),
            removed: CancellationToken::new(),
        }
    }

    /// A token cancelled once the camera is removed (its viewers end then;
    /// a camera added again under the same id gets a new feed).
    pub fn removed(&self) -> CancellationToken {
        self.removed.child_token()
    }

    /// A complete picture arrived at `now` (for health and the counters).
    pub fn record_frame(&self, now: Instant, bytes: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        let ms = u64::try_from(ms).unwrap_or(u64::MAX - 1);
        self.last_frame.store(ms + 1, Ordering::Relaxed);
    }

    /// A new picture for viewers (replaces the one before).
    pub fn push_jpeg(&self, jpeg: Bytes, decoded: bool) {
        let seq = self.jpegs.fetch_add(1, Ordering::Relaxed) + 1;
        self.jpeg.send_replace(Some(Arc::new(LiveJpeg {
            seq,
            jpeg,
            decoded,
            at: clock::now(),
        })));
    }

    /// Forgets the picture (the session ended: no stale picture for a new viewer).
    pub fn clear_jpeg(&self) {
        self.jpeg.send_replace(None);
    }

    /// Forgets the picture if the bridge decoded it (the live decoder
    /// stopped: a new viewer waits for a fresh one rather than seeing an old
    /// picture as live).
    pub fn clear_decoded(&self) {
        self.jpeg.send_if_modified(|j| {
            let decoded = j.as_ref().is_some_and(|p| p.decoded);
            if decoded {
                *j = None;
            }
            decoded
        });
    }

    /// The next video frame, for whoever reads video (nobody: nothing is done).
    pub fn push_video(&self, frame: &VideoFrame) {
        let mut gop = self.lock_gop();
        if frame.keyframe {
            gop.frames.clear();
            gop.bytes = 0;
        }
        let fits = gop.frames.len() < GOP_FRAMES && gop.bytes + frame.data.len() <= GOP_BYTES;
        if (frame.keyframe || !gop.frames.is_empty()) && fits {
            gop.bytes += frame.data.len();
            gop.frames.push(frame.clone());
        } else {
            // Too long a GOP, or no keyframe yet: a late decoder waits for one.
            gop.frames.clear();
            gop.bytes = 0;
        }
        if self.video.receiver_count() > 0 {
            let _ = self.video.send(LiveVideo::Frame(frame.clone()));
        }
    }

    /// A chunk of the camera's audio, arrived at `at`.
    pub fn push_audio(&self, codec: AudioCodec, sample_rate: u32, data: Bytes, at: Instant) {
        let chunk = LiveAudioChunk {
            codec,
            sample_rate,
            data,
            at,
        };
        if self.audio.receiver_count() > 0 {
            let _ = self.audio.send(chunk.clone());
        }
        *self
            .last_audio
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(chunk);
    }

    /// The camera's audio from now on.
    pub fn audio(&self) -> broadcast::Receiver<LiveAudioChunk> {
        self.audio.subscribe()
    }

    /// The camera's last audio chunk (`None`: none seen), for its format.
    pub fn last_audio(&self) -> Option<LiveAudioChunk> {
        self.last_audio
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Video frames were lost upstream.
    pub fn video_lost(&self) {
        let mut gop = self.lock_gop();
        gop.frames.clear();
        gop.bytes = 0;
        if self.video.receiver_count() > 0 {
            let _ = self.video.send(LiveVideo::Lost);
        }
    }

    fn lock_gop(&self) -> std::sync::MutexGuard<'_, Gop> {
        self.gop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current GOP (keyframe first; empty when there is none) and every
    /// frame after it: a decoder fed both in order starts at the current
    /// picture.
    pub fn video_from_keyframe(&self) -> (Vec<VideoFrame>, broadcast::Receiver<LiveVideo>) {
        let gop = self.lock_gop();
        (gop.frames.clone(), self.video.subscribe())
    }

    /// The newest picture and every later one.
    pub fn jpegs(&self) -> watch::Receiver<Option<Arc<LiveJpeg>>> {
        self.jpeg.subscribe()
    }

    /// The newest picture now.
    pub fn latest_jpeg(&self) -> Option<Arc<LiveJpeg>> {
        self.jpeg.borrow().clone()
    }

    /// Video frames from now on.
    pub fn video(&self) -> broadcast::Receiver<LiveVideo> {
        self.video.subscribe()
    }

    /// Counts a viewer of pictures until the returned guard is dropped.
    pub fn watch(self: &Arc<Self>) -> Viewer {
        self.viewers.send_modify(|n| n.pictures += 1);
        Viewer {
            feed: self.clone(),
            stream: false,
        }
    }

    /// Counts a viewer of the encoded stream (no decoding needed) until the
    /// returned guard is dropped.
    pub fn watch_stream(self: &Arc<Self>) -> Viewer {
        self.viewers.send_modify(|n| n.streams += 1);
        Viewer {
            feed: self.clone(),
            stream: true,
        }
    }

    /// The viewers, and every change.
    pub fn viewers(&self) -> watch::Receiver<Viewers> {
        self.viewers.subscribe()
    }

    /// Viewers now (of pictures and of the stream).
    pub fn viewer_count(&self) -> usize {
        self.viewers.borrow().total()
    }

    /// The counters.
    pub fn counters(&self) -> FeedCounters {
        FeedCounters {
            frames: self.frames.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            jpegs: self.jpegs.load(Ordering::Relaxed),
        }
    }

    /// How long ago the last frame arrived (`None`: none yet).
    pub fn last_frame_age(&self, now: Instant) -> Option<Duration> {
        match self.last_frame.load(Ordering::Relaxed) {
            0 => None,
            ms => {
                let at = self.epoch + Duration::from_millis(ms - 1);
                Some(now.saturating_duration_since(at))
            }
        }
    }
}

/// A viewer, counted while this lives.
#[derive(Debug)]
pub struct Viewer {
    feed: Arc<CameraFeed>,
    stream: bool,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let stream = self.stream;
        self.feed.viewers.send_modify(|n| {
            let count = if stream {
                &mut n.streams
            } else {
                &mut n.pictures
            };
            *count = count.saturating_sub(1);
        });
    }
}

/// Every camera's feed.
#[derive(Debug, Default)]
pub struct LiveFeeds {
    feeds: Mutex<HashMap<CameraId, Arc<CameraFeed>>>,
}

impl LiveFeeds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CameraId, Arc<CameraFeed>>> {
        self.feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The camera's feed, created if needed (by its camera task).
    pub fn feed(&self, id: &CameraId) -> Arc<CameraFeed> {
        self.lock()
            .entry(id.clone())
            .or_insert_with(|| Arc::new(CameraFeed::new()))
            .clone()
    }

    /// The camera's feed, if it has one.
    pub fn get(&self, id: &CameraId) -> Option<Arc<CameraFeed>> {
        self.lock().get(id).cloned()
    }

    /// Forgets a removed camera's feed; its viewers end
    /// ([`CameraFeed::removed`]).
    pub fn remove(&self, id: &CameraId) {
        if let Some(feed) = self.lock().remove(id) {
            feed.removed.cancel();
        }
    }

    /// Every feed.
    pub fn all(&self) -> Vec<(CameraId, Arc<CameraFeed>)> {
        let mut all: Vec<_> = self
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_removed_cameras_viewers_are_told_and_a_new_feed_starts_fresh() {
        let feeds = LiveFeeds::default();
        let door = CameraId::parse("door").unwrap();
        let feed = feeds.feed(&door);
        let removed = feed.removed();
        let removed = removed.cancelled();
        feed.push_jpeg(Bytes::from_static(b"old"), false);
        feeds.remove(&door);
        tokio::time::timeout(Duration::from_secs(1), removed)
            .await
            .expect("viewers hear of the removal");
        let again = feeds.feed(&door);
        assert!(again.latest_jpeg().is_none());
        let token = again.removed();
        let still = tokio::time::timeout(Duration::from_millis(50), token.cancelled()).await;
        assert!(still.is_err(), "the new feed is not removed");
    }

    #[tokio::test]
    async fn a_slow_viewer_sees_only_the_newest_picture() {
        let feeds = LiveFeeds::default();
        let feed = feeds.feed(&CameraId::parse("door").unwrap());
        let mut rx = feed.jpegs();
        for i in 0..100u8 {
            feed.push_jpeg(Bytes::from(vec![i]), false);
        }
        rx.changed().await.unwrap();
        let pic = rx.borrow_and_update().clone().unwrap();
        assert_eq!((pic.seq, pic.jpeg.as_ref()), (100, &[99u8][..]));
        assert!(!rx.has_changed().unwrap());
    }

    #[test]
    fn a_stopped_decoder_leaves_no_decoded_picture_but_a_cameras_own_stays() {
        let feeds = LiveFeeds::default();
        let feed = feeds.feed(&CameraId::parse("door").unwrap());
        feed.push_jpeg(Bytes::from_static(b"decoded"), true);
        feed.clear_decoded();
        assert_eq!(feed.latest_jpeg(), None);
        feed.push_jpeg(Bytes::from_static(b"camera's own"), false);
        feed.clear_decoded();
        assert!(feed.latest_jpeg().is_some());
    }

    #[tokio::test]
    async fn viewers_are_counted_while_their_guard_lives() {
        let feeds = LiveFeeds::default();
        let feed = feeds.feed(&CameraId::parse("door").unwrap());
        let mut count = feed.viewers();
        let a = feed.watch();
        let b = feed.watch();
        let c = feed.watch_stream();
        assert_eq!(feed.viewer_count(), 3);
        assert_eq!(
            *count.borrow_and_update(),
            Viewers {
                pictures: 2,
                streams: 1
            }
        );
        drop(a);
        drop(b);
        drop(c);
        count.changed().await.unwrap();
        assert_eq!(*count.borrow_and_update(), Viewers::default());
    }

    #[tokio::test]
    async fn a_lagging_video_reader_is_told_and_the_feeder_never_waits() {
        let feeds = LiveFeeds::default();
        let feed = feeds.feed(&CameraId::parse("door").unwrap());
        let frame = VideoFrame {
            codec: crate::model::VideoCodec::H264,
            keyframe: true,
            timestamp: Duration::ZERO,
            data: Bytes::from_static(b"x"),
        };
        feed.push_video(&frame); // nobody reads: dropped at once
        let mut rx = feed.video();
        for _ in 0..VIDEO_CAPACITY * 3 {
            feed.push_video(&frame);
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(n)) if n == (VIDEO_CAPACITY * 2) as u64
        ));
        assert!(matches!(rx.recv().await, Ok(LiveVideo::Frame(_))));
    }

    #[test]
    fn latencies_fall_into_their_buckets_and_the_slowest_into_inf() {
        let h = LatencyHistogram::default();
        for ms in [10, 80, 80, 700, 40_000] {
            h.observe(Duration::from_millis(ms));
        }
        let (sum, count, buckets) = h.read();
        assert_eq!(count, 5);
        assert!((sum - 40.87).abs() < 1e-6, "{sum}");
        let at = |bound: f64| buckets.iter().find(|(b, _)| *b == bound).unwrap().1;
        assert_eq!((at(0.05), at(0.1), at(1.0), at(30.0)), (1, 2, 1, 0));
        assert_eq!(at(f64::MAX), 1, "40 s is only in +Inf");
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), count);
    }

    #[tokio::test]
    async fn a_late_reader_gets_the_current_gop_and_then_every_frame_without_a_gap() {
        let feed = CameraFeed::new();
        let frame = |n: u64, keyframe: bool| VideoFrame {
            codec: crate::model::VideoCodec::H264,
            keyframe,
            timestamp: Duration::from_millis(50 * n),
            data: Bytes::from(n.to_be_bytes().to_vec()),
        };
        feed.push_video(&frame(0, false)); // no keyframe yet: nothing kept
        assert!(feed.video_from_keyframe().0.is_empty());
        for n in 1..=5 {
            feed.push_video(&frame(n, n == 1 || n == 4));
        }
        let (gop, mut rx) = feed.video_from_keyframe();
        let stamps: Vec<u64> = gop
            .iter()
            .map(|f| f.timestamp.as_millis() as u64 / 50)
            .collect();
        assert_eq!(stamps, vec![4, 5], "from the last keyframe");
        feed.push_video(&frame(6, false));
        assert!(
            matches!(rx.recv().await, Ok(LiveVideo::Frame(f)) if f.timestamp == Duration::from_millis(300))
        );
        feed.video_lost();
        assert!(feed.video_from_keyframe().0.is_empty(), "a loss empties it");
    }

    #[test]
    fn the_last_frame_age_counts_from_the_last_recorded_frame() {
        let feed = CameraFeed::new();
        let t = feed.epoch + Duration::from_secs(5);
        assert_eq!(feed.last_frame_age(t), None);
        feed.record_frame(t, 1000);
        assert_eq!(
            feed.last_frame_age(t + Duration::from_secs(3)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(feed.counters().frames, 1);
        assert_eq!(feed.counters().bytes, 1000);
    }
}
