//! The live view's decoder: one camera's H.264 / H.265 stream in, a JPEG
//! picture out at most every `1 / live_fps` (camera time).
//!
//! Owns [`LiveDecoder`]: a stateful decoder fed every access unit of one
//! camera in order ([`LiveDecoder::push`]), told when frames were lost
//! upstream ([`LiveDecoder::lost`]), and counting what it did
//! ([`LiveStats`]). It is pure and clock-free: it must not read a clock,
//! await, touch a socket or spawn a thread. It runs on a dedicated thread
//! that the live-view glue owns, one decoder per watched camera; the glue
//! hands it frames and takes the pictures to the HTTP hub. It never panics
//! on camera bytes.
//!
//! # Decode every frame, convert only what is shown
//! H.264 / H.265 P-frames are differences from earlier pictures: skipping
//! the decode of any frame would corrupt every picture after it until the
//! next keyframe (seconds away on a Wyze camera). So every access unit is
//! decoded, and only the pictures that are due are converted to RGB and
//! JPEG-encoded, the costly half at 1080p (see *Cost* below). The decoder
//! itself is `StreamDecoder` (`media/video/decoder.rs`), the same wrapper the
//! snapshot path uses, with its bounds and its display-order handling.
//!
//! # When a picture is due (pacing)
//! The first picture the decoder makes is encoded at once. After that a
//! picture is due when its `timestamp` (the camera's clock, from the access
//! unit it was decoded from) reaches the next due time, which moves on by
//! `min_interval` from the previous *due time*, not from the encoded
//! picture's timestamp: with 20 fps input and `min_interval` 200 ms that is
//! exactly every 4th picture, and a camera whose timestamps jitter by a few
//! milliseconds still gets `live_fps` rather than every 5th picture. (So two
//! pictures can be up to the camera's jitter closer than `min_interval`;
//! while the camera's clock runs forward, no second of it has more than
//! `1 / min_interval` + 1.)
//! [`LiveDecoder::lost`] and errors leave the pacing as it is: the first
//! picture after the next keyframe comes when it is due. Two rules keep the
//! pacing from stalling or bursting:
//! * a timestamp *before* the last encoded one (the camera's clock jumped
//!   back, e.g. after a reconnect) makes the picture due at once and
//!   restarts the pacing from it;
//! * when the next due time falls behind the stream by more than one
//!   `min_interval` (a gap, or the clock jumped forward), it restarts from
//!   the picture encoded, so no burst of catch-up pictures follows.
//!
//! # Keyframes, losses and errors
//! Non-keyframes before the first keyframe, after [`LiveDecoder::lost`] or
//! after an error are skipped and counted ([`LiveStats::frames_skipped`]):
//! their pictures would be garbage. A decode error (hostile or damaged
//! bytes, a lost reference, a stream beyond the bounds) drops the decoder
//! with its reference pictures, is returned and counted, and decoding starts
//! again at the next keyframe. A frame of another codec, or a keyframe whose
//! SPS declares another picture size (H.264; the H.265 decoder follows new
//! parameter sets itself), gets a new decoder. A stream with B-frames comes
//! out in display order, the last picture of a GOP with the next keyframe;
//! the first few out-of-order pictures are not shown while the depth is
//! learnt ([`crate::media::video::MAX_REORDER`]), and the depth is kept
//! across restarts.
//!
//! # Bounds
//! * Memory: one decoder: its reference pictures are bounded by
//!   [`crate::media::video::MAX_DPB_BYTES`] (H.264, checked on every SPS
//!   before the decoder sees it) or 256 MiB (the H.265 decoder's own limit,
//!   applied before it allocates); pictures are at most
//!   [`crate::media::video::MAX_SIDE`] a side; at most
//!   [`crate::media::video::MAX_REORDER`] decoded pictures are held back for
//!   display order (none for streams without B-frames); one RGB picture
//!   lives while its JPEG is encoded. At 1080p without B-frames that is
//!   about 10 MiB in all.
//! * CPU: per [`LiveDecoder::push`], one access unit decoded, and at most one
//!   picture converted and encoded; the JPEG is kept within
//!   [`LiveSettings::max_bytes`] by [`crate::media::jpeg::encode_within`]
//!   (lower quality, then halved sides).
//!
//! # Cost
//! `cargo bench --bench live_decode -- --warm-up-time 1 --measurement-time 5`
//! (release, the 2-core development machine, shared with other builds, so
//! the best of three runs, ±15 %; the clips are GOPs of 10 of a synthetic
//! pattern at x264 CRF 23 / x265 CRF 26, lighter to decode than a noisy real
//! scene):
//!
//! | stream | decode, per frame | convert + JPEG q80, per picture | 20 fps in, 5 fps out |
//! |---|---|---|---|
//! | H.264 640x360 | 0.37 ms | 1.6 ms (JPEG alone 1.1 ms) | 15 ms/s: 1.6 % of a core |
//! | H.264 1920x1080 | 3.2 ms | 14.7 ms (JPEG alone 10.3 ms) | 137 ms/s: 14 % |
//! | H.265 640x360 | 0.60 ms | 1.7 ms | 20 ms/s: 2.0 % |
//! | H.265 1920x1080 | 4.4 ms | 15.7 ms | 167 ms/s: 17 % |
//!
//! (CPU share = 20 x decode + 5 x (convert + encode), per second.) Decoding
//! is about half the cost at 5 fps out, and it is paid for every frame
//! whatever the output rate: the glue should run a decoder only while
//! someone watches the camera.

