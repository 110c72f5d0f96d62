//! Test-pattern JPEG renderer for the camera simulators.
//!
//! Owns [`PatternSpec`], [`render_jpeg`] and [`read_stamp`]. Every rendered frame
//! is a real baseline JPEG whose pixels change from frame to frame (a colour
//! gradient whose blue channel cycles, a moving white bar, and the frame number
//! in large digits drawn with a hand-made 5x7 bitmap font). Right after the SOI
//! marker it carries a JPEG comment (COM, `FF FE`) segment with the ASCII text
//! `cam2mqtt-sim label=<label> frame=<n>`, so a test at the far end of the
//! bridge can tell exactly which simulated camera and frame it received.
//!
//! Encoding a JPEG costs milliseconds; a simulated camera streaming at 10 fps
//! should not pay that per frame. [`FrameCache`] encodes a few distinct
//! pictures once and hands out frame `n` as picture `n % distinct` with the
//! stamp for `n` spliced in after SOI (a copy, no encoding).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Prefix of the COM text; [`read_stamp`] looks for it.
const STAMP_PREFIX: &str = "cam2mqtt-sim label=";
/// Separator between the label and the frame number in the COM text.
const STAMP_FRAME: &str = " frame=";
/// Longest label kept in the stamp (longer labels are cut).
pub const MAX_LABEL: usize = 200;
/// Smallest width or height rendered (smaller requests are raised to this).
pub const MIN_SIDE: u32 = 16;
/// Largest width or height rendered (larger requests are lowered to this).
pub const MAX_SIDE: u32 = 4096;

/// What the test pattern looks like on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternSpec {
    /// Width in pixels (clamped to [`MIN_SIDE`]..=[`MAX_SIDE`]).
    pub width: u32,
    /// Height in pixels (clamped to [`MIN_SIDE`]..=[`MAX_SIDE`]).
    pub height: u32,
    /// JPEG quality, 1 to 100 (the encoder clamps it).
    pub quality: u8,
}

impl Default for PatternSpec {
    /// 640x480 at quality 80: the largest mode real A9 cameras have.
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            quality: 80,
        }
    }
}

/// 5x7 glyphs for the digits 0-9; each row's low 5 bits, MSB = leftmost column.
const DIGITS: [[u8; 7]; 10] = [
    [
        0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110,
    ],
    [
        0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110,
    ],
    [
        0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111,
    ],
    [
        0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110,
    ],
    [
        0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010,
    ],
    [
        0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110,
    ],
    [
        0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110,
    ],
    [
        0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000,
    ],
    [
        0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110,
    ],
    [
        0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100,
    ],
];
const GLYPH_W: u32 = 5;
const GLYPH_H: u32 = 7;

/// A plain RGB8 canvas with clipped drawing.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Self {
        let len = (w as usize) * (h as usize) * 3;
        Self {
            w,
            h,
            px: vec![0; len],
        }
    }

    fn set(&mut self, x: u32, y: u32, rgb: [u8; 3]) {
        if x >= self.w || y >= self.h {
            return;
        }
        let i = ((y as usize) * (self.w as usize) + x as usize) * 3;
        if let Some(p) = self.px.get_mut(i..i + 3) {
            p.copy_from_slice(&rgb);
        }
    }

    fn fill_rect(&mut self, x0: u32, y0: u32, w: u32, h: u32, rgb: [u8; 3]) {
        let x1 = x0.saturating_add(w).min(self.w);
        let y1 = y0.saturating_add(h).min(self.h);
        for y in y0..y1 {
            for x in x0..x1 {
                self.set(x, y, rgb);
            }
        }
    }

    /// Draws `n` in decimal at (x0, y0) with each font pixel `scale` pixels wide,
    /// on a black plate.
    fn draw_number(&mut self, x0: u32, y0: u32, scale: u32, n: u64) {
        let text = n.to_string();
        let advance = (GLYPH_W + 1) * scale;
        let plate_w = advance * text.len() as u32 + scale;
        let plate_h = (GLYPH_H + 2) * scale;
        self.fill_rect(x0, y0, plate_w, plate_h, [0, 0, 0]);
        for (i, ch) in text.bytes().enumerate() {
            let Some(glyph) = DIGITS.get(usize::from(ch.wrapping_sub(b'0'))) else {
                continue;
            };
            let gx = x0 + scale + advance * i as u32;
            let gy = y0 + scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..GLYPH_W {
                    if bits & (1 << (GLYPH_W - 1 - col)) != 0 {
                        self.fill_rect(
                            gx + col * scale,
                            gy + row as u32 * scale,
                            scale,
                            scale,
                            [255, 255, 255],
                        );
                    }
                }
            }
        }
    }
}

