//! Keeps snapshots within `snapshots.max_bytes`: a frame that is already small
//! enough is passed through untouched; a bigger one is decoded (bounded) and
//! re-encoded at lower quality, then at half size, until it fits.
//!
//! Encoding uses `jpeg-encoder`, about 4x faster than `image`'s encoder at
//! 1080p (9 ms against 39 ms per picture, measured in
//! `shared/reference/rust-dependencies.md` §3); `image` still decodes, with
//! its limits. [`encode_within`] is the shared fitting loop, also used for
//! pictures decoded from video (`media::video`).

use bytes::Bytes;
use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};

/// Why a frame could not be made to fit.
#[derive(Debug, thiserror::Error)]
pub enum JpegError {
    /// The frame does not decode.
    #[error("frame does not decode as JPEG: {0}")]
    Decode(String),
    /// Even the smallest attempt was too big.
    #[error("cannot shrink the frame below {max} bytes")]
    TooBig {
        /// The cap.
        max: usize,
    },
    /// The encoder refused the picture (e.g. a side above 65535 pixels).
    #[error("cannot encode the picture as JPEG: {0}")]
    Encode(String),
}

/// Largest picture side decoded from a camera (the biggest real sensors are 4K).
pub const MAX_SIDE: u32 = 4096;
/// Most memory one decode may take (a 4096x4096 RGB picture is 48 MiB).
pub const MAX_DECODE_ALLOC: u64 = 64 << 20;

/// Decodes camera bytes as JPEG within [`MAX_SIDE`] and [`MAX_DECODE_ALLOC`], so
/// a hostile header cannot make the bridge allocate or work without bound.
pub fn decode_bounded(jpeg: &[u8]) -> image::ImageResult<DynamicImage> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader.decode()
}

/// True if `jpeg` decodes completely within the bounds of [`decode_bounded`]:
/// the frame check injected into protocol cores (demo mode's `markers` policy).
pub fn decodes(jpeg: &[u8]) -> bool {
    decode_bounded(jpeg).is_ok()
}

/// The largest picture a demo-mode camera sends, with room to spare: the A9's
/// demo stream is 640x480; nothing that claims more than 1280x960 is decoded.
pub const DEMO_MAX_PIXELS: u32 = 1280 * 960;

/// Width and height from a JPEG's frame header (SOF), without decoding it:
/// walks the marker segments; `None` if there is no well-formed SOF.
pub fn dimensions(jpeg: &[u8]) -> Option<(u16, u16)> {
    let mut i = 2; // after SOI
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    loop {
        // Skip fill bytes before a marker.
        while *jpeg.get(i)? == 0xFF && *jpeg.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *jpeg.get(i)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*jpeg.get(i + 5)?, *jpeg.get(i + 6)?]);
            let w = u16::from_be_bytes([*jpeg.get(i + 7)?, *jpeg.get(i + 8)?]);
            return Some((w, h));
        }
        if marker == 0xDA || len < 2 {
            return None; // scan data before any frame header
        }
        i = i.checked_add(2 + len)?;
    }
}

/// Demo mode's `markers` check: the picture claims at most
/// [`DEMO_MAX_PIXELS`] (checked before any decoding, so a stream of huge
/// hostile headers costs next to nothing) and then decodes completely.
pub fn decodes_demo_sized(jpeg: &[u8]) -> bool {
    dimensions(jpeg)
        .is_some_and(|(w, h)| w > 0 && h > 0 && u32::from(w) * u32::from(h) <= DEMO_MAX_PIXELS)
        && decodes(jpeg)
}

/// Encodes an RGB8 picture as a baseline JPEG at `quality` (1..=100) with
/// `jpeg-encoder` (4:2:0 chroma below quality 90, 4:4:4 from 90).
pub fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, JpegError> {
    let too_big = |_| JpegError::Encode(format!("{}x{} is too large", img.width(), img.height()));
    let w = u16::try_from(img.width()).map_err(too_big)?;
    let h = u16::try_from(img.height()).map_err(too_big)?;
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| JpegError::Encode(e.to_string()))?;
    Ok(out)
}

