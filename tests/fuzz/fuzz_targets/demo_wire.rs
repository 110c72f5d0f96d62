//! A9 demo-mode wire decoders: `VideoDatagram::decode` and `WifiRequest::decode`.
//!
//! Both must reject hostile bytes with an error, never a panic, and whatever
//! they accept must re-encode to exactly the bytes that were decoded.
#![no_main]

use cam2mqtt::proto::demo::wire::{
    VideoDatagram, WifiRequest, HEADER_LEN, MAX_DATAGRAM, MAX_WIFI_FIELD,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = VideoDatagram::decode(data) {
        assert!(data.len() >= HEADER_LEN && data.len() <= MAX_DATAGRAM);
        assert_eq!(d.header.raw[..], data[..HEADER_LEN]);
        assert_eq!(d.header.frame_id, data[0]);
        assert_eq!(d.header.end_of_frame, data[1] != 0);
        assert_eq!(d.header.packet, data[2]);
        assert_eq!(d.payload, &data[HEADER_LEN..]);
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, data, "video datagram does not round-trip");
        assert_eq!(VideoDatagram::decode(&out), Ok(d));
    }

    if let Ok(w) = WifiRequest::decode(data) {
        assert!(w.ssid.len() <= MAX_WIFI_FIELD && w.password.len() <= MAX_WIFI_FIELD);
        let mut out = Vec::new();
        w.encode(&mut out);
        // `66 ssid ### password 00 99` with the first `###` as separator is
        // unambiguous, so the bytes must come back unchanged.
        assert_eq!(out, data, "wifi request does not round-trip");
        assert_eq!(WifiRequest::decode(&out), Ok(w));
    }
});
