//! The per-camera media sink: keeps what the next snapshot needs, and nothing
//! more.
//!
//! For one camera it owns
//! * MJPEG: the newest complete JPEG, with a running sequence number and the
//!   `Instant` it arrived;
//! * H.264 / H.265: the current GOP, i.e. the last keyframe and every frame
//!   after it that still decodes, so a decoder fed the whole GOP ends on the
//!   newest picture when a snapshot is due.
//!
//! It must not read a clock, await, touch a socket or decode anything: it is
//! sans-IO like `proto/`, and time comes in as `now` arguments. It must not grow
//! without bound (the GOP is capped in bytes and in frames, and only one JPEG is
//! kept) and it must never hand out a frame sequence that a decoder cannot
//! decode from its first frame to its last: a GOP source always starts with a
//! keyframe and contains no gap.
//!
//! GOP rules:
//! * a keyframe starts a new GOP and evicts the old one;
//! * a non-key frame that would push the GOP over the byte bound (or over
//!   [`MAX_GOP_FRAMES`]) closes the GOP: it and every frame up to the next
//!   keyframe are dropped, and the frames already cached stay the snapshot
//!   source. The snapshot is then a little older, never garbage;
//! * a keyframe bigger than the whole bound cannot be cached: it closes the
//!   current GOP the same way (the frames after it depend on it), so the old
//!   prefix stays the source until a keyframe that fits arrives;
//! * [`MediaSink::lost`] (the session saw a video frame go missing) closes the
//!   GOP the same way: frames after a gap would decode to garbage;
//! * frames before any keyframe, and empty frames, are ignored;
//! * a codec change (H.264 ↔ H.265, video ↔ MJPEG) starts over.
//!
//! Every ignored or dropped frame is counted in [`SinkStats`].

use std::fmt;
use std::time::Instant;

use bytes::Bytes;

use crate::model::{VideoCodec, VideoFrame};

/// Most frames one GOP may hold. The byte bound alone would let a flood of tiny
/// frames grow the frame list (and the decode work per snapshot) far beyond
/// any real GOP; 1024 frames is 34 s at 30 fps, longer than the GOPs cameras
/// use. Reaching it closes the GOP like the byte bound does.
pub const MAX_GOP_FRAMES: usize = 1024;

/// What a snapshot can be made from, as handed out by
/// [`MediaSink::snapshot_source`]. Cheap to clone: the payloads are refcounted
/// [`Bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotSource {
    /// An MJPEG camera's newest picture, ready to publish as is.
    Jpeg {
        /// Sequence number of this picture, to tell whether it was published.
        seq: u64,
        /// When it arrived, to judge how fresh it is.
        at: Instant,
        /// The complete JPEG.
        jpeg: Bytes,
    },
    /// A video camera's cached GOP: decoding all of it yields the newest
    /// picture the sink can produce.
    Gop {
        /// Sequence number of the last frame, i.e. of the picture decoding
        /// ends on, to tell whether it was published.
        seq: u64,
        /// When the last frame arrived, to judge how fresh the picture is.
        at: Instant,
        /// Codec of every frame, so the caller picks the decoder.
        codec: VideoCodec,
        /// Keyframe first, then every following frame without a gap.
        frames: Vec<VideoFrame>,
    },
}

impl SnapshotSource {
    /// Sequence number of the picture this source produces.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Jpeg { seq, .. } | Self::Gop { seq, .. } => *seq,
        }
    }

    /// When the newest data of this source arrived.
    pub fn at(&self) -> Instant {
        match self {
            Self::Jpeg { at, .. } | Self::Gop { at, .. } => *at,
        }
    }
}

/// Counters for diagnostics. The GOP sizes describe the cache now; the other
/// counters are cumulative over the sink's life (not reset by
/// [`MediaSink::clear`]), so trouble across session restarts stays visible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Payload bytes in the cached GOP (0 without one); never above the bound.
    pub gop_bytes: usize,
    /// Frames in the cached GOP (0 without one); never above [`MAX_GOP_FRAMES`].
    pub gop_frames: usize,
    /// Video frames not cached: before any keyframe, after a loss or a
    /// truncation until the next keyframe, oversized keyframes, and empty
    /// frames. Growing steadily means snapshots are often older than the
    /// stream.
    pub frames_ignored: u64,
    /// GOPs closed because the next frame would exceed the byte or frame
    /// bound; growing steadily means the bound is too small for the camera's
    /// GOP length and bitrate.
    pub gops_truncated: u64,
    /// Keyframes bigger than the whole byte bound (also counted in
    /// `frames_ignored`); any at all means the bound cannot hold one picture.
    pub keyframes_too_big: u64,
    /// Calls to [`MediaSink::lost`]: video frames the session saw go missing.
    pub losses: u64,
}

