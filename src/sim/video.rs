//! Pre-encoded test video for the video camera simulators (Wyze), and the
//! picture each of its frames should decode to.
//!
//! Owns [`TestVideo`] (one short clip per codec and resolution, split into
//! access units), [`reference_rgb`] (the deterministic test pattern the clips
//! were encoded from) and [`read_frame_code`] (which clip frame a decoded
//! picture shows). It must not encode anything at run time: eight simulated
//! cameras at 10 fps cost a refcount bump per frame.
//!
//! # Why committed clips, not a runtime encoder
//! The clips under `tests/data/video/` were made once with ffmpeg (x264 /
//! x265) from [`reference_rgb`]; each has a `.txt` next to it with the exact
//! command, the ffmpeg version and the date, and `tests/video_snapshot.rs`
//! has the (ignored) test that regenerates them. Compared with an H.264
//! encoder crate:
//! * **build time on a Pi**: no encoder is compiled into the bridge;
//! * **binary size**: the six streamed clips add about 340 KiB (`include_bytes!`);
//! * **determinism**: the bytes are fixed and reviewable, the same on every
//!   machine and toolchain;
//! * **independent evidence**: the decoders in `media::video` are tested
//!   against streams from the encoders real cameras resemble (x264, x265),
//!   not against an encoder from the same vendor as the decoder.
//!
//! Each clip is made of GOPs of [`GOP_LEN`] frames at 10 fps (IDR first,
//! P-frames after, no B-frames, as cameras stream), with an access unit
//! delimiter in front of every access unit so splitting needs no slice
//! parsing. Frame `i` of a clip was encoded from `reference_rgb(width, height,
//! i)`; a simulator streams frame `n` as access unit `n % len`, so the stream
//! is an endless loop of the clip. The 640x360 clips (the simulated Wyze
//! camera's default size) run [`MOVING_GOPS`] GOPs, 7 s: their frame code
//! counts up and the bar moves through them, so two snapshots seconds apart
//! differ and a live view is visibly live. The larger clips are one GOP (1 s,
//! which a 10 s snapshot interval always catches at the same frame): seven
//! of them would cost megabytes.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;

use crate::model::{VideoCodec, VideoFrame};

/// Frames per GOP: 1 s at 10 fps.
pub const GOP_LEN: usize = 10;

/// GOPs in the 640x360 clips (7 s, a loop no common snapshot interval
/// divides, so interval snapshots keep changing).
pub const MOVING_GOPS: usize = 7;

/// Frame rate the clips were encoded at.
pub const FPS: u32 = 10;

/// One access unit of a clip: everything a decoder needs for one picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// An IDR (H.264) or IRAP (H.265) picture with its parameter sets.
    pub keyframe: bool,
    /// Annex-B bytes, start codes included.
    pub data: Bytes,
}

/// A shipped clip: codec, size, the Annex-B stream.
struct Clip {
    codec: VideoCodec,
    width: u32,
    height: u32,
    stream: &'static [u8],
}

/// The clips: the Wyze sizes in H.264, two sizes in H.265.
const CLIPS: &[Clip] = &[
    Clip {
        codec: VideoCodec::H264,
        width: 640,
        height: 360,
        stream: include_bytes!("../../tests/data/video/h264_640x360.h264"),
    },
    Clip {
        codec: VideoCodec::H264,
        width: 1280,
        height: 720,
        stream: include_bytes!("../../tests/data/video/h264_1280x720.h264"),
    },
    Clip {
        codec: VideoCodec::H264,
        width: 1920,
        height: 1080,
        stream: include_bytes!("../../tests/data/video/h264_1920x1080.h264"),
    },
    Clip {
        codec: VideoCodec::H264,
        width: 2560,
        height: 1440,
        stream: include_bytes!("../../tests/data/video/h264_2560x1440.h264"),
    },
    Clip {
        codec: VideoCodec::H265,
        width: 640,
        height: 360,
        stream: include_bytes!("../../tests/data/video/h265_640x360.h265"),
    },
    Clip {
        codec: VideoCodec::H265,
        width: 1920,
        height: 1080,
        stream: include_bytes!("../../tests/data/video/h265_1920x1080.h265"),
    },
];

/// Access units of each clip, split on first use (same order as [`CLIPS`]).
static SPLIT: [OnceLock<Vec<AccessUnit>>; 6] = [const { OnceLock::new() }; 6];

/// The pre-encoded test video.
#[derive(Debug, Clone, Copy)]
pub struct TestVideo;

impl TestVideo {
    /// Every `(width, height)` there is a clip of in `codec`, smallest first.
    pub fn sizes(codec: VideoCodec) -> Vec<(u32, u32)> {
        CLIPS
            .iter()
            .filter(|c| c.codec == codec)
            .map(|c| (c.width, c.height))
            .collect()
    }

