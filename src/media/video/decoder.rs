//! The one H.264 / H.265 decoder wrapper, shared by snapshots
//! ([`super::decode_within`]) and the live view ([`crate::media::live`]).
//!
//! Owns [`StreamDecoder`]: a pinned pure-Rust decoder fed whole access units
//! in order, with the bounds of [`super`] applied before the decoder
//! allocates ([`MAX_SIDE`], [`MAX_DPB_BYTES`]), a picture released as soon as
//! its access unit is in (no waiting for the next one), and pictures put in
//! display order ([`MAX_REORDER`]). A picture comes out as [`Decoded`], still
//! in the decoder's own YUV: converting it to RGB ([`Decoded::into_rgb`]) is
//! the costly step, left to the caller, which does it only for the pictures
//! it shows. It must not read a clock, await or touch a socket, and never
//! panics on camera bytes.
//!
//! After an error the decoder's state is suspect (a reference picture may be
//! damaged): both callers drop the [`StreamDecoder`] and start again at a
//! keyframe; [`StreamDecoder::finish`] still releases the pictures that were
//! complete before the error.

use std::time::Duration;

use image::RgbImage;
use rusty_h264_common::nal::split_annex_b;

use super::{VideoError, MAX_DPB_BYTES, MAX_SIDE};
use crate::model::VideoCodec;

/// Most pictures held back to put pictures decoded out of order (B-frames)
/// back in display order. The depth starts at 0 (cameras send no B-frames,
/// so nothing waits) and grows by one each time a picture comes out older
/// than one already released: that picture is dropped (it is decoded, and
/// serves as a reference, but is never shown). At 1080p each held picture
/// is 3 MiB of YUV.
pub const MAX_REORDER: usize = 4;

/// One codec's decoder, fed access units in order.
pub(crate) struct StreamDecoder {
    codec: VideoCodec,
    backend: Backend,
    reorder: Reorder,
    /// Position of the last access unit since its keyframe, for messages.
    index: Option<usize>,
    /// Luma samples decoded so far (the snapshot's work budget).
    pixels: u64,
    /// A picture decoded from the last access unit fed, not yet released.
    raw: Vec<Decoded>,
}

enum Backend {
    /// Boxed: the decoder states are kilobytes each, and differ in size.
    H264(Box<h264::Backend>),
    H265(Box<h265::Backend>),
}

/// A decoded picture in the decoder's YUV, not converted yet.
pub(crate) struct Decoded {
    /// The timestamp of the access unit it was decoded from.
    pub(crate) timestamp: Duration,
    /// Width in pixels, at most [`MAX_SIDE`].
    pub(crate) width: u32,
    /// Height in pixels, at most [`MAX_SIDE`].
    pub(crate) height: u32,
    /// Display position (picture order count) within its sequence.
    order: i64,
    yuv: Yuv,
}

enum Yuv {
    H264(rusty_h264_common::YuvFrame),
    H265(rust_h265::Frame),
}

impl Decoded {
    /// Converts the picture to packed RGB8 (BT.601 limited range, what
    /// cameras send); the costly step, proportional to the picture's size.
    pub(crate) fn into_rgb(self) -> Result<RgbImage, VideoError> {
        let (w, h) = (self.width, self.height);
        match self.yuv {
            Yuv::H264(f) => {
                let planes = [Samples::U8(&f.y), Samples::U8(&f.u), Samples::U8(&f.v)];
                Ok(ycbcr_to_rgb(w, h, planes, (1, 1), 0))
            }
            Yuv::H265(f) => h265::to_rgb(&f),
        }
    }
}

impl StreamDecoder {
    /// A decoder for `codec` with no parameter sets yet: it needs a keyframe.
    pub(crate) fn new(codec: VideoCodec) -> Self {
        let backend = match codec {
            VideoCodec::H264 => Backend::H264(Box::default()),
            VideoCodec::H265 => Backend::H265(Box::new(h265::Backend::new())),
        };
        Self {
            codec,
            backend,
            reorder: Reorder::default(),
            index: None,
            pixels: 0,
            raw: Vec::new(),
        }
    }