/// The newest JPEG of an MJPEG camera.
struct LatestJpeg {
    /// Its sequence number, handed out by [`MediaSink::push_jpeg`].
    seq: u64,
    /// Arrival time, reported with the snapshot source.
    at: Instant,
    /// The picture; bounded upstream by the frame assembler's size cap.
    jpeg: Bytes,
}

/// The cached GOP of a video camera.
struct Gop {
    /// Codec of every frame; a frame of another codec starts over.
    codec: VideoCodec,
    /// Keyframe first, then the following frames without a gap; never empty.
    frames: Vec<VideoFrame>,
    /// Sum of the frames' payload lengths, checked against the bound.
    bytes: usize,
    /// Sequence number of the last frame (the picture decoding ends on).
    seq: u64,
    /// Arrival time of the last frame.
    at: Instant,
    /// False once a loss, the bound or an oversized keyframe closed the GOP:
    /// frames are then dropped until the next keyframe, because appending
    /// them after a gap would make the sequence undecodable.
    appending: bool,
}

/// What the sink holds: at most one kind at a time, since a camera streams
/// one codec and a codec change starts over.
enum Cache {
    /// Nothing usable yet (start, after `clear`, after a codec change).
    Empty,
    /// An MJPEG camera's newest picture.
    Jpeg(LatestJpeg),
    /// A video camera's GOP.
    Gop(Gop),
}

/// Per-camera media sink; see the module documentation for the rules.
pub struct MediaSink {
    /// Byte bound of the GOP cache, fixed at construction.
    max_gop_bytes: usize,
    /// Next sequence number to hand out. Starts at 1 (so a caller may use 0
    /// for "nothing published") and is never reset, not even by `clear`, so a
    /// number is never reused for a different picture.
    next_seq: u64,
    /// The cached media.
    cache: Cache,
    /// Cumulative counters (the GOP sizes are filled in by `stats`).
    stats: SinkStats,
}

impl fmt::Debug for MediaSink {
    /// Summarises instead of dumping the cached payloads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaSink")
            .field("max_gop_bytes", &self.max_gop_bytes)
            .field("latest_seq", &self.latest_seq())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Hands out `next` and advances it. Wrapping instead of overflowing: 2^64
/// frames are out of reach, and the sink must never panic.
fn take_seq(next: &mut u64) -> u64 {
    let seq = *next;
    *next = next.wrapping_add(1);
    seq
}

impl MediaSink {
    /// A sink whose GOP cache holds at most `max_gop_bytes` payload bytes. A
    /// keyframe bigger than that is never cached, so choose a bound of several
    /// keyframes (a few MiB for 1080p).
    pub fn new(max_gop_bytes: usize) -> Self {
        Self {
            max_gop_bytes,
            next_seq: 1,
            cache: Cache::Empty,
            stats: SinkStats::default(),
        }
    }

    /// The byte bound given to [`MediaSink::new`].
    pub fn max_gop_bytes(&self) -> usize {
        self.max_gop_bytes
    }

    /// Keeps `jpeg` as the newest picture (replacing any older one, or a GOP
    /// if the camera switched from video) and returns its sequence number.
    pub fn push_jpeg(&mut self, now: Instant, jpeg: Bytes) -> u64 {
        let seq = take_seq(&mut self.next_seq);
        self.cache = Cache::Jpeg(LatestJpeg { seq, at: now, jpeg });
        seq
    }

