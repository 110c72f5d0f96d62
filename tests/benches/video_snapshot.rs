//! Video snapshots: 1080p keyframe decode + RGB + JPEG encode (q80) per codec,
//! in ms per snapshot, and the JPEG encode alone with `image` against
//! `jpeg-encoder` at 1080p.
//!
//! `cargo bench --bench video_snapshot -- --warm-up-time 1 --measurement-time 3`

use cam2mqtt::media::video::{decode_last_picture, snapshot_from_gop};
use cam2mqtt::model::VideoCodec;
use cam2mqtt::sim::video::{reference_rgb, TestVideo};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("video_snapshot_1080p");
    g.sample_size(10);
    for codec in [VideoCodec::H264, VideoCodec::H265] {
        let frames = TestVideo::gop_frames(codec, 1920, 1080).expect("clip");
        let key = &frames[..1];
        g.bench_function(format!("{codec:?}_keyframe_decode_rgb"), |b| {
            b.iter(|| decode_last_picture(codec, key).expect("decodes"))
        });
        g.bench_function(format!("{codec:?}_keyframe_snapshot_q80"), |b| {
            b.iter(|| snapshot_from_gop(codec, key, usize::MAX, 80).expect("snapshot"))
        });
        g.bench_function(format!("{codec:?}_gop10_snapshot_q80"), |b| {
            b.iter(|| snapshot_from_gop(codec, &frames, usize::MAX, 80).expect("snapshot"))
        });
    }
    let rgb = image::RgbImage::from_raw(1920, 1080, reference_rgb(1920, 1080, 0)).expect("sized");
    g.bench_function("jpeg_encode_q80_jpeg_encoder", |b| {
        b.iter(|| cam2mqtt::media::jpeg::encode_rgb(&rgb, 80).expect("encodes"))
    });
    g.bench_function("jpeg_encode_q80_image", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
                .encode_image(&rgb)
                .expect("encodes");
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