/// Encodes `img` as a JPEG of at most `max_bytes`. Tries `quality`, then
/// `quality - 20` (not below 30), then 30; if none fits, halves both sides
/// (quality capped at 70) and tries again, down to about 80x60. The step that
/// fitted is logged at debug level. CPU-heavy: call it from a blocking task.
pub fn encode_within(mut img: RgbImage, max_bytes: usize, quality: u8) -> Result<Bytes, JpegError> {
    let mut q = quality.clamp(1, 100);
    let mut halvings = 0u32;
    loop {
        for quality in [q, q.saturating_sub(20).max(30), 30] {
            let out = encode_rgb(&img, quality)?;
            if out.len() <= max_bytes {
                tracing::debug!(
                    quality,
                    halvings,
                    width = img.width(),
                    height = img.height(),
                    bytes = out.len(),
                    max_bytes,
                    "snapshot encoded"
                );
                return Ok(Bytes::from(out));
            }
        }
        if img.width() <= 80 || img.height() <= 60 {
            return Err(JpegError::TooBig { max: max_bytes });
        }
        img = image::imageops::resize(
            &img,
            img.width() / 2,
            img.height() / 2,
            FilterType::Triangle,
        );
        q = q.min(70);
        halvings += 1;
    }
}

/// Returns `jpeg` if it is at most `max_bytes`, else a re-encoded smaller copy
/// (see [`encode_within`]). CPU-heavy for big frames: call it from a blocking
/// task.
pub fn fit(jpeg: Bytes, max_bytes: usize, quality: u8) -> Result<Bytes, JpegError> {
    if jpeg.len() <= max_bytes {
        return Ok(jpeg);
    }
    let img = decode_bounded(&jpeg).map_err(|e| JpegError::Decode(e.to_string()))?;
    encode_within(img.to_rgb8(), max_bytes, quality)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        encode_rgb(&RgbImage::new(w, h), 50).unwrap()
    }

    #[test]
    fn dimensions_come_from_the_frame_header_and_big_pictures_are_not_decoded() {
        assert_eq!(dimensions(&jpeg(640, 480)), Some((640, 480)));
        assert!(decodes_demo_sized(&jpeg(640, 480)));
        // 1600x1200 is valid JPEG but beyond a demo-mode camera: refused unread.
        let big = jpeg(1600, 1200);
        assert!(decodes(&big));
        assert!(!decodes_demo_sized(&big));
        // A header claiming 4096x4096 in front of nothing.
        let mut hostile = jpeg(16, 16);
        let sof = hostile.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        hostile[sof + 5..sof + 9].copy_from_slice(&[0x10, 0x00, 0x10, 0x00]);
        assert_eq!(dimensions(&hostile), Some((4096, 4096)));
        assert!(!decodes_demo_sized(&hostile));
        for junk in [
            &b""[..],
            b"\xff\xd8",
            b"\xff\xd8\xff\xda\x00\x02",
            b"\xff\xd8\xff\xe0\xff\xff",
        ] {
            assert_eq!(dimensions(junk), None);
        }
    }

    proptest::proptest! {
        #[test]
        fn dimensions_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = dimensions(&bytes);
        }
    }

    fn noisy_jpeg(w: u32, h: u32) -> Bytes {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let v =
                (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)).wrapping_mul(2_654_435_761) >> 24;
            image::Rgb([v as u8, (v >> 1) as u8, (x ^ y) as u8])
        });
        Bytes::from(encode_rgb(&img, 95).unwrap())
    }

    #[test]
    fn small_frames_pass_untouched() {
        let j = noisy_jpeg(64, 48);
        assert_eq!(fit(j.clone(), j.len(), 80).unwrap(), j);
    }

    #[test]
    fn big_frames_are_reencoded_under_the_cap_and_still_decode() {
        let j = noisy_jpeg(640, 480);
        let cap = j.len() / 4;
        let out = fit(j, cap, 80).unwrap();
        assert!(out.len() <= cap);
        image::load_from_memory(&out).unwrap();
    }

    /// Found by `cargo fuzz` (demo_assembler): a header declaring 2559x62728
    /// made the unbounded decoder allocate ~480 MB.
    #[test]
    fn a_huge_declared_size_is_refused_before_decoding() {
        let mut j = noisy_jpeg(16, 16).to_vec();
        // Patch the SOF0 height/width (FF C0, len, precision, height u16, width u16).
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        j[sof + 5..sof + 9].copy_from_slice(&[0xF5, 0x08, 0x09, 0xFF]);
        let err = decode_bounded(&j).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("limit"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(fit(Bytes::from_static(&[0xFF, 0xD8, 1, 2, 3]), 2, 80).is_err());
    }
}