    /// The whole clip of `codec` at `width`x`height`: one or more GOPs of
    /// [`GOP_LEN`] access units, each keyframe first; `None` if no clip has
    /// that size. Splitting happens once per clip and process; later calls
    /// are free.
    pub fn clip(codec: VideoCodec, width: u32, height: u32) -> Option<&'static [AccessUnit]> {
        let i = CLIPS
            .iter()
            .position(|c| c.codec == codec && c.width == width && c.height == height)?;
        let clip = CLIPS.get(i)?;
        let units = SPLIT.get(i)?.get_or_init(|| split(clip.codec, clip.stream));
        Some(units.as_slice())
    }

    /// The first GOP of the clip of `codec` at `width`x`height`: [`GOP_LEN`]
    /// access units, keyframe first, decoding to `reference_rgb` frames 0 to
    /// 9; `None` if no clip has that size.
    pub fn gop(codec: VideoCodec, width: u32, height: u32) -> Option<&'static [AccessUnit]> {
        let units = Self::clip(codec, width, height)?;
        units.get(..GOP_LEN.min(units.len()))
    }

    /// Frame `n` of an endless loop of the clip: access unit `n % len` as a
    /// [`VideoFrame`] stamped `n / FPS` seconds. It decodes (after the frames
    /// since the last keyframe) to `reference_rgb(width, height, n % len)`.
    /// `None` if there is no clip of that size.
    pub fn frame(codec: VideoCodec, width: u32, height: u32, n: u64) -> Option<VideoFrame> {
        let units = Self::clip(codec, width, height)?;
        let len = units.len().max(1) as u64;
        let unit = units.get(usize::try_from(n % len).ok()?)?;
        Some(VideoFrame {
            codec,
            keyframe: unit.keyframe,
            timestamp: Duration::from_millis(n.saturating_mul(1000 / u64::from(FPS))),
            data: unit.data.clone(),
        })
    }

    /// The first GOP as [`VideoFrame`]s, as the media sink would cache it.
    pub fn gop_frames(codec: VideoCodec, width: u32, height: u32) -> Option<Vec<VideoFrame>> {
        let len = Self::gop(codec, width, height)?.len() as u64;
        (0..len)
            .map(|n| Self::frame(codec, width, height, n))
            .collect()
    }
}

/// Splits an Annex-B stream into access units at its access unit delimiters
/// (H.264 NAL type 9, H.265 type 35), which the clips carry in front of every
/// access unit.
fn split(codec: VideoCodec, stream: &'static [u8]) -> Vec<AccessUnit> {
    let nals = nal_starts(stream);
    let mut units = Vec::new();
    let mut start = None;
    let mut keyframe = false;
    for &(at, header) in &nals {
        let (aud, key) = match codec {
            VideoCodec::H264 => {
                let t = header & 0x1F;
                (t == 9, t == 5)
            }
            VideoCodec::H265 => {
                let t = (header >> 1) & 0x3F;
                (t == 35, (16..=21).contains(&t))
            }
        };
        if aud {
            if let Some(s) = start {
                units.push(unit(stream, s, at, keyframe));
            }
            start = Some(at);
            keyframe = false;
        }
        keyframe |= key;
    }
    if let Some(s) = start {
        units.push(unit(stream, s, stream.len(), keyframe));
    }
    units
}

fn unit(stream: &'static [u8], from: usize, to: usize, keyframe: bool) -> AccessUnit {
    AccessUnit {
        keyframe,
        data: Bytes::from_static(stream.get(from..to).unwrap_or_default()),
    }
}

