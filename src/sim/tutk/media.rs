//! What the simulated Wyze camera streams: video access units from a
//! [`VideoSource`] (by default the pre-encoded clips, [`TestVideo`]) (behind a trait, so the camera takes "access units for
//! (codec, size)" from whatever provides them), PCMU audio, and the cutting
//! of a frame into media packets with [`Piece::encode`].
//!
//! Nothing here encodes at run time: a frame is cut by copying slices of
//! shared [`Bytes`].

use std::sync::Arc;

use bytes::Bytes;

use crate::model::VideoCodec;
use crate::proto::tutk::frame::{codec, FrameInfo, MediaChannel, Piece};
use crate::proto::tutk::kcmd::FrameSize;

pub use crate::sim::video::AccessUnit;
use crate::sim::video::TestVideo;

/// Where the camera's video comes from: one clip per codec and size, one or
/// more GOPs (the camera streams it in a loop, jumping to the next keyframe
/// whenever a keyframe is asked for).
pub trait VideoSource: Send + Sync + 'static {
    /// The clip of `codec` at `size`, keyframe first; `None` if there is none.
    fn clip(&self, codec: VideoCodec, size: FrameSize) -> Option<Arc<[AccessUnit]>>;
}

/// The pre-encoded clips of [`crate::sim::video`]: real H.264 at every Wyze
/// size, H.265 at 640x360 and 1920x1080 (other H.265 sizes are refused).
impl VideoSource for TestVideo {
    fn clip(&self, codec: VideoCodec, size: FrameSize) -> Option<Arc<[AccessUnit]>> {
        let (w, h) = size.dimensions();
        TestVideo::clip(codec, w, h).map(Arc::from)
    }
}

/// A stand-in source: Annex-B shaped access units (AUD, parameter sets and
/// an IDR slice on keyframes, a non-IDR slice otherwise) whose slice bytes
/// are seeded noise, sized like a camera's frames (a keyframe ≈ pixels/40
/// bytes, a P-frame an eighth of that). They do not decode to a picture;
/// they exercise everything up to the decoder, cheaply.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyntheticVideo;

/// Frames per GOP of [`SyntheticVideo`] (1 s at 10 fps, like the clips).
pub const SYNTHETIC_GOP: usize = 10;

impl VideoSource for SyntheticVideo {
    fn clip(&self, codec: VideoCodec, size: FrameSize) -> Option<Arc<[AccessUnit]>> {
        let (w, h) = size.dimensions();
        let key_len = usize::try_from(w * h / 40).unwrap_or(8192);
        Some(
            (0..SYNTHETIC_GOP)
                .map(|i| {
                    let keyframe = i == 0;
                    let len = if keyframe { key_len } else { key_len / 8 };
                    AccessUnit {
                        keyframe,
                        data: synthetic_unit(codec, size, i, keyframe, len),
                    }
                })
                .collect(),
        )
    }
}

fn synthetic_unit(codec: VideoCodec, size: FrameSize, i: usize, key: bool, len: usize) -> Bytes {
    const SC: [u8; 4] = [0, 0, 0, 1];
    let mut out = Vec::with_capacity(len + 64);
    let nal = |out: &mut Vec<u8>, header: &[u8], body: &[u8]| {
        out.extend_from_slice(&SC);
        out.extend_from_slice(header);
        out.extend_from_slice(body);
    };
    let tag = [size.code() + 1, u8::try_from(i % 256).unwrap_or(0) + 1];
    match codec {
        VideoCodec::H264 => {
            nal(&mut out, &[0x09], &[0xF0]);
            if key {
                nal(&mut out, &[0x67, 0x64, 0x00, 0x1F], &tag);
                nal(&mut out, &[0x68, 0xEE, 0x3C, 0x80], &[]);
            }
            out.extend_from_slice(&SC);
            out.push(if key { 0x65 } else { 0x41 });
        }
        VideoCodec::H265 => {
            nal(&mut out, &[0x46, 0x01], &[0x50]);
            if key {
                nal(&mut out, &[0x40, 0x01, 0x0C], &tag);
                nal(&mut out, &[0x42, 0x01, 0x01], &tag);
                nal(&mut out, &[0x44, 0x01, 0xC1], &[]);
            }
            out.extend_from_slice(&SC);
            out.extend_from_slice(if key { &[0x26, 0x01] } else { &[0x02, 0x01] });
        }
    }
    // Slice bytes never 0, so no start code is emulated.
    let mut x = 0x9E37_79B9u32 ^ (u32::from(tag[0]) << 8) ^ u32::from(tag[1]);
    while out.len() < len.max(16) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(u8::try_from(x % 255).unwrap_or(0) + 1);
    }
    Bytes::from(out)
}

/// The FRAMEINFO codec id of a video codec.
pub fn codec_id(c: VideoCodec) -> u16 {
    match c {
        VideoCodec::H264 => codec::H264,
        VideoCodec::H265 => codec::H265,
    }
}

