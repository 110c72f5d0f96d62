//! JPEG snapshots from a cached H.264 / H.265 GOP, and the decoders behind
//! them and the live view.
//!
//! Owns [`snapshot_from_gop`]: decode a GOP (as `media::sink` hands it out:
//! keyframe first, no gap) from its keyframe to its last frame, convert the
//! newest picture to RGB and encode it with `jpeg-encoder` within the size cap
//! ([`super::jpeg::encode_within`]). It runs only when a snapshot is due, on
//! a decode thread ([`super::decode_pool`]); it must not read a clock, await
//! or touch a socket, and never panic on camera bytes.
//!
//! The decoding itself is `StreamDecoder` (`media/video/decoder.rs`), the
//! one wrapper around the two decoders below, shared with the live view
//! (`media::live`): bounds checks, one picture out per access unit, display
//! order, YUV to RGB.
//!
//! # Decoders, and why
//! Both are pure Rust (no C toolchain for the aarch64 / musl builds), pinned
//! with `=x.y.z` because they are young single-vendor crates:
//! * **H.264: `rusty_h264-decoder` 0.17.0** (the decoder half of `rusty_h264`,
//!   without its encoder, and without its default `global-alloc` feature, which
//!   would install a process-wide allocator). The dependency probe
//!   (`shared/reference/rust-dependencies.md` §3) found its YUV md5-identical
//!   to ffmpeg on four streams, B-frames included, where openh264 (C++) lost
//!   one frame in ten; here `decodes_every_h264_clip_to_its_pattern` checks
//!   PSNR against the source pattern at every Wyze size, and the B-frame clip.
//!   It refuses 4:4:4 / 4:2:2, more than 8 bits, interlaced field pictures and
//!   FMO with a named error.
//! * **H.265: `rust_h265` 0.4.0**, chosen over `rusty_h265` 0.6.2 (both were
//!   md5-identical to ffmpeg in the probe): it checks resource limits from the
//!   SPS *before* allocating ([`rust_h265::DecodeLimits`]), returns 8-bit
//!   planes as bytes, has no dependencies, passes the JCT-VC conformance
//!   vectors including range extensions (4:4:4, up to 12 bits, which it then
//!   decodes too), and is MIT/Apache like this crate. Checked by
//!   `decodes_every_h265_clip_to_its_pattern`.
//!
//! # Bounds
//! * Pictures wider or taller than [`MAX_SIDE`] are refused: for H.264 every
//!   SPS is parsed and checked before the access unit reaches the decoder, and
//!   so is its reference-picture memory ([`MAX_DPB_BYTES`]); for H.265 the
//!   decoder's own limit ([`MAX_SIDE`]² luma samples) applies before
//!   allocation and the sides are checked on the decoded picture.
//! * The work per snapshot is bounded by [`MAX_DECODED_PIXELS`]; a GOP longer
//!   than that yields its last picture within the budget (a little older).
//!   Only that one picture is converted to RGB.
//! * Pictures come out in display order: a stream with B-frames has at most
//!   [`MAX_REORDER`] decoded pictures held back (see there).
//! * A frame that fails to decode after at least one good picture ends the
//!   decode: the snapshot is the last good picture (older, never garbage).
//! * Memory: one decoder per snapshot, dropped (with its reference pictures)
//!   before the newest picture is converted to RGB; the RGB picture lives
//!   until its JPEG is encoded. Decoding runs on the shared decode threads
//!   (`media::decode_pool`), so at most `snapshots.decode_workers` decodes
//!   hold such buffers at once, whatever the number of cameras.

use bytes::Bytes;
use image::RgbImage;

use crate::media::jpeg::{self, JpegError};
use crate::model::{VideoCodec, VideoFrame};

mod decoder;

pub use decoder::MAX_REORDER;
pub(crate) use decoder::{Decoded, StreamDecoder};

/// Largest picture side decoded (the same bound as for JPEG frames).
pub const MAX_SIDE: u32 = jpeg::MAX_SIDE;

/// Most luma samples decoded for one snapshot, summed over the GOP: 240
/// pictures at 1080p (a 12 s GOP at 20 fps), about 2 s of work on one core of
/// the development machine. A longer GOP ends on the last picture in budget.
pub const MAX_DECODED_PIXELS: u64 = 240 * 1920 * 1080;