    /// Offers one video frame to the GOP cache. Returns its sequence number if
    /// it was cached (the snapshot source now ends on it), `None` if it was
    /// ignored: before any keyframe, after a loss or truncation until the next
    /// keyframe, over the bound, or empty (see the module documentation).
    pub fn push_video(&mut self, now: Instant, frame: VideoFrame) -> Option<u64> {
        if frame.data.is_empty() {
            // Carries no picture; skipping it removes no bytes a decoder needs.
            self.stats.frames_ignored += 1;
            return None;
        }
        let codec_changed = match &self.cache {
            Cache::Empty => false,
            Cache::Jpeg(_) => true,
            Cache::Gop(gop) => gop.codec != frame.codec,
        };
        if codec_changed {
            self.cache = Cache::Empty;
        }
        let len = frame.data.len();
        if frame.keyframe {
            if len > self.max_gop_bytes {
                self.stats.keyframes_too_big += 1;
                self.stats.frames_ignored += 1;
                // The frames after it depend on it: close the old GOP, whose
                // prefix still decodes.
                if let Cache::Gop(gop) = &mut self.cache {
                    gop.appending = false;
                }
                return None;
            }
            let seq = take_seq(&mut self.next_seq);
            self.cache = Cache::Gop(Gop {
                codec: frame.codec,
                frames: vec![frame],
                bytes: len,
                seq,
                at: now,
                appending: true,
            });
            return Some(seq);
        }
        let Cache::Gop(gop) = &mut self.cache else {
            self.stats.frames_ignored += 1;
            return None;
        };
        if !gop.appending {
            self.stats.frames_ignored += 1;
            return None;
        }
        let bytes = gop.bytes.saturating_add(len);
        if bytes > self.max_gop_bytes || gop.frames.len() >= MAX_GOP_FRAMES {
            gop.appending = false;
            self.stats.gops_truncated += 1;
            self.stats.frames_ignored += 1;
            return None;
        }
        let seq = take_seq(&mut self.next_seq);
        gop.frames.push(frame);
        gop.bytes = bytes;
        gop.seq = seq;
        gop.at = now;
        Some(seq)
    }

    /// The session reports that a video frame went missing: no frame is
    /// appended until the next keyframe; what is cached stays the source.
    pub fn lost(&mut self) {
        self.stats.losses += 1;
        if let Cache::Gop(gop) = &mut self.cache {
            gop.appending = false;
        }
    }

    /// Drops all cached media, for a session restart: frames of a new session
    /// must never be decoded together with frames of the old one. Sequence
    /// numbers continue and cumulative counters are kept.
    pub fn clear(&mut self) {
        self.cache = Cache::Empty;
    }

    /// Sequence number of the picture [`MediaSink::snapshot_source`] would
    /// produce, or `None` if there is nothing to snapshot.
    pub fn latest_seq(&self) -> Option<u64> {
        match &self.cache {
            Cache::Empty => None,
            Cache::Jpeg(j) => Some(j.seq),
            Cache::Gop(gop) => Some(gop.seq),
        }
    }

    /// What a snapshot can be made from now, or `None` if nothing is cached.
    /// A GOP source starts with its keyframe and has no gap.
    pub fn snapshot_source(&self) -> Option<SnapshotSource> {
        match &self.cache {
            Cache::Empty => None,
            Cache::Jpeg(j) => Some(SnapshotSource::Jpeg {
                seq: j.seq,
                at: j.at,
                jpeg: j.jpeg.clone(),
            }),
            Cache::Gop(gop) => Some(SnapshotSource::Gop {
                seq: gop.seq,
                at: gop.at,
                codec: gop.codec,
                frames: gop.frames.clone(),
            }),
        }
    }