/// Makes `label` safe for the ASCII COM text: printable ASCII is kept, anything
/// else becomes `_`, and it is cut to [`MAX_LABEL`] characters.
fn sanitize_label(label: &str) -> String {
    label
        .chars()
        .take(MAX_LABEL)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders frame `frame` of the test pattern as a baseline JPEG stamped with a
/// COM segment `cam2mqtt-sim label=<label> frame=<frame>`.
///
/// Non-printable or non-ASCII characters of `label` are replaced by `_` in the
/// stamp and the label is cut to [`MAX_LABEL`] characters, so [`read_stamp`]
/// returns `label` unchanged only for short printable-ASCII labels. Returns an
/// empty vector only if the encoder fails, which clamped sizes do not provoke.
pub fn render_jpeg(spec: &PatternSpec, label: &str, frame: u64) -> Vec<u8> {
    let jpeg = encode_pattern(spec, frame);
    if jpeg.is_empty() {
        return jpeg;
    }
    insert_comment(&jpeg, &stamp_text(label, frame))
}

/// The stamp text for `frame` of camera `label`.
fn stamp_text(label: &str, frame: u64) -> String {
    format!(
        "{STAMP_PREFIX}{}{STAMP_FRAME}{frame}",
        sanitize_label(label)
    )
}

/// Draws picture `frame` of the pattern and encodes it, without a stamp.
/// Empty only if the encoder fails.
fn encode_pattern(spec: &PatternSpec, frame: u64) -> Vec<u8> {
    let w = spec.width.clamp(MIN_SIDE, MAX_SIDE);
    let h = spec.height.clamp(MIN_SIDE, MAX_SIDE);
    let mut c = Canvas::new(w, h);

    // Background: red grows left to right, green top to bottom, blue cycles per frame.
    let blue = ((frame.wrapping_mul(16)) & 0xFF) as u8;
    for y in 0..h {
        let g = (y * 255 / (h - 1)) as u8;
        for x in 0..w {
            let r = (x * 255 / (w - 1)) as u8;
            c.set(x, y, [r, g, blue]);
        }
    }

    // A white vertical bar sweeping left to right, one twentieth of the width per frame.
    let bar_w = (w / 10).max(2);
    let step = u64::from((w / 20).max(1));
    let bar_x = (frame.wrapping_mul(step) % u64::from(w - bar_w + 1)) as u32;
    c.fill_rect(bar_x, 0, bar_w, h, [255, 255, 255]);

    // A small box bouncing down the right-hand side, for vertical motion too.
    let box_side = (h / 12).clamp(2, w / 4);
    let box_y =
        (frame.wrapping_mul(u64::from(box_side / 2 + 1)) % u64::from(h - box_side + 1)) as u32;
    c.fill_rect(w - box_side - 1, box_y, box_side, box_side, [255, 0, 255]);

    // The frame number in large digits, top-left.
    let scale = (h / 40).max(1);
    c.draw_number(scale, scale, scale, frame);

    // Baseline with 4:2:0 chroma at every quality, as the hardware encoders
    // of these cameras make (and what RTP/JPEG carries as it is).
    let mut jpeg = Vec::with_capacity(64 * 1024);
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, spec.quality.clamp(1, 100));
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    let encoded = match (u16::try_from(w), u16::try_from(h)) {
        (Ok(w), Ok(h)) => encoder
            .encode(&c.px, w, h, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| e.to_string()),
        _ => Err(format!("{w}x{h} is too large")),
    };
    if let Err(e) = encoded {
        tracing::error!(error = %e, "test pattern: JPEG encoding failed");
        return Vec::new();
    }
    jpeg
}

/// Returns `jpeg` with a COM segment carrying `text` inserted right after SOI.
fn insert_comment(jpeg: &[u8], text: &str) -> Vec<u8> {
    let body = text.as_bytes();
    let Some(rest) = jpeg.strip_prefix(&[0xFF, 0xD8]) else {
        return jpeg.to_vec();
    };
    let Ok(seg_len) = u16::try_from(body.len() + 2) else {
        return jpeg.to_vec();
    };
    let mut out = Vec::with_capacity(jpeg.len() + body.len() + 4);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xFE]);
    out.extend_from_slice(&seg_len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(rest);
    out
}

/// How many distinct pictures a [`FrameCache`] holds unless told otherwise.
pub const DEFAULT_DISTINCT: usize = 8;

/// Pre-encoded test-pattern pictures, stamped per frame on the way out.
///
/// Frame `n` is picture `n % distinct` (drawn as pattern frame `n % distinct`,
/// so the big digits cycle) with the stamp `cam2mqtt-sim label=<label>
/// frame=<n>` in a COM segment right after SOI: [`read_stamp`] returns
/// `(label, n)`, and the same `n` always gives the same bytes, so a test can
/// re-create exactly what a camera sent. Getting a frame copies the picture
/// once; each picture is encoded at most once per cache ([`FrameCache::renders`]
/// counts the encodes).
///
/// Cheap to clone: clones share the pictures (a camera and its test handle
/// hold the same cache).
#[derive(Clone)]
pub struct FrameCache {
    spec: PatternSpec,
    label: String,
    slots: Arc<[OnceLock<Vec<u8>>]>,
    renders: Arc<AtomicU64>,
}