    /// The same with the display-order depth learnt by an earlier decoder of
    /// the same stream (see [`MAX_REORDER`]), so a restart does not drop the
    /// first out-of-order pictures again.
    pub(crate) fn with_reorder_depth(mut self, depth: usize) -> Self {
        self.reorder.depth = depth.min(MAX_REORDER);
        self
    }

    /// The codec it decodes.
    pub(crate) fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// The display-order depth learnt so far.
    pub(crate) fn reorder_depth(&self) -> usize {
        self.reorder.depth
    }

    /// Luma samples of every picture decoded so far.
    pub(crate) fn pixels_decoded(&self) -> u64 {
        self.pixels
    }

    /// Decodes one whole access unit (Annex-B bytes) stamped `timestamp`, and
    /// appends the pictures it releases, in display order, to `out` (one
    /// picture per access unit once the display-order depth is reached; all
    /// those held back when a keyframe starts a new sequence). On error the
    /// decoder must be dropped; [`Self::finish`] may still be called.
    pub(crate) fn decode(
        &mut self,
        au: &[u8],
        timestamp: Duration,
        out: &mut Vec<Decoded>,
    ) -> Result<(), VideoError> {
        self.raw.clear();
        let keyframe = starts_sequence(self.codec, au);
        let index = match self.index {
            Some(i) if !keyframe => i.saturating_add(1),
            _ => 0,
        };
        self.index = Some(index);
        let restarted = match &mut self.backend {
            Backend::H264(b) => b.decode(au, index, timestamp, &mut self.raw)?,
            Backend::H265(b) => b.decode(au, index, timestamp, &mut self.raw)?,
        };
        if keyframe || restarted {
            self.reorder.flush(out);
        }
        for picture in self.raw.drain(..) {
            self.pixels = self
                .pixels
                .saturating_add(u64::from(picture.width) * u64::from(picture.height));
            self.reorder.push(picture, out);
        }
        Ok(())
    }

    /// Ends the stream: appends the pictures held back for display order to
    /// `out` (never the picture of an access unit that failed) and drops the
    /// decoder with its reference pictures.
    pub(crate) fn finish(mut self, out: &mut Vec<Decoded>) {
        self.reorder.flush(out);
    }
}

/// Whether the access unit holds an IDR (H.264) or IRAP (H.265) picture,
/// which starts a new sequence in display order. Reads NAL headers only.
fn starts_sequence(codec: VideoCodec, au: &[u8]) -> bool {
    split_annex_b(au)
        .iter()
        .any(|nal| match (codec, nal.first()) {
            (VideoCodec::H264, Some(&h)) => h & 0x1F == 5,
            (VideoCodec::H265, Some(&h)) => (16..=23).contains(&((h >> 1) & 0x3F)),
            (_, None) => false,
        })
}

/// Puts decoded pictures in display order (see [`MAX_REORDER`]).
#[derive(Default)]
struct Reorder {
    depth: usize,
    /// Held back, lowest order first.
    pending: Vec<Decoded>,
    /// Order of the last picture released in this sequence.
    last_out: Option<i64>,
}

impl Reorder {
    fn push(&mut self, picture: Decoded, out: &mut Vec<Decoded>) {
        if self.last_out.is_some_and(|last| picture.order < last) {
            if self.depth < MAX_REORDER {
                self.depth += 1;
                tracing::debug!(
                    depth = self.depth,
                    "a picture came out of order: holding pictures back for display order"
                );
                return;
            }
            // Still out of order at the deepest: the order restarted without
            // a keyframe (H.264 MMCO 5); start a new sequence, never stall.
            self.flush(out);
        }
        let at = self.pending.partition_point(|p| p.order <= picture.order);
        self.pending.insert(at, picture);
        while self.pending.len() > self.depth {
            let first = self.pending.remove(0);
            self.last_out = Some(first.order);
            out.push(first);
        }
    }

    /// A new sequence starts (or the stream ends): releases everything.
    fn flush(&mut self, out: &mut Vec<Decoded>) {
        self.last_out = None;
        out.append(&mut self.pending);
    }
}

/// The decoder refused something the stream uses (it names what).
fn refused(codec: VideoCodec, what: &str) -> VideoError {
    VideoError::Unsupported {
        codec,
        what: what.to_owned(),
    }
}

