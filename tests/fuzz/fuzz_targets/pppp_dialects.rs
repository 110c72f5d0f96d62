//! Every dialect's reply (and request) parser, and the bridge's client-side
//! interpretation of replies, on hostile bytes: never panics, never echoes a
//! password.
#![no_main]

use cam2mqtt::media::audio::codec::{self, AudioCodec};
use cam2mqtt::proto::pppp::audio::parse_audio_frame;
use cam2mqtt::proto::pppp::client::DialectClient;
use cam2mqtt::proto::pppp::dialect::binary::BinaryCommand;
use cam2mqtt::proto::pppp::dialect::cgi::{CgiReply, CgiRequest};
use cam2mqtt::proto::pppp::dialect::json;
use cam2mqtt::proto::pppp::dialect::{Dialect, Password};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = json::decode_replies(data);
    let _ = json::decode_requests(data);
    let _ = BinaryCommand::decode(data);
    let _ = CgiReply::decode(data);
    let _ = CgiRequest::decode(data);
    let _ = parse_audio_frame(data).map(|f| codec::decode(AudioCodec::ImaAdpcm, f.data));
    for d in [Dialect::Json, Dialect::Binary, Dialect::Cgi] {
        let mut c = DialectClient::new(d, "admin", Password::new("s3cret-pw"));
        match c.parse(data) {
            Ok(replies) => {
                let shown = format!("{replies:?}");
                assert!(!shown.contains("s3cret-pw"));
            }
            Err(e) => assert!(!e.to_string().contains("s3cret-pw")),
        }
    }
});