impl std::fmt::Debug for FrameCache {
    /// The parameters and counts, not the pictures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCache")
            .field("spec", &self.spec)
            .field("label", &self.label)
            .field("distinct", &self.distinct())
            .field("renders", &self.renders())
            .finish()
    }
}

impl FrameCache {
    /// Encodes `distinct` pictures now (at least 1).
    pub fn new(spec: PatternSpec, label: &str, distinct: usize) -> Self {
        let cache = Self::lazy(spec, label, distinct);
        for slot in 0..cache.slots.len() {
            cache.picture(slot);
        }
        cache
    }

    /// Like [`FrameCache::new`], but each picture is encoded the first time a
    /// frame needs it (constructing one is free; a camera that is never asked
    /// for video never encodes).
    pub fn lazy(spec: PatternSpec, label: &str, distinct: usize) -> Self {
        let slots: Vec<OnceLock<Vec<u8>>> = std::iter::repeat_with(OnceLock::new)
            .take(distinct.max(1))
            .collect();
        Self {
            spec,
            label: label.to_owned(),
            slots: slots.into(),
            renders: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The picture size and quality.
    pub fn spec(&self) -> &PatternSpec {
        &self.spec
    }

    /// The label stamped into every frame.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How many distinct pictures the cache cycles through.
    pub fn distinct(&self) -> usize {
        self.slots.len()
    }

    /// JPEG encodes done so far (at most [`FrameCache::distinct`]).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    fn picture(&self, slot: usize) -> &[u8] {
        let Some(cell) = self.slots.get(slot) else {
            return &[];
        };
        cell.get_or_init(|| {
            self.renders.fetch_add(1, Ordering::Relaxed);
            encode_pattern(&self.spec, slot as u64)
        })
    }

    /// Frame `n`: picture `n % distinct` stamped with `(label, n)`.
    pub fn frame(&self, n: u64) -> Vec<u8> {
        let slot = (n % self.slots.len() as u64) as usize;
        let picture = self.picture(slot);
        if picture.is_empty() {
            return Vec::new();
        }
        insert_comment(picture, &stamp_text(&self.label, n))
    }
}

/// Reads back the `(label, frame)` stamp written by [`render_jpeg`].
///
/// Walks the JPEG marker segments from SOI up to the first SOS and returns the
/// first COM segment whose text parses as a stamp. Returns `None` for anything
/// else (not a JPEG, truncated segments, no stamp); never panics.
pub fn read_stamp(jpeg: &[u8]) -> Option<(String, u64)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2usize;
    loop {
        if *jpeg.get(i)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(i + 1)?;
        match marker {
            // Fill byte before a marker.
            0xFF => i += 1,
            // Start of scan or end of image: no more header segments.
            0xDA | 0xD9 => return None,
            // Stand-alone markers without a length.
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let len_bytes = jpeg.get(i + 2..i + 4)?;
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 {
                    return None;
                }
                let body = jpeg.get(i + 4..i + 2 + len)?;
                if marker == 0xFE {
                    if let Some(stamp) = parse_stamp(body) {
                        return Some(stamp);
                    }
                }
                i += 2 + len;
            }
        }
    }
}

