//! PPPP datagrams as a camera (or anyone) may send them: key detection by the
//! first byte, de-obfuscation, `Message::decode`. Never panics; whatever
//! decodes re-encodes to the same message (padding after the declared length
//! is the only thing dropped).
#![no_main]

use cam2mqtt::proto::pppp::obfuscate::detect;
use cam2mqtt::proto::pppp::wire::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for plain in [data.to_vec(), {
        let mut p = data.to_vec();
        if let Some((_, o)) = data.first().and_then(|b| detect(*b)) {
            o.open(&mut p);
        }
        p
    }] {
        if let Ok(m) = Message::decode(&plain) {
            let again = m.to_vec();
            assert!(plain.starts_with(&again[..4]) || again.len() <= plain.len());
            let re = Message::decode(&again).expect("an encoded message decodes");
            assert_eq!(re, m, "round trip");
        }
    }
});