/// Most memory an H.264 SPS may ask for its reference pictures
/// (`(max_num_ref_frames + 1)` 4:2:0 pictures): 1080p with 16 references
/// needs 50 MiB; a hostile 4096x4096 with 16 would need 400 MiB.
pub const MAX_DPB_BYTES: u64 = 192 << 20;

/// Why no snapshot could be made from a GOP. The text ends up in the camera's
/// `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// No frames at all.
    #[error("no video frames to decode")]
    Empty,
    /// The first frame is not a keyframe: decoding cannot start there.
    #[error("{codec:?} GOP starts with a non-key frame: decoding cannot start mid-GOP")]
    NoKeyframe {
        /// The codec of the GOP.
        codec: VideoCodec,
    },
    /// A frame of another codec than the GOP's.
    #[error("frame {index} is {found:?} in a {codec:?} GOP")]
    MixedCodecs {
        /// The GOP's codec.
        codec: VideoCodec,
        /// Position of the odd frame.
        index: usize,
        /// Its codec.
        found: VideoCodec,
    },
    /// The stream declares a picture beyond [`MAX_SIDE`] or [`MAX_DPB_BYTES`].
    #[error("{codec:?} stream declares a {width}x{height} picture{refs}, beyond the {MAX_SIDE}x{MAX_SIDE} bound", refs = if *refs > 0 { format!(" with {refs} reference pictures") } else { String::new() })]
    TooLarge {
        /// The codec.
        codec: VideoCodec,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Declared reference pictures (0 if not the reason).
        refs: u32,
    },
    /// The stream is valid but uses something the decoder does not support
    /// (e.g. 4:4:4 or 10-bit H.264, 4:2:2 H.265, interlacing).
    #[error("{codec:?} stream not supported: {what}")]
    Unsupported {
        /// The codec.
        codec: VideoCodec,
        /// What the decoder refused.
        what: String,
    },
    /// A frame does not decode (garbage, truncation, a keyframe flag on a
    /// frame that is none, a lost reference).
    #[error("{codec:?} frame {index} of its GOP does not decode: {reason}")]
    Decode {
        /// The codec.
        codec: VideoCodec,
        /// Position of the failing frame after its keyframe (0: the keyframe).
        index: usize,
        /// The decoder's message.
        reason: String,
    },
    /// Every frame was accepted but none produced a picture.
    #[error("no picture in {frames} {codec:?} frames")]
    NoPicture {
        /// The codec.
        codec: VideoCodec,
        /// Frames in the GOP.
        frames: usize,
    },
    /// The picture could not be encoded within the size cap.
    #[error(transparent)]
    Jpeg(#[from] JpegError),
}

/// The newest picture of a GOP, in RGB.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The picture, packed RGB8.
    pub rgb: RgbImage,
    /// Frames fed to the decoder.
    pub frames_decoded: usize,
    /// Frames not decoded (past the work budget, or after a frame that failed);
    /// non-zero means the picture is older than the GOP's last frame.
    pub frames_skipped: usize,
}

/// Decodes `frames` (keyframe first) and encodes the newest picture as a JPEG
/// of at most `max_bytes`, starting at `quality` (see
/// [`jpeg::encode_within`] for the quality and downscale steps). CPU-heavy:
/// call it from a blocking task.
pub fn snapshot_from_gop(
    codec: VideoCodec,
    frames: &[VideoFrame],
    max_bytes: usize,
    quality: u8,
) -> Result<Bytes, VideoError> {
    let picture = decode_last_picture(codec, frames)?;
    if picture.frames_skipped > 0 {
        tracing::debug!(
            decoded = picture.frames_decoded,
            skipped = picture.frames_skipped,
            "snapshot from an earlier picture of the GOP"
        );
    }
    Ok(jpeg::encode_within(picture.rgb, max_bytes, quality)?)
}

/// Decodes `frames` from the keyframe on and returns the newest picture in
/// display order, within the bounds in the module documentation.
pub fn decode_last_picture(
    codec: VideoCodec,
    frames: &[VideoFrame],
) -> Result<Picture, VideoError> {
    decode_within(codec, frames, MAX_DECODED_PIXELS)
}