/// Parses `cam2mqtt-sim label=<label> frame=<n>`.
fn parse_stamp(body: &[u8]) -> Option<(String, u64)> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = text.strip_prefix(STAMP_PREFIX)?;
    let (label, frame) = rest.rsplit_once(STAMP_FRAME)?;
    if frame.is_empty() || !frame.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((label.to_owned(), frame.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_to_the_requested_size() {
        let spec = PatternSpec::default();
        let jpeg = render_jpeg(&spec, "cam", 0);
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (640, 480));

        let small = PatternSpec {
            width: 320,
            height: 240,
            quality: 50,
        };
        let img = image::load_from_memory(&render_jpeg(&small, "cam", 7)).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
    }

    #[test]
    fn consecutive_frames_differ_in_pixels() {
        let spec = PatternSpec {
            width: 160,
            height: 120,
            quality: 80,
        };
        let a = image::load_from_memory(&render_jpeg(&spec, "x", 41))
            .unwrap()
            .to_rgb8();
        let b = image::load_from_memory(&render_jpeg(&spec, "x", 42))
            .unwrap()
            .to_rgb8();
        let differing = a
            .pixels()
            .zip(b.pixels())
            .filter(|(p, q)| p.0.iter().zip(q.0.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
            .count();
        assert!(differing > 500, "only {differing} pixels differ");
    }

    #[test]
    fn stamp_round_trips() {
        let spec = PatternSpec {
            width: 64,
            height: 48,
            quality: 60,
        };
        for (label, frame) in [("demo", 0u64), ("porch cam frame=3", 12345), ("", u64::MAX)] {
            let jpeg = render_jpeg(&spec, label, frame);
            assert_eq!(read_stamp(&jpeg), Some((label.to_owned(), frame)));
            // Still a valid image with the comment inserted.
            assert!(image::load_from_memory(&jpeg).is_ok());
        }
        let jpeg = render_jpeg(&spec, "caf\u{e9}\n", 3);
        assert_eq!(read_stamp(&jpeg), Some(("caf__".to_owned(), 3)));
    }

    #[test]
    fn read_stamp_rejects_garbage() {
        assert_eq!(read_stamp(&[]), None);
        assert_eq!(read_stamp(&[0xFF]), None);
        assert_eq!(read_stamp(&[0xFF, 0xD8]), None);
        assert_eq!(read_stamp(&[0xFF, 0xD8, 0xFF, 0xFE, 0x00]), None);
        assert_eq!(
            read_stamp(&[0xFF, 0xD8, 0xFF, 0xFE, 0xFF, 0xFF, 1, 2]),
            None
        );
        assert_eq!(read_stamp(&[0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x01]), None);
        assert_eq!(read_stamp(b"cam2mqtt-sim label=a frame=1"), None);
        let bad_num = insert_comment(&[0xFF, 0xD8, 0xFF, 0xD9], "cam2mqtt-sim label=a frame=x1");
        assert_eq!(read_stamp(&bad_num), None);
        let good = insert_comment(&[0xFF, 0xD8, 0xFF, 0xD9], "cam2mqtt-sim label=a frame=1");
        assert_eq!(read_stamp(&good), Some(("a".into(), 1)));
        // Truncating a real frame anywhere never panics.
        let jpeg = render_jpeg(&PatternSpec::default(), "t", 9);
        for cut in 0..64 {
            let _ = read_stamp(&jpeg[..cut]);
        }
    }

    #[test]
    fn cached_frames_are_stamped_deterministic_and_decode() {
        let spec = PatternSpec {
            width: 96,
            height: 64,
            quality: 60,
        };
        let cache = FrameCache::new(spec, "cached", 4);
        assert_eq!((cache.distinct(), cache.renders()), (4, 4));
        for n in [0u64, 1, 3, 4, 5, 1_000_003, u64::MAX] {
            let f = cache.frame(n);
            assert_eq!(read_stamp(&f), Some(("cached".to_owned(), n)));
            assert_eq!(f, cache.frame(n), "frame {n} is the same every time");
            let img = image::load_from_memory(&f).unwrap();
            assert_eq!((img.width(), img.height()), (96, 64));
        }
        // Frames n and n + distinct share the picture, not the stamp.
        assert_ne!(cache.frame(1), cache.frame(5));
        let strip = |f: Vec<u8>| {
            let len = usize::from(u16::from_be_bytes([f[4], f[5]]));
            f[4 + len..].to_vec()
        };
        assert_eq!(strip(cache.frame(1)), strip(cache.frame(5)));
        assert_ne!(strip(cache.frame(1)), strip(cache.frame(2)));
        // An independent cache with the same inputs gives the same bytes.
        let again = FrameCache::lazy(spec, "cached", 4);
        assert_eq!(again.renders(), 0);
        assert_eq!(again.frame(77), cache.frame(77));
        assert_eq!(again.renders(), 1);
    }

    #[test]
    fn a_cached_frame_costs_a_copy_not_an_encode() {
        let spec = PatternSpec {
            width: 320,
            height: 240,
            quality: 80,
        };
        let cache = FrameCache::lazy(spec, "cost", DEFAULT_DISTINCT);
        let clone = cache.clone();
        let mut bytes = 0usize;
        for n in 0..1000u64 {
            bytes += cache.frame(n).len();
        }
        assert!(bytes > 1000 * 1000, "real JPEGs");
        // 1000 frames, 8 encodes; the clone shares them.
        assert_eq!(cache.renders(), DEFAULT_DISTINCT as u64);
        let _ = clone.frame(123_456);
        assert_eq!(clone.renders(), DEFAULT_DISTINCT as u64);
        assert_eq!(FrameCache::lazy(spec, "x", 0).distinct(), 1);
        // Debug shows the parameters, not megabytes of JPEG.
        assert!(format!("{cache:?}").len() < 200, "{cache:?}");
    }

    proptest::proptest! {
        #[test]
        fn read_stamp_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = read_stamp(&bytes);
            let mut jpeg = vec![0xFF, 0xD8];
            jpeg.extend_from_slice(&bytes);
            let _ = read_stamp(&jpeg);
        }
    }
}