    /// Current GOP size and cumulative counters.
    pub fn stats(&self) -> SinkStats {
        let (gop_bytes, gop_frames) = match &self.cache {
            Cache::Gop(gop) => (gop.bytes, gop.frames.len()),
            Cache::Empty | Cache::Jpeg(_) => (0, 0),
        };
        SinkStats {
            gop_bytes,
            gop_frames,
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t0() -> Instant {
        // An arbitrary origin from the one permitted clock; the sink reads none.
        crate::proto::testing::t0()
    }

    fn at(t: Instant, n: u64) -> Instant {
        t + Duration::from_millis(n * 50)
    }

    fn frame(codec: VideoCodec, keyframe: bool, n: u64, size: usize) -> VideoFrame {
        VideoFrame {
            codec,
            keyframe,
            timestamp: Duration::from_millis(n * 50),
            data: Bytes::from(vec![n as u8; size]),
        }
    }

    fn key(n: u64, size: usize) -> VideoFrame {
        frame(VideoCodec::H264, true, n, size)
    }

    fn delta(n: u64, size: usize) -> VideoFrame {
        frame(VideoCodec::H264, false, n, size)
    }

    fn gop_frames(sink: &MediaSink) -> Vec<VideoFrame> {
        match sink.snapshot_source() {
            Some(SnapshotSource::Gop { frames, .. }) => frames,
            other => panic!("expected a GOP source, got {other:?}"),
        }
    }

    #[test]
    fn the_latest_jpeg_wins_and_its_seq_increases() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        let a = sink.push_jpeg(t, Bytes::from_static(b"first"));
        let b = sink.push_jpeg(
            t + Duration::from_millis(100),
            Bytes::from_static(b"second"),
        );
        assert!(b > a);
        assert_eq!(sink.latest_seq(), Some(b));
        assert_eq!(
            sink.snapshot_source(),
            Some(SnapshotSource::Jpeg {
                seq: b,
                at: t + Duration::from_millis(100),
                jpeg: Bytes::from_static(b"second"),
            })
        );
        assert_eq!(sink.stats().gop_frames, 0);
    }

    #[test]
    fn a_keyframe_evicts_the_previous_gop() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        sink.push_video(t, key(0, 10));
        sink.push_video(t, delta(1, 10));
        sink.push_video(t, delta(2, 10));
        let seq = sink
            .push_video(at(t, 3), key(3, 10))
            .expect("keyframe cached");
        assert_eq!(gop_frames(&sink), vec![key(3, 10)]);
        assert_eq!(sink.latest_seq(), Some(seq));
        assert_eq!(sink.snapshot_source().map(|s| s.at()), Some(at(t, 3)));
        let last = sink
            .push_video(at(t, 4), delta(4, 10))
            .expect("delta cached");
        assert!(last > seq);
        assert_eq!(gop_frames(&sink), vec![key(3, 10), delta(4, 10)]);
        assert_eq!(sink.stats().gop_bytes, 20);
        assert_eq!(sink.stats().gop_frames, 2);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_ignored_and_counted() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        assert_eq!(sink.push_video(t, delta(0, 10)), None);
        assert_eq!(sink.push_video(t, delta(1, 10)), None);
        assert_eq!(sink.snapshot_source(), None);
        assert_eq!(sink.latest_seq(), None);
        assert_eq!(sink.stats().frames_ignored, 2);
        assert!(sink.push_video(t, key(2, 10)).is_some());
        assert_eq!(gop_frames(&sink), vec![key(2, 10)]);
    }

    #[test]
    fn the_byte_bound_holds_and_the_source_stays_a_decodable_prefix() {
        let mut sink = MediaSink::new(100);
        let t = t0();
        sink.push_video(t, key(0, 40));
        let kept = sink.push_video(t, delta(1, 30)).expect("fits");
        assert!(sink.push_video(t, delta(2, 30)).is_some()); // exactly 100
        let kept_last = sink.latest_seq();
        assert!(kept_last > Some(kept));
        // Over the bound: the GOP closes, even for frames that would fit.
        assert_eq!(sink.push_video(t, delta(3, 1)), None);
        assert_eq!(sink.push_video(t, delta(4, 0)), None);
        assert_eq!(sink.push_video(t, delta(5, 1)), None);
        let stats = sink.stats();
        assert_eq!(stats.gop_bytes, 100);
        assert_eq!(stats.gops_truncated, 1);
        assert_eq!(stats.frames_ignored, 3);
        assert_eq!(sink.latest_seq(), kept_last);
        assert_eq!(
            gop_frames(&sink),
            vec![key(0, 40), delta(1, 30), delta(2, 30)]
        );
        // The next keyframe opens a fresh GOP.
        assert!(sink.push_video(t, key(6, 50)).is_some());
        assert!(sink.push_video(t, delta(7, 50)).is_some());
        assert_eq!(gop_frames(&sink), vec![key(6, 50), delta(7, 50)]);
    }