use std::time::Duration;

use bytes::Bytes;

use crate::media::jpeg;
use crate::media::video::{Decoded, StreamDecoder, VideoError};
use crate::model::{VideoCodec, VideoFrame};

/// How a [`LiveDecoder`] paces and encodes its pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSettings {
    /// Least camera time between two encoded pictures: `1 / live_fps`.
    pub min_interval: Duration,
    /// Largest JPEG; a bigger one is re-encoded at lower quality, then
    /// smaller ([`jpeg::encode_within`]).
    pub max_bytes: usize,
    /// JPEG quality to start from (1..=100).
    pub quality: u8,
}

impl LiveSettings {
    /// The default live frame rate.
    pub const DEFAULT_FPS: u32 = 5;

    /// Settings for `fps` pictures per second (at least 1), at most
    /// `max_bytes` each, starting at `quality`.
    pub fn at_fps(fps: u32, max_bytes: usize, quality: u8) -> Self {
        Self {
            min_interval: Duration::from_secs(1) / fps.max(1),
            max_bytes,
            quality,
        }
    }
}

impl Default for LiveSettings {
    /// 5 fps, at most 1 MiB, quality 80.
    fn default() -> Self {
        Self::at_fps(Self::DEFAULT_FPS, 1 << 20, 80)
    }
}

/// One encoded live picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePicture {
    /// The JPEG, at most [`LiveSettings::max_bytes`].
    pub jpeg: Bytes,
    /// Width of the JPEG (smaller than the stream's if it had to shrink).
    pub width: u32,
    /// Height of the JPEG.
    pub height: u32,
    /// The camera timestamp of the access unit the picture was decoded from.
    pub timestamp: Duration,
}

/// What a [`LiveDecoder`] has done since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Access units decoded without error.
    pub frames_decoded: u64,
    /// Pictures converted and encoded as JPEG.
    pub pictures_encoded: u64,
    /// Frames not decoded because decoding had to wait for a keyframe (at
    /// the start, after [`LiveDecoder::lost`] or after an error).
    pub frames_skipped: u64,
    /// Errors returned by [`LiveDecoder::push`]: frames that did not decode
    /// and pictures that could not be encoded.
    pub errors: u64,
}

/// When the next picture is due, in camera time (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
struct Pacing {
    /// Timestamp of the last picture encoded, and when the next one is due.
    last: Option<(Duration, Duration)>,
}

impl Pacing {
    /// Whether a picture stamped `at` is due; if so, it counts as encoded.
    fn take(&mut self, at: Duration, interval: Duration) -> bool {
        let due = match self.last {
            None => at,
            Some((last, _)) if at < last => at,
            Some((_, due)) => due,
        };
        if at < due {
            return false;
        }
        let mut next = due.saturating_add(interval);
        if next <= at {
            next = at.saturating_add(interval);
        }
        self.last = Some((at, next));
        true
    }
}

