//! `sim::pattern::read_stamp`: walks JPEG marker segments of untrusted bytes.
//!
//! It must never panic, and a stamp it returns must really be in the input.
#![no_main]

use cam2mqtt::sim::pattern::read_stamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((label, _frame)) = read_stamp(data) {
        assert!(data.starts_with(&[0xFF, 0xD8]));
        let needle = format!("cam2mqtt-sim label={label} frame=");
        assert!(
            data.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "stamp {label:?} is not in the input"
        );
    }
});
