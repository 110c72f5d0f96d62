//! IOTC datagrams as a Wyze camera (or anyone) may send them: the TransCode
//! transport's packets under every tail policy, CC51 packets with their HMAC
//! tag, and the `Link` that races both. Never panics; whatever decodes
//! re-encodes to a packet that decodes to the same value.
#![no_main]

use cam2mqtt::proto::tutk::cc51::{self, Cc51Key};
use cam2mqtt::proto::tutk::iotc::{Packet, WireUid};
use cam2mqtt::proto::tutk::link::{Link, TransportPolicy};
use cam2mqtt::proto::tutk::transcode::TailPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for tail in [TailPolicy::Permute248, TailPolicy::Permute8, TailPolicy::None] {
        if let Ok(p) = Packet::decode(data, tail) {
            let again = Packet::decode(&p.encode(tail), tail).expect("an encoded packet decodes");
            assert_eq!(again, p, "round trip");
        }
    }
    let uid = WireUid::new("HSBJYB5HSETGCDWD111A").expect("a valid uid");
    let key = Cc51Key::new(&uid.0, b"Jd52xEZl");
    if let Ok(p) = cc51::Packet::decode(data, &key) {
        assert_eq!(cc51::Packet::decode(&p.encode(&key), &key).expect("decodes"), p);
    }
    // The link in every phase it can reach from hostile input.
    let peer = "127.0.0.1:32761".parse().expect("an address");
    let mut link = Link::new(uid, *b"Jd52xEZl", [1; 8], peer, TailPolicy::default(), TransportPolicy::Race);
    link.connect_tick();
    for chunk in data.split(|&b| b == 0xFE).take(16) {
        let _ = link.handle(peer, chunk);
        while link.poll_transmit().is_some() {}
        let _ = link.wrap(0, chunk.to_vec());
    }
});