/// Access unit `index` of its GOP does not decode.
fn broken(codec: VideoCodec, index: usize, reason: impl std::fmt::Display) -> VideoError {
    VideoError::Decode {
        codec,
        index,
        reason: reason.to_string(),
    }
}

/// Refuses a decoded picture beyond [`MAX_SIDE`].
fn check_sides(codec: VideoCodec, width: u32, height: u32) -> Result<(), VideoError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(VideoError::TooLarge {
            codec,
            width,
            height,
            refs: 0,
        });
    }
    Ok(())
}

/// One plane of samples as the decoders give them.
#[derive(Clone, Copy)]
enum Samples<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

impl Samples<'_> {
    /// Samples `start..start + out.len()` scaled to 8 bits (`shift` = bit
    /// depth - 8) into `out`; 0 past the end of the plane.
    fn row_into(self, start: usize, shift: u32, out: &mut [u8]) {
        out.fill(0);
        match self {
            Self::U8(s) => {
                let have = s.get(start..).unwrap_or_default();
                let n = have.len().min(out.len());
                out[..n].copy_from_slice(&have[..n]);
            }
            Self::U16(s) => {
                let have = s.get(start..).unwrap_or_default();
                for (o, &v) in out.iter_mut().zip(have) {
                    *o = u8::try_from(v >> shift).unwrap_or(u8::MAX);
                }
            }
        }
    }
}

/// Planar YCbCr with the chroma planes `(width >> cx) x (height >> cy)`
/// (rounded up) converted to RGB8 with BT.601 limited-range coefficients,
/// what cameras (and the test clips) send. Missing samples read as 0, so a
/// short plane gives a wrong picture, never a panic. Works a row at a time
/// on plain byte rows: the chroma terms once per chroma sample, then three
/// additions and clamps per pixel (about 2 ms at 1080p).
fn ycbcr_to_rgb(
    width: u32,
    height: u32,
    planes: [Samples<'_>; 3],
    (cx, cy): (u32, u32),
    shift: u32,
) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 {
        // Nothing to convert (and no zero-sized rows to split into).
        return RgbImage::new(width, height);
    }
    let cw = (w + (1 << cx) - 1) >> cx;
    let [yp, up, vp] = planes;
    let mut out = vec![0u8; w * h * 3];
    let (mut yrow, mut urow, mut vrow) = (vec![0u8; w], vec![0u8; cw], vec![0u8; cw]);
    // Per chroma sample: the red, green and blue terms.
    let mut terms = vec![(0i32, 0i32, 0i32); cw];
    let mut chroma_row = None;
    for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
        let crow = y >> cy;
        if chroma_row != Some(crow) {
            up.row_into(crow * cw, shift, &mut urow);
            vp.row_into(crow * cw, shift, &mut vrow);
            for ((t, &u), &v) in terms.iter_mut().zip(&urow).zip(&vrow) {
                let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
                *t = (409 * e + 128, -100 * d - 208 * e + 128, 516 * d + 128);
            }
            chroma_row = Some(crow);
        }
        yp.row_into(y * w, shift, &mut yrow);
        let clamp = |v: i32| (v >> 8).clamp(0, 255) as u8;
        for (x, (p, &l)) in row.chunks_exact_mut(3).zip(&yrow).enumerate() {
            let c = 298 * (i32::from(l) - 16);
            let (r, g, b) = terms.get(x >> cx).copied().unwrap_or_default();
            p[0] = clamp(c + r);
            p[1] = clamp(c + g);
            p[2] = clamp(c + b);
        }
    }
    // The buffer has exactly width * height * 3 bytes.
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(0, 0))
}

mod h264 {
    use std::time::Duration;

    use rusty_h264_common::nal::{emulation_unprevent, split_annex_b};
    use rusty_h264_decoder::{DecodeError, Decoder, Sps};

    use super::{broken, check_sides, refused, Decoded, VideoError, Yuv, MAX_DPB_BYTES};
    use crate::model::VideoCodec;

    const CODEC: VideoCodec = VideoCodec::H264;

    fn error(index: usize, e: DecodeError) -> VideoError {
        match e {
            DecodeError::Unsupported(what) => refused(CODEC, what),
            other => broken(CODEC, index, other),
        }
    }

    #[derive(Default)]
    pub(super) struct Backend {
        dec: Decoder,
        /// Coded size of the last SPS seen: another size gets a new decoder.
        size: Option<(u64, u64)>,
    }