    #[test]
    fn a_keyframe_over_the_whole_bound_closes_the_gop_and_keeps_the_old_prefix() {
        let mut sink = MediaSink::new(100);
        let t = t0();
        sink.push_video(t, key(0, 40));
        sink.push_video(t, delta(1, 10));
        assert_eq!(sink.push_video(t, key(2, 101)), None);
        assert_eq!(sink.push_video(t, delta(3, 10)), None);
        assert_eq!(gop_frames(&sink), vec![key(0, 40), delta(1, 10)]);
        let stats = sink.stats();
        assert_eq!(stats.keyframes_too_big, 1);
        assert_eq!(stats.frames_ignored, 2);
    }

    #[test]
    fn the_frame_cap_closes_the_gop_like_the_byte_bound() {
        let mut sink = MediaSink::new(usize::MAX);
        let t = t0();
        sink.push_video(t, key(0, 1));
        for n in 1..MAX_GOP_FRAMES as u64 {
            assert!(sink.push_video(t, delta(n, 1)).is_some());
        }
        assert_eq!(sink.push_video(t, delta(5000, 1)), None);
        let stats = sink.stats();
        assert_eq!(stats.gop_frames, MAX_GOP_FRAMES);
        assert_eq!(stats.gops_truncated, 1);
    }

    #[test]
    fn a_lost_frame_stops_appends_until_the_next_keyframe() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        sink.push_video(t, key(0, 10));
        let before = sink.push_video(at(t, 1), delta(1, 10));
        sink.lost();
        assert_eq!(sink.push_video(at(t, 2), delta(2, 10)), None);
        assert_eq!(sink.push_video(at(t, 3), delta(3, 10)), None);
        assert_eq!(gop_frames(&sink), vec![key(0, 10), delta(1, 10)]);
        assert_eq!(sink.latest_seq(), before);
        assert_eq!(sink.snapshot_source().map(|s| s.at()), Some(at(t, 1)));
        let stats = sink.stats();
        assert_eq!(stats.losses, 1);
        assert_eq!(stats.frames_ignored, 2);
        // The next keyframe restores normal caching.
        assert!(sink.push_video(at(t, 4), key(4, 10)).is_some());
        assert!(sink.push_video(at(t, 5), delta(5, 10)).is_some());
        assert_eq!(gop_frames(&sink), vec![key(4, 10), delta(5, 10)]);
    }