/// [`decode_last_picture`] with a work budget of `budget` luma samples
/// instead of [`MAX_DECODED_PIXELS`]; decoding stops once it is spent.
pub fn decode_within(
    codec: VideoCodec,
    frames: &[VideoFrame],
    budget: u64,
) -> Result<Picture, VideoError> {
    let first = frames.first().ok_or(VideoError::Empty)?;
    if !first.keyframe {
        return Err(VideoError::NoKeyframe { codec });
    }
    if let Some((index, f)) = frames.iter().enumerate().find(|(_, f)| f.codec != codec) {
        return Err(VideoError::MixedCodecs {
            codec,
            index,
            found: f.codec,
        });
    }
    decode_gop(codec, frames, budget)
}

/// Decodes `frames` with one [`StreamDecoder`] and keeps the newest picture
/// in display order; see the module documentation for the bounds.
fn decode_gop(
    codec: VideoCodec,
    frames: &[VideoFrame],
    budget: u64,
) -> Result<Picture, VideoError> {
    let mut dec = StreamDecoder::new(codec);
    let mut released = Vec::new();
    let mut newest: Option<Decoded> = None;
    let mut decoded = 0;
    for (index, frame) in frames.iter().enumerate() {
        if dec.pixels_decoded() >= budget {
            break;
        }
        decoded += 1;
        let result = dec.decode(&frame.data, frame.timestamp, &mut released);
        newest = released.pop().or(newest);
        released.clear();
        if let Err(error) = result {
            // Fatal before any picture, the end of the decode after one.
            dec.finish(&mut released);
            newest = released.pop().or(newest);
            if newest.is_none() {
                return Err(error);
            }
            tracing::debug!(index, %error, "video frame does not decode; using the last good picture");
            return finish(newest, codec, frames.len(), decoded);
        }
    }
    // The decoder's reference pictures are freed before the RGB picture is
    // allocated: the two never add up.
    dec.finish(&mut released);
    finish(released.pop().or(newest), codec, frames.len(), decoded)
}

/// The newest picture of a decode, converted to RGB.
fn finish(
    newest: Option<Decoded>,
    codec: VideoCodec,
    frames: usize,
    decoded: usize,
) -> Result<Picture, VideoError> {
    let picture = newest.ok_or(VideoError::NoPicture { codec, frames })?;
    Ok(Picture {
        rgb: picture.into_rgb()?,
        frames_decoded: decoded,
        frames_skipped: frames - decoded,
    })
}