    impl Backend {
        /// Parses every SPS in `au` and refuses pictures or reference memory
        /// beyond the bounds, before the decoder sees (and allocates for)
        /// them. Returns the coded size of the last one.
        fn check_sps(au: &[u8], index: usize) -> Result<Option<(u64, u64)>, VideoError> {
            let mut size = None;
            for nal in split_annex_b(au) {
                let Some((&header, rest)) = nal.split_first() else {
                    continue;
                };
                if header & 0x1F != 7 {
                    continue;
                }
                let sps = Sps::parse(&emulation_unprevent(rest)).map_err(|e| error(index, e))?;
                let (w, h) = (sps.coded_width() as u64, sps.coded_height() as u64);
                let refs = u64::from(sps.max_num_ref_frames) + 1;
                let dpb = refs.saturating_mul(w * h * 3 / 2);
                let side = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                check_sides(CODEC, side(w), side(h))?;
                if dpb > MAX_DPB_BYTES {
                    return Err(VideoError::TooLarge {
                        codec: CODEC,
                        width: side(w),
                        height: side(h),
                        refs: sps.max_num_ref_frames,
                    });
                }
                size = Some((w, h));
            }
            Ok(size)
        }

        /// Decodes one access unit; its picture, if any, goes to `out`.
        /// Returns whether the decoder was replaced (a new picture size).
        pub(super) fn decode(
            &mut self,
            au: &[u8],
            index: usize,
            timestamp: Duration,
            out: &mut Vec<Decoded>,
        ) -> Result<bool, VideoError> {
            let mut restarted = false;
            if let Some(size) = Self::check_sps(au, index)? {
                if self.size.is_some_and(|old| old != size) {
                    tracing::debug!(?size, "H.264 picture size changed: new decoder");
                    self.dec = Decoder::new();
                    restarted = true;
                }
                self.size = Some(size);
            }
            if let Some(yuv) = self.dec.decode(au).map_err(|e| error(index, e))? {
                let side = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                let (width, height) = (side(yuv.width), side(yuv.height));
                check_sides(CODEC, width, height)?;
                out.push(Decoded {
                    timestamp,
                    width,
                    height,
                    order: i64::from(self.dec.last_poc()),
                    yuv: Yuv::H264(yuv),
                });
            }
            Ok(restarted)
        }
    }
}

mod h265 {
    use std::time::Duration;

    use image::RgbImage;
    use rust_h265::{parse_annex_b, DecodeError, DecodeLimits, Decoder, Frame, PixelData};

    use super::{
        broken, check_sides, refused, ycbcr_to_rgb, Decoded, Samples, VideoError, Yuv, MAX_SIDE,
    };
    use crate::model::VideoCodec;

    const CODEC: VideoCodec = VideoCodec::H265;

    /// An access unit delimiter (`pic_type` 2: any slice type), fed after
    /// each access unit: it ends the picture in progress, so the picture
    /// comes out now rather than when the next access unit starts.
    const AUD: [u8; 7] = [0, 0, 0, 1, 35 << 1, 0x01, 0x50];

    /// Frames the decoder may still hold after an access unit ends (one
    /// normally; two when a damaged picture was finished by the next one).
    const MAX_DRAIN: usize = 4;

    fn error(index: usize, e: DecodeError) -> VideoError {
        match e {
            DecodeError::Unsupported(what) | DecodeError::ResourceLimit(what) => {
                refused(CODEC, what)
            }
            other => broken(CODEC, index, other),
        }
    }