    #[test]
    fn a_codec_change_starts_over() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        sink.push_video(t, key(0, 10));
        sink.push_video(t, delta(1, 10));
        // A non-key H.265 frame cannot extend an H.264 GOP, nor start one.
        assert_eq!(
            sink.push_video(t, frame(VideoCodec::H265, false, 2, 10)),
            None
        );
        assert_eq!(sink.snapshot_source(), None);
        sink.push_video(t, frame(VideoCodec::H265, true, 3, 10));
        assert!(matches!(
            sink.snapshot_source(),
            Some(SnapshotSource::Gop {
                codec: VideoCodec::H265,
                ..
            })
        ));
        // Video to MJPEG and back.
        let seq = sink.push_jpeg(t, Bytes::from_static(b"jpeg"));
        assert_eq!(sink.stats().gop_frames, 0);
        assert_eq!(sink.latest_seq(), Some(seq));
        assert_eq!(sink.push_video(t, delta(4, 10)), None);
        assert_eq!(sink.snapshot_source(), None);
    }

    #[test]
    fn clear_empties_everything() {
        let mut sink = MediaSink::new(1000);
        let t = t0();
        sink.push_video(t, key(0, 10));
        let old = sink.push_video(t, delta(1, 10)).expect("cached");
        sink.clear();
        assert_eq!(sink.snapshot_source(), None);
        assert_eq!(sink.latest_seq(), None);
        assert_eq!(sink.stats().gop_bytes, 0);
        assert_eq!(sink.stats().gop_frames, 0);
        // Frames of the new session need their own keyframe.
        assert_eq!(sink.push_video(t, delta(2, 10)), None);
        assert_eq!(sink.snapshot_source(), None);
        // Sequence numbers are never reused.
        let new = sink.push_video(t, key(3, 10)).expect("cached");
        assert!(new > old);
        sink.push_jpeg(t, Bytes::from_static(b"jpeg"));
        sink.clear();
        assert_eq!(sink.snapshot_source(), None);
    }

    /// One step of the property test.
    #[derive(Debug, Clone)]
    enum Op {
        Jpeg(usize),
        Video {
            h265: bool,
            keyframe: bool,
            size: usize,
        },
        Lost,
        Clear,
    }

    /// What happened at one step, to check the source against.
    #[derive(Debug)]
    enum Seen {
        Cached(u64, VideoFrame),
        /// An empty frame: nothing a decoder needs, so no gap.
        Empty,
        Other,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            1 => (0usize..50).prop_map(Op::Jpeg),
            12 => (any::<bool>(), proptest::bool::weighted(0.15), 0usize..60)
                .prop_map(|(h265, keyframe, size)| Op::Video { h265: h265 && size % 7 == 0, keyframe, size }),
            2 => Just(Op::Lost),
            1 => Just(Op::Clear),
        ]
    }

    proptest::proptest! {
        #[test]
        fn never_panics_bound_always_holds_source_always_starts_with_a_keyframe(
            max in 0usize..300,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            use proptest::prop_assert;
            use proptest::prop_assert_eq;

            let mut sink = MediaSink::new(max);
            let t = t0();
            let mut seen = Vec::new();
            let mut last_seq = 0u64;
            for (n, op) in ops.into_iter().enumerate() {
                let now = t + Duration::from_millis(n as u64 * 50);
                match op {
                    Op::Jpeg(size) => {
                        let seq = sink.push_jpeg(now, Bytes::from(vec![n as u8; size]));
                        prop_assert!(seq > last_seq);
                        last_seq = seq;
                        seen.push(Seen::Other);
                    }
                    Op::Video { h265, keyframe, size } => {
                        let codec = if h265 { VideoCodec::H265 } else { VideoCodec::H264 };
                        let f = frame(codec, keyframe, n as u64, size);
                        match sink.push_video(now, f.clone()) {
                            Some(seq) => {
                                prop_assert!(seq > last_seq);
                                last_seq = seq;
                                seen.push(Seen::Cached(seq, f));
                            }
                            None if size == 0 => seen.push(Seen::Empty),
                            None => seen.push(Seen::Other),
                        }
                    }
                    Op::Lost => {
                        sink.lost();
                        seen.push(Seen::Other);
                    }
                    Op::Clear => {
                        sink.clear();
                        seen.push(Seen::Other);
                    }
                }

                let stats = sink.stats();
                prop_assert!(stats.gop_bytes <= max);
                prop_assert!(stats.gop_frames <= MAX_GOP_FRAMES);
                let source = sink.snapshot_source();
                prop_assert_eq!(source.as_ref().map(SnapshotSource::seq), sink.latest_seq());
                if let Some(SnapshotSource::Gop { seq, codec, frames, .. }) = source {
                    prop_assert_eq!(frames.len(), stats.gop_frames);
                    prop_assert_eq!(frames.iter().map(|f| f.data.len()).sum::<usize>(), stats.gop_bytes);
                    prop_assert!(frames.first().is_some_and(|f| f.keyframe));
                    prop_assert!(frames.iter().skip(1).all(|f| !f.keyframe));
                    prop_assert!(frames.iter().all(|f| f.codec == codec));
                    // Decodable: the frames are the last cached ones, pushed
                    // back to back with no loss, clear or dropped frame between.
                    let end = seen
                        .iter()
                        .rposition(|s| matches!(s, Seen::Cached(s, _) if *s == seq))
                        .expect("the source's last frame was cached");
                    let run: Vec<&Seen> = seen[..=end]
                        .iter()
                        .filter(|s| !matches!(s, Seen::Empty))
                        .collect();
                    prop_assert!(run.len() >= frames.len());
                    let run = &run[run.len() - frames.len()..];
                    for (s, f) in run.iter().zip(&frames) {
                        match s {
                            Seen::Cached(_, cached) => prop_assert_eq!(cached, f),
                            _ => prop_assert!(false, "gap in the GOP: {:?}", run),
                        }
                    }
                }
            }
        }
    }
}