/// `(offset of the start code, first NAL header byte)` of every NAL unit; the
/// offset includes a leading zero of a 4-byte start code.
fn nal_starts(s: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(w) = s.get(i..i + 4) {
        if w[0] == 0 && w[1] == 0 && w[2] == 1 {
            let at = if i > 0 && s.get(i - 1) == Some(&0) {
                i - 1
            } else {
                i
            };
            out.push((at, w[3]));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// Side of one cell of the frame code drawn by [`reference_rgb`].
fn code_cell(height: u32) -> u32 {
    (height / 24).max(4) & !1
}

/// Bits in the frame code.
const CODE_BITS: u32 = 8;

/// Picture `frame` of the test pattern at `width`x`height`, as packed RGB8
/// (`width * height * 3` bytes, rows top to bottom): what frame `frame` of a
/// clip decodes to, up to the encoding loss.
///
/// It is video-friendly by design, so the only loss is the codec's: a smooth
/// gradient (red left to right, green top to bottom, constant blue),
/// a white bar moving right by a sixteenth of the width per frame, and along
/// the bottom left an 8-bit code of `frame` (white cell = 1, black = 0, least
/// significant bit first) that [`read_frame_code`] reads back. All edges sit
/// on even coordinates, so 4:2:0 chroma subsampling loses nothing at them.
pub fn reference_rgb(width: u32, height: u32, frame: u64) -> Vec<u8> {
    let (w, h) = (width.max(2) as usize, height.max(2) as usize);
    let mut px = vec![0u8; w * h * 3];
    let blue = 96;
    for (y, row) in px.chunks_exact_mut(w * 3).enumerate() {
        let g = (y * 255 / (h - 1)) as u8;
        for (x, p) in row.chunks_exact_mut(3).enumerate() {
            p.copy_from_slice(&[(x * 255 / (w - 1)) as u8, g, blue]);
        }
    }
    let mut fill = |x0: usize, y0: usize, cw: usize, ch: usize, rgb: [u8; 3]| {
        for y in y0..(y0 + ch).min(h) {
            for x in x0..(x0 + cw).min(w) {
                if let Some(p) = px.get_mut((y * w + x) * 3..(y * w + x) * 3 + 3) {
                    p.copy_from_slice(&rgb);
                }
            }
        }
    };
    let bar_w = (w / 10).max(2) & !1;
    let step = (w / 16).max(2) & !1;
    let bar_x = (((frame as usize % 64) * step) % (w - bar_w + 1)) & !1;
    fill(bar_x, 0, bar_w, h, [255, 255, 255]);
    let cell = code_cell(height) as usize;
    let y0 = h.saturating_sub(3 * cell);
    fill(0, y0, cell * (CODE_BITS as usize + 2), 3 * cell, [0, 0, 0]);
    for bit in 0..CODE_BITS as usize {
        if frame >> bit & 1 == 1 {
            fill(cell * (bit + 1), y0 + cell, cell, cell, [255, 255, 255]);
        }
    }
    px
}

/// Reads the frame code [`reference_rgb`] draws from a decoded picture (packed
/// RGB8, `width * height * 3` bytes): the pattern frame number modulo 256, or
/// `None` if the buffer has the wrong size. Each cell is judged by its centre
/// pixel's brightness, so JPEG and codec loss do not change the answer.
pub fn read_frame_code(rgb: &[u8], width: u32, height: u32) -> Option<u8> {
    let (w, h) = (width as usize, height as usize);
    if w < 2 || h < 2 || rgb.len() != w.checked_mul(h)?.checked_mul(3)? {
        return None;
    }
    let cell = code_cell(height) as usize;
    let y = h.saturating_sub(3 * cell) + cell + cell / 2;
    let mut code = 0u8;
    for bit in 0..CODE_BITS as usize {
        let x = cell * (bit + 1) + cell / 2;
        let i = (y * w + x) * 3;
        let p = rgb.get(i..i + 3)?;
        let luma = u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]);
        if luma > 3 * 128 {
            code |= 1 << bit;
        }
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_code_reads_back_from_the_reference() {
        for (w, h) in [(640, 360), (1920, 1080), (64, 64)] {
            for n in [0u64, 1, 9, 200, 255] {
                let rgb = reference_rgb(w, h, n);
                assert_eq!(rgb.len(), (w * h * 3) as usize);
                assert_eq!(read_frame_code(&rgb, w, h), Some(n as u8), "{w}x{h} #{n}");
            }
        }
        assert_eq!(read_frame_code(&[0; 10], 640, 360), None);
    }

    #[test]
    fn every_clip_is_gops_of_access_units_keyframe_first() {
        for codec in [VideoCodec::H264, VideoCodec::H265] {
            assert!(!TestVideo::sizes(codec).is_empty());
            for (w, h) in TestVideo::sizes(codec) {
                let clip = TestVideo::clip(codec, w, h).expect("listed");
                let gops = if (w, h) == (640, 360) { MOVING_GOPS } else { 1 };
                assert_eq!(clip.len(), GOP_LEN * gops, "{codec:?} {w}x{h}");
                for (i, unit) in clip.iter().enumerate() {
                    assert_eq!(unit.keyframe, i % GOP_LEN == 0, "{codec:?} {w}x{h} #{i}");
                }
                let gop = TestVideo::gop(codec, w, h).expect("listed");
                assert_eq!(gop.len(), GOP_LEN);
                // The same bytes every time: a refcount, not a copy.
                let again = TestVideo::gop(codec, w, h).expect("listed");
                assert_eq!(gop[3].data.as_ptr(), again[3].data.as_ptr());
            }
        }
        assert!(TestVideo::gop(VideoCodec::H264, 641, 360).is_none());
        let f = TestVideo::frame(VideoCodec::H264, 640, 360, 21).expect("clip");
        assert!(!f.keyframe);
        assert_eq!(f.timestamp, Duration::from_millis(2100));
        assert!(
            TestVideo::frame(VideoCodec::H264, 640, 360, 30)
                .expect("clip")
                .keyframe
        );
        // The 640x360 loop is 7 s: frame 75 is the clip's frame 5 again.
        let again = TestVideo::frame(VideoCodec::H264, 640, 360, 75).expect("clip");
        assert_eq!(
            again.data,
            TestVideo::clip(VideoCodec::H264, 640, 360).expect("clip")[5].data
        );
    }
}