    fn samples(p: &PixelData) -> Samples<'_> {
        match p {
            PixelData::U8(s) => Samples::U8(s),
            PixelData::U16(s) => Samples::U16(s),
        }
    }

    pub(super) fn to_rgb(frame: &Frame) -> Result<RgbImage, VideoError> {
        let sub = match frame.chroma_format_idc {
            1 => (1, 1),
            3 => (0, 0),
            other => return Err(refused(CODEC, &format!("chroma_format_idc {other}"))),
        };
        let planes = [samples(&frame.y), samples(&frame.u), samples(&frame.v)];
        let shift = u32::from(frame.bit_depth.saturating_sub(8));
        Ok(ycbcr_to_rgb(frame.width, frame.height, planes, sub, shift))
    }

    pub(super) struct Backend {
        dec: Decoder,
    }

    impl Backend {
        pub(super) fn new() -> Self {
            let limits = DecodeLimits {
                max_picture_pixels: u64::from(MAX_SIDE) * u64::from(MAX_SIDE),
                max_picture_memory_bytes: 256 << 20,
            };
            Self {
                dec: Decoder::with_limits(limits),
            }
        }

        /// Decodes one access unit; its picture, if any, goes to `out`.
        /// The decoder follows parameter-set changes itself: never replaced.
        pub(super) fn decode(
            &mut self,
            au: &[u8],
            index: usize,
            timestamp: Duration,
            out: &mut Vec<Decoded>,
        ) -> Result<bool, VideoError> {
            let mut offer = |frame: Frame| -> Result<(), VideoError> {
                check_sides(CODEC, frame.width, frame.height)?;
                out.push(Decoded {
                    timestamp,
                    width: frame.width,
                    height: frame.height,
                    order: i64::from(frame.pic_order_cnt),
                    yuv: Yuv::H265(frame),
                });
                Ok(())
            };
            for nal in parse_annex_b(au) {
                if let Some(frame) = self.dec.decode_nal(&nal).map_err(|e| error(index, e))? {
                    offer(frame)?;
                }
            }
            for nal in parse_annex_b(&AUD) {
                for _ in 0..MAX_DRAIN {
                    match self.dec.decode_nal(&nal).map_err(|e| error(index, e))? {
                        Some(frame) => offer(frame)?,
                        None => break,
                    }
                }
            }
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(order: i64) -> Decoded {
        Decoded {
            timestamp: Duration::from_millis(order.unsigned_abs()),
            width: 2,
            height: 2,
            order,
            yuv: Yuv::H264(rusty_h264_common::YuvFrame {
                width: 2,
                height: 2,
                y: vec![16; 4],
                u: vec![128],
                v: vec![128],
            }),
        }
    }

    fn orders(out: &[Decoded]) -> Vec<i64> {
        out.iter().map(|p| p.order).collect()
    }

    #[test]
    fn in_order_pictures_pass_at_once_and_out_of_order_ones_deepen_the_reorder() {
        let mut r = Reorder::default();
        let mut out = Vec::new();
        // Decode order of I0 P6 B2 B4 P12 B8 B10 (x264, 2 B-frames).
        for o in [0, 6, 2, 4, 12, 8, 10, 18, 14, 16] {
            r.push(picture(o), &mut out);
        }
        // 2 and 4 came after 6: dropped while the depth grew to 2; from
        // then on, display order.
        assert_eq!(r.depth, 2);
        assert_eq!(orders(&out), [0, 6, 8, 10, 12, 14]);
        r.flush(&mut out);
        assert_eq!(orders(&out), [0, 6, 8, 10, 12, 14, 16, 18]);
        // A new sequence (keyframe) starts from order 0 again.
        out.clear();
        for o in [0, 6, 2, 4, 12] {
            r.push(picture(o), &mut out);
        }
        r.flush(&mut out);
        assert_eq!(orders(&out), [0, 2, 4, 6, 12]);
    }

    #[test]
    fn an_order_that_restarts_without_a_keyframe_never_stalls_the_output() {
        let mut r = Reorder {
            depth: MAX_REORDER,
            ..Reorder::default()
        };
        let mut out = Vec::new();
        for o in (0..10).chain(0..10) {
            r.push(picture(o), &mut out);
        }
        r.flush(&mut out);
        assert_eq!(orders(&out), (0..10).chain(0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_short_or_empty_picture_converts_without_panicking() {
        let rgb = picture(0).into_rgb().expect("4:2:0");
        // Y 16, Cb = Cr = 128: black.
        assert_eq!(rgb.as_raw(), &[0u8; 12]);
        let short = [Samples::U8(&[235]), Samples::U8(&[]), Samples::U16(&[])];
        let rgb = ycbcr_to_rgb(3, 3, short, (1, 1), 2);
        assert_eq!(rgb.dimensions(), (3, 3));
        assert_eq!(ycbcr_to_rgb(0, 5, short, (1, 1), 0).dimensions(), (0, 5));
    }
}