/// Cuts one frame into media packets of at most `max_piece` bytes of frame
/// each, the FRAMEINFO on the last; `tx_seq` counts packets.
pub fn cut_frame(
    channel: MediaChannel,
    frame_no: u32,
    data: &[u8],
    info: FrameInfo,
    max_piece: usize,
    tx_seq: &mut u16,
) -> Vec<Vec<u8>> {
    let max_piece = max_piece.max(1);
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(max_piece).collect()
    };
    // A frame never has more pieces than a u16 (MAX_PIECES is 2048; a 2K
    // keyframe of the source is about 100).
    let total = u16::try_from(chunks.len()).unwrap_or(u16::MAX);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            let piece = Piece {
                channel,
                frame_type: 0,
                frame_no,
                total,
                index,
                data: chunk,
                info: (index + 1 == total).then_some(info),
            };
            let p = piece.encode(*tx_seq);
            *tx_seq = tx_seq.wrapping_add(1);
            p
        })
        .collect()
}

/// Samples in one audio frame (20 ms of PCMU at 8 kHz).
pub const AUDIO_FRAME: usize = 160;

/// 20 ms of a 400 Hz tone in G.711 µ-law (8 whole periods, so frames join
/// without a click).
pub fn pcmu_tone() -> Vec<u8> {
    (0..AUDIO_FRAME)
        .map(|i| {
            let phase = std::f64::consts::TAU * 400.0 * i as f64 / 8000.0;
            // Amplitude 8000 of 32767: well inside i16.
            ulaw((phase.sin() * 8000.0) as i16)
        })
        .collect()
}

/// G.711 µ-law of one linear sample.
pub fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(CLIP) + BIAS;
    // s is in 0x84..0x8000: its top bit is 7..=14.
    let top = 31 - s.leading_zeros();
    let exp = top.saturating_sub(7).min(7);
    let mantissa = (s >> (exp + 3)) & 0x0F;
    let exp = u8::try_from(exp).unwrap_or(7);
    let mantissa = u8::try_from(mantissa).unwrap_or(0);
    !(sign | (exp << 4) | mantissa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tutk::frame::{AvEvent, FrameAssembler};

    #[test]
    fn synthetic_gops_start_with_a_keyframe_and_carry_no_stray_start_codes() {
        for c in [VideoCodec::H264, VideoCodec::H265] {
            for s in FrameSize::ALL {
                let gop = SyntheticVideo.clip(c, s).unwrap();
                assert_eq!(gop.len(), SYNTHETIC_GOP);
                assert!(gop[0].keyframe && gop[1..].iter().all(|u| !u.keyframe));
                assert!(gop[0].data.starts_with(&[0, 0, 0, 1]));
                assert!(gop[0].data.len() > gop[1].data.len());
            }
        }
        let a = SyntheticVideo
            .clip(VideoCodec::H264, FrameSize::Hd720)
            .unwrap();
        let b = SyntheticVideo
            .clip(VideoCodec::H264, FrameSize::Sd360)
            .unwrap();
        assert_ne!(a[0].data, b[0].data);
    }

    #[test]
    fn the_clips_cover_every_h264_size_and_two_h265_sizes() {
        for s in FrameSize::ALL {
            let gop = VideoSource::clip(&TestVideo, VideoCodec::H264, s).unwrap();
            assert!(gop[0].keyframe && !gop[1].keyframe);
        }
        assert!(VideoSource::clip(&TestVideo, VideoCodec::H265, FrameSize::Hd1080).is_some());
        assert!(VideoSource::clip(&TestVideo, VideoCodec::H265, FrameSize::Hd720).is_none());
    }

    #[test]
    fn a_cut_frame_reassembles_exactly() {
        let unit = &SyntheticVideo
            .clip(VideoCodec::H264, FrameSize::Hd720)
            .unwrap()[0];
        let info = FrameInfo {
            codec: codec::H264,
            flags: 1,
            fps: 10,
            frame_size: FrameSize::Hd720.code(),
            payload_size: u32::try_from(unit.data.len()).unwrap(),
            frame_no: 7,
            ..FrameInfo::default()
        };
        let mut seq = 0;
        let pieces = cut_frame(MediaChannel::IVideo, 7, &unit.data, info, 1000, &mut seq);
        assert_eq!(pieces.len(), unit.data.len().div_ceil(1000));
        assert!(pieces.iter().all(|p| p.len() <= 1000 + 36 + 40));
        assert_eq!(usize::from(seq), pieces.len());
        let mut a = FrameAssembler::new();
        for p in pieces.iter().rev() {
            a.push(p).unwrap();
        }
        match a.pull() {
            Some(AvEvent::Video { data, keyframe, .. }) => {
                assert!(keyframe);
                assert_eq!(data, unit.data);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ulaw_matches_g711_reference_points() {
        assert_eq!(ulaw(0), 0xFF);
        assert_eq!(ulaw(-1), 0x7F);
        assert_eq!(ulaw(i16::MAX), 0x80);
        assert_eq!(ulaw(i16::MIN), 0x00);
        assert_eq!(pcmu_tone().len(), AUDIO_FRAME);
    }
}