/// Peak signal-to-noise ratio in dB between two pictures of the same size
/// (packed RGB8, or any equal-length sample buffers), over all samples:
/// `10 log10(255² / MSE)`. Identical buffers give `f64::INFINITY`; buffers of
/// different lengths, or empty ones, give 0.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let sse: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)).pow(2))
        .sum();
    if sse == 0 {
        return f64::INFINITY;
    }
    let mse = sse as f64 / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sim::video::{read_frame_code, reference_rgb, TestVideo, GOP_LEN};

    /// Lowest PSNR accepted between the decoded picture and the pattern it was
    /// encoded from. x264 at CRF 23 / x265 at CRF 26 on this pattern measure
    /// 40-50 dB; a wrong colour matrix, a chroma shift by one sample, a lost
    /// frame or a picture from the wrong frame (the bar moves by 1/16 of the
    /// width per frame) all land below 30 dB.
    const MIN_DECODED_DB: f64 = 35.0;
    /// The same after a JPEG round trip at quality 80, which adds its own loss.
    const MIN_JPEG_DB: f64 = 30.0;

    fn clip(name: &str) -> &'static [u8] {
        match name {
            "bframes" => include_bytes!("../../tests/data/video/h264_bframes_640x360.h264"),
            "h264_444" => include_bytes!("../../tests/data/video/h264_444_64x64.h264"),
            "h265_444" => include_bytes!("../../tests/data/video/h265_444_64x64.h265"),
            _ => &[],
        }
    }

    fn frames_of(codec: VideoCodec, units: &[&'static [u8]]) -> Vec<VideoFrame> {
        units
            .iter()
            .enumerate()
            .map(|(i, d)| VideoFrame {
                codec,
                keyframe: i == 0,
                timestamp: Duration::from_millis(i as u64 * 100),
                data: Bytes::from_static(d),
            })
            .collect()
    }

    /// Decodes the GOP, checks the picture and its JPEG against the pattern.
    fn check_gop(codec: VideoCodec, w: u32, h: u32, frames: &[VideoFrame], last: u64) {
        let picture = decode_last_picture(codec, frames).expect("decodes");
        assert_eq!(picture.rgb.dimensions(), (w, h));
        assert_eq!(picture.frames_skipped, 0);
        let reference = reference_rgb(w, h, last);
        let db = psnr(picture.rgb.as_raw(), &reference);
        assert!(
            db > MIN_DECODED_DB,
            "{codec:?} {w}x{h}: decoded PSNR {db:.1} dB"
        );
        assert_eq!(
            read_frame_code(picture.rgb.as_raw(), w, h),
            Some(last as u8)
        );

        let jpeg = snapshot_from_gop(codec, frames, usize::MAX, 80).expect("snapshot");
        let img = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
        assert_eq!(img.dimensions(), (w, h));
        let jdb = psnr(img.as_raw(), &reference);
        assert!(
            jdb > MIN_JPEG_DB,
            "{codec:?} {w}x{h}: JPEG q80 PSNR {jdb:.1} dB"
        );
        eprintln!(
            "{codec:?} {w}x{h}: decoded {db:.1} dB, JPEG q80 {jdb:.1} dB, {} bytes",
            jpeg.len()
        );
    }

    fn check_codec(codec: VideoCodec) {
        let sizes = TestVideo::sizes(codec);
        assert!(!sizes.is_empty());
        for (w, h) in sizes {
            let frames = TestVideo::gop_frames(codec, w, h).expect("clip");
            check_gop(codec, w, h, &frames, GOP_LEN as u64 - 1);
        }
        // A GOP cut short ends on its own last picture.
        let frames = TestVideo::gop_frames(codec, 640, 360).expect("clip");
        check_gop(codec, 640, 360, &frames[..4], 3);
    }

    #[test]
    fn decodes_every_h264_clip_to_its_pattern() {
        check_codec(VideoCodec::H264);
    }

    #[test]
    fn decodes_every_h265_clip_to_its_pattern() {
        check_codec(VideoCodec::H265);
    }

    #[test]
    fn with_b_frames_the_newest_picture_in_display_order_wins() {
        let units = rusty_h264_decoder::split_access_units(clip("bframes"));
        assert_eq!(units.len(), GOP_LEN);
        // In decode order the last access unit is a B-frame before frame 9.
        check_gop(
            VideoCodec::H264,
            640,
            360,
            &frames_of(VideoCodec::H264, &units),
            9,
        );
    }

    #[test]
    fn h264_444_is_refused_by_name_and_h265_444_decodes() {
        let err = decode_last_picture(
            VideoCodec::H264,
            &frames_of(VideoCodec::H264, &[clip("h264_444")]),
        )
        .unwrap_err();
        assert!(matches!(err, VideoError::Unsupported { .. }), "{err:?}");
        assert!(err.to_string().contains("4:2:0"), "{err}");

        let frames = frames_of(VideoCodec::H265, &[clip("h265_444")]);
        let picture = decode_last_picture(VideoCodec::H265, &frames).expect("4:4:4 HEVC decodes");
        let db = psnr(picture.rgb.as_raw(), &reference_rgb(64, 64, 0));
        assert!(db > MIN_DECODED_DB, "H.265 4:4:4: {db:.1} dB");
    }

    #[test]
    fn a_gop_that_starts_mid_gop_is_refused_not_decoded_to_garbage() {
        let frames = TestVideo::gop_frames(VideoCodec::H264, 640, 360).expect("clip");
        let err = decode_last_picture(VideoCodec::H264, &frames[3..]).unwrap_err();
        assert!(matches!(err, VideoError::NoKeyframe { .. }), "{err:?}");
        // Even when the keyframe flag lies, the decoder refuses (no SPS/PPS).
        for codec in [VideoCodec::H264, VideoCodec::H265] {
            let mut frames = TestVideo::gop_frames(codec, 640, 360).expect("clip")[3..].to_vec();
            frames[0].keyframe = true;
            let err = decode_last_picture(codec, &frames).unwrap_err();
            assert!(
                matches!(
                    err,
                    VideoError::Decode { .. } | VideoError::NoPicture { .. }
                ),
                "{err:?}"
            );
        }
        assert!(matches!(
            decode_last_picture(VideoCodec::H264, &[]),
            Err(VideoError::Empty)
        ));
        let mut mixed = TestVideo::gop_frames(VideoCodec::H264, 640, 360).expect("clip");
        mixed[2].codec = VideoCodec::H265;
        assert!(matches!(
            decode_last_picture(VideoCodec::H264, &mixed),
            Err(VideoError::MixedCodecs { index: 2, .. })
        ));
    }

    #[test]
    fn the_snapshot_fits_the_cap_by_lowering_quality_then_halving() {
        let (w, h) = (1920, 1080);
        let frames = TestVideo::gop_frames(VideoCodec::H264, w, h).expect("clip");
        let full = snapshot_from_gop(VideoCodec::H264, &frames, usize::MAX, 80).expect("snapshot");
        for cap in [full.len() * 2 / 3, full.len() / 8] {
            let small = snapshot_from_gop(VideoCodec::H264, &frames, cap, 80).expect("fits");
            assert!(small.len() <= cap, "{} > {cap}", small.len());
            image::load_from_memory(&small).expect("a JPEG");
        }
        let tiny = snapshot_from_gop(VideoCodec::H264, &frames, full.len() / 8, 80).expect("fits");
        let img = image::load_from_memory(&tiny).expect("a JPEG");
        assert!(img.width() < w, "a cap of 1/8 needs a smaller picture");
        let err = snapshot_from_gop(VideoCodec::H264, &frames, 100, 80).unwrap_err();
        assert!(
            matches!(err, VideoError::Jpeg(JpegError::TooBig { max: 100 })),
            "{err:?}"
        );
    }

    #[test]
    fn the_work_budget_ends_the_decode_on_an_earlier_picture() {
        for codec in [VideoCodec::H264, VideoCodec::H265] {
            let frames = TestVideo::gop_frames(codec, 640, 360).expect("clip");
            let picture = decode_within(codec, &frames, 3 * 640 * 360).expect("decodes");
            let code = read_frame_code(picture.rgb.as_raw(), 640, 360);
            assert_eq!(code, Some(2), "{codec:?}");
            assert!(
                picture.frames_skipped >= GOP_LEN - 5,
                "{codec:?}: {}",
                picture.frames_skipped
            );
        }
    }

    #[test]
    fn a_broken_frame_after_good_ones_keeps_the_last_good_picture() {
        let mut frames = TestVideo::gop_frames(VideoCodec::H264, 640, 360).expect("clip");
        // A slice cut after its header: the decoder runs out of bits.
        let cut = frames[5].data.slice(..12);
        frames[5].data = cut;
        let picture = decode_last_picture(VideoCodec::H264, &frames).expect("a picture");
        let code = read_frame_code(picture.rgb.as_raw(), 640, 360).expect("sized");
        assert!(code <= 5, "frame {code}");
    }

    /// Minimal RBSP bit writer for hand-made parameter sets.
    #[derive(Default)]
    struct Bits {
        out: Vec<u8>,
        n: u32,
    }

    impl Bits {
        fn bit(&mut self, b: bool) {
            if self.n.is_multiple_of(8) {
                self.out.push(0);
            }
            if b {
                *self.out.last_mut().expect("pushed") |= 0x80 >> (self.n % 8);
            }
            self.n += 1;
        }
        fn bits(&mut self, v: u32, count: u32) {
            for i in (0..count).rev() {
                self.bit(v >> i & 1 == 1);
            }
        }
        fn ue(&mut self, v: u32) {
            let v = v + 1;
            let len = 32 - v.leading_zeros();
            self.bits(0, len - 1);
            self.bits(v, len);
        }
    }

    /// An Annex-B Baseline SPS declaring `mbs_w` x `mbs_h` macroblocks.
    fn sps(mbs_w: u32, mbs_h: u32, refs: u32) -> Vec<u8> {
        let mut b = Bits::default();
        b.bits(66, 8); // profile_idc: Baseline
        b.bits(0, 8);
        b.bits(51, 8); // level 5.1
        b.ue(0); // sps id
        b.ue(0); // log2_max_frame_num - 4
        b.ue(2); // pic_order_cnt_type
        b.ue(refs); // max_num_ref_frames
        b.bit(false); // gaps
        b.ue(mbs_w - 1);
        b.ue(mbs_h - 1);
        b.bit(true); // frame_mbs_only
        b.bit(true); // direct_8x8_inference
        b.bit(false); // cropping
        b.bit(false); // vui
        b.bit(true); // rbsp stop bit
        let mut nal = vec![0, 0, 0, 1, 0x67];
        nal.extend_from_slice(&b.out);
        nal
    }

    #[test]
    fn a_hostile_sps_is_refused_before_any_picture_is_allocated() {
        let key = |data: Vec<u8>| VideoFrame {
            codec: VideoCodec::H264,
            keyframe: true,
            timestamp: Duration::ZERO,
            data: Bytes::from(data),
        };
        // 8192 x 256: within the decoder's own limit, beyond ours.
        let err = decode_last_picture(VideoCodec::H264, &[key(sps(512, 16, 1))]).unwrap_err();
        assert!(
            matches!(
                err,
                VideoError::TooLarge {
                    width: 8192,
                    height: 256,
                    ..
                }
            ),
            "{err:?}"
        );
        // 4096 x 4096 with 16 reference pictures: 400 MiB of DPB.
        let err = decode_last_picture(VideoCodec::H264, &[key(sps(256, 256, 16))]).unwrap_err();
        assert!(
            matches!(err, VideoError::TooLarge { refs: 16, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("4096x4096"), "{err}");
        // 4096 x 4096 with one reference is allowed, but carries no picture.
        let err = decode_last_picture(VideoCodec::H264, &[key(sps(256, 256, 1))]).unwrap_err();
        assert!(matches!(err, VideoError::NoPicture { .. }), "{err:?}");
    }

    #[test]
    fn psnr_is_infinite_for_equal_pictures_and_zero_for_mismatched_ones() {
        let a = reference_rgb(64, 64, 1);
        assert_eq!(psnr(&a, &a), f64::INFINITY);
        assert_eq!(psnr(&a, &a[1..]), 0.0);
        assert_eq!(psnr(&[], &[]), 0.0);
        let b: Vec<u8> = a.iter().map(|v| v ^ 1).collect();
        // Every sample off by one: 10 log10(255²) = 48.13 dB.
        assert!((psnr(&a, &b) - 48.13).abs() < 0.01, "{}", psnr(&a, &b));
    }

    fn annex_b() -> impl proptest::strategy::Strategy<Value = Vec<Vec<u8>>> {
        use proptest::prelude::*;
        // Each frame: a few NAL units, a start code then random bytes behind a
        // random header byte.
        let nal =
            (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..80)).prop_map(|(h, body)| {
                let mut n = vec![0, 0, 1, h];
                n.extend(body);
                n
            });
        proptest::collection::vec(
            proptest::collection::vec(nal, 1..4).prop_map(|n| n.concat()),
            1..4,
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn random_annex_b_never_panics(frames in annex_b(), h265 in proptest::bool::ANY) {
            let codec = if h265 { VideoCodec::H265 } else { VideoCodec::H264 };
            let frames: Vec<VideoFrame> = frames
                .into_iter()
                .map(|d| VideoFrame { codec, keyframe: true, timestamp: Duration::ZERO, data: Bytes::from(d) })
                .collect();
            let _ = snapshot_from_gop(codec, &frames, 1 << 20, 80);
        }

        #[test]
        fn a_damaged_real_gop_never_panics(
            h265 in proptest::bool::ANY,
            flips in proptest::collection::vec((0usize..4, proptest::num::usize::ANY, 1u8..=255), 1..6),
        ) {
            let codec = if h265 { VideoCodec::H265 } else { VideoCodec::H264 };
            let mut frames = TestVideo::gop_frames(codec, 640, 360).expect("clip");
            frames.truncate(4);
            for (f, at, x) in flips {
                let mut d = frames[f].data.to_vec();
                let i = at % d.len();
                d[i] ^= x;
                frames[f].data = Bytes::from(d);
            }
            let _ = snapshot_from_gop(codec, &frames, 1 << 20, 80);
        }
    }
}
