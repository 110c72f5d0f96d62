//! Live view: what a watched camera costs in `media::live::LiveDecoder`, per
//! codec and size, on the committed clips (GOPs of 10: one keyframe, nine
//! P-frames, looped and restamped at 20 fps).
//!
//! * `decode_per_frame`: one `push` that decodes and encodes nothing (the
//!   pacing interval is longer than the run).
//! * `decode_encode_per_frame`: one `push` that decodes, converts to RGB and
//!   encodes a q80 JPEG (interval 0). The cost of one encoded picture is the
//!   difference of the two.
//! * `jpeg_q80`: the JPEG encode alone of an RGB picture of that size (the
//!   rest of an encoded picture's cost is the YUV to RGB conversion).
//!
//! `cargo bench --bench live_decode -- --warm-up-time 1 --measurement-time 5`
//!
//! The figures and the CPU share of a watched camera (20 fps in, 5 fps out)
//! are in the module documentation of `src/media/live.rs`.

use std::time::Duration;

use cam2mqtt::media::live::{LiveDecoder, LiveSettings};
use cam2mqtt::model::{VideoCodec, VideoFrame};
use cam2mqtt::sim::video::{reference_rgb, TestVideo};
use criterion::{criterion_group, criterion_main, Criterion};

/// The clip at `w`x`h`, looped from frame `n` on and stamped at 20 fps.
struct Loop {
    frames: &'static [cam2mqtt::sim::video::AccessUnit],
    codec: VideoCodec,
    n: u64,
}

impl Loop {
    fn new(codec: VideoCodec, w: u32, h: u32) -> Self {
        let frames = TestVideo::clip(codec, w, h).expect("clip");
        Self {
            frames,
            codec,
            n: 0,
        }
    }

    fn next_frame(&mut self) -> VideoFrame {
        let unit = &self.frames[(self.n % self.frames.len() as u64) as usize];
        let frame = VideoFrame {
            codec: self.codec,
            keyframe: unit.keyframe,
            timestamp: Duration::from_millis(self.n * 50),
            data: unit.data.clone(),
        };
        self.n += 1;
        frame
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("live_decode");
    for codec in [VideoCodec::H264, VideoCodec::H265] {
        for (w, h) in [(640, 360), (1920, 1080)] {
            if TestVideo::clip(codec, w, h).is_none() {
                continue;
            }
            for (what, interval) in [
                ("decode_per_frame", Duration::from_secs(1 << 40)),
                ("decode_encode_per_frame", Duration::ZERO),
            ] {
                let settings = LiveSettings {
                    min_interval: interval,
                    max_bytes: usize::MAX,
                    quality: 80,
                };
                let mut dec = LiveDecoder::new(codec, settings);
                let mut frames = Loop::new(codec, w, h);
                g.bench_function(format!("{codec:?}_{w}x{h}_{what}"), |b| {
                    b.iter(|| dec.push(&frames.next_frame()).expect("decodes"))
                });
            }
        }
    }
    for (w, h) in [(640, 360), (1920, 1080)] {
        let rgb = image::RgbImage::from_raw(w, h, reference_rgb(w, h, 0)).expect("sized");
        g.bench_function(format!("{w}x{h}_jpeg_q80"), |b| {
            b.iter(|| cam2mqtt::media::jpeg::encode_rgb(&rgb, 80).expect("encodes"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
