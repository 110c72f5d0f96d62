//! `media::audio::decode::decode` (symphonia behind our limits and rules)
//! and `media::audio::prepare` on hostile files.
//!
//! Never panics; a decoded file has a rate, samples and at most
//! `MAX_DURATION` of them, and prepares into whole PCMU frames; an error's
//! text (user-facing, it goes to MQTT) is short and one line.
#![no_main]

use cam2mqtt::media::audio::decode::decode;
use cam2mqtt::media::audio::{prepare, AudioCodec, TalkFormat, MAX_DURATION};
use libfuzzer_sys::fuzz_target;

const PCMU_8K: TalkFormat = TalkFormat {
    codec: AudioCodec::Mulaw,
    sample_rate: 8_000,
    samples_per_frame: 160,
};

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(d) => {
            assert!(d.sample_rate > 0 && !d.samples.is_empty());
            assert!(d.duration() <= MAX_DURATION + std::time::Duration::from_secs(1));
            let p = prepare(data, 2.0, &PCMU_8K).expect("a file that decodes prepares");
            assert!(!p.frames.is_empty());
            assert!(p.frames.iter().all(|f| f.len() == 160));
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty() && text.len() <= 200 && !text.contains('\n'), "{text:?}");
        }
    }
});