// The glue moves each decoder to the thread that runs it.
const _: () = {
    const fn send<T: Send>() {}
    send::<LiveDecoder>();
};

/// A stateful live decoder for one camera's video (see the module docs).
/// `Send`: it can be moved to the thread that runs it.
pub struct LiveDecoder {
    codec: VideoCodec,
    settings: LiveSettings,
    /// `None` while waiting for a keyframe.
    decoder: Option<StreamDecoder>,
    /// Display-order depth learnt from the stream, kept across restarts.
    reorder_depth: usize,
    pacing: Pacing,
    stats: LiveStats,
    /// Pictures released by the last access unit (reused buffer).
    released: Vec<Decoded>,
}

impl LiveDecoder {
    /// A decoder for a stream of `codec`, waiting for its first keyframe.
    pub fn new(codec: VideoCodec, settings: LiveSettings) -> Self {
        Self {
            codec,
            settings,
            decoder: None,
            reorder_depth: 0,
            pacing: Pacing::default(),
            stats: LiveStats::default(),
            released: Vec::new(),
        }
    }

    /// Feeds the next access unit, in order. Decodes every frame (references
    /// must stay right) but converts and JPEG-encodes a picture only when one
    /// is due (see the module docs). A non-keyframe while waiting for a
    /// keyframe is skipped (`Ok(None)`). An error drops the decoder's state:
    /// decoding resumes at the next keyframe.
    pub fn push(&mut self, frame: &VideoFrame) -> Result<Option<LivePicture>, VideoError> {
        if frame.codec != self.codec {
            tracing::debug!(from = ?self.codec, to = ?frame.codec, "live video codec changed");
            self.codec = frame.codec;
            self.reset();
        }
        let decoder = match &mut self.decoder {
            Some(d) => d,
            None if frame.keyframe => self
                .decoder
                .insert(StreamDecoder::new(self.codec).with_reorder_depth(self.reorder_depth)),
            None => {
                self.stats.frames_skipped += 1;
                return Ok(None);
            }
        };
        self.released.clear();
        if let Err(error) = decoder.decode(&frame.data, frame.timestamp, &mut self.released) {
            self.stats.errors += 1;
            tracing::debug!(%error, "live video frame does not decode: waiting for a keyframe");
            self.reset();
            return Err(error);
        }
        self.stats.frames_decoded += 1;
        // Only the newest picture released can be shown: older ones (a
        // keyframe flushing pictures held for display order) are dropped.
        let newest = self.released.pop();
        self.released.clear();
        let Some(picture) = newest else {
            return Ok(None);
        };
        if !self
            .pacing
            .take(picture.timestamp, self.settings.min_interval)
        {
            return Ok(None);
        }
        self.encode(picture).map(Some).inspect_err(|_| {
            self.stats.errors += 1;
        })
    }

    /// Frames were lost upstream: drops the decoder's state; decoding
    /// resumes at the next keyframe.
    pub fn lost(&mut self) {
        self.reset();
    }

    /// What the decoder has done so far.
    pub fn stats(&self) -> LiveStats {
        self.stats
    }

    /// The codec of the stream being decoded (that of the last frame pushed).
    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// Drops the decoder (and its reference pictures); the display-order
    /// depth it learnt is kept for the next one.
    fn reset(&mut self) {
        if let Some(d) = self.decoder.take() {
            if d.codec() == self.codec {
                self.reorder_depth = d.reorder_depth();
            } else {
                self.reorder_depth = 0;
            }
        }
        self.released.clear();
    }

    fn encode(&mut self, picture: Decoded) -> Result<LivePicture, VideoError> {
        let timestamp = picture.timestamp;
        let rgb = picture.into_rgb()?;
        let (full_w, full_h) = rgb.dimensions();
        let jpeg = jpeg::encode_within(rgb, self.settings.max_bytes, self.settings.quality)?;
        // The JPEG is ours: its header carries the size it was shrunk to.
        let (width, height) =
            jpeg::dimensions(&jpeg).map_or((full_w, full_h), |(w, h)| (u32::from(w), u32::from(h)));
        self.stats.pictures_encoded += 1;
        Ok(LivePicture {
            jpeg,
            width,
            height,
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests;
