//! `media::audio::codec`: the camera codecs on hostile bytes. Input: a
//! selector byte, then the payload.
//!
//! Every codec decodes any payload to the expected number of samples; G.711
//! re-encodes its own output to the same samples; the ADPCM state stays in
//! range from any starting state and encoder and decoder states agree;
//! PCM round-trips exactly.
#![no_main]

use cam2mqtt::media::audio::codec::{self, AdpcmState, AudioCodec};
use libfuzzer_sys::fuzz_target;

const CODECS: [AudioCodec; 5] = [
    AudioCodec::PcmS16Le,
    AudioCodec::ImaAdpcm,
    AudioCodec::Alaw,
    AudioCodec::Mulaw,
    AudioCodec::Aac,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let codec = CODECS[usize::from(selector) % CODECS.len()];
    let Ok(pcm) = codec::decode(codec, payload) else {
        assert_eq!(codec, AudioCodec::Aac);
        return;
    };
    let expected = match codec {
        AudioCodec::PcmS16Le => payload.len() / 2,
        AudioCodec::ImaAdpcm => payload.len() * 2,
        _ => payload.len(),
    };
    assert_eq!(pcm.len(), expected);
    let again = codec::encode(codec, &pcm).expect("every decoder here has an encoder");
    match codec {
        AudioCodec::Alaw | AudioCodec::Mulaw | AudioCodec::PcmS16Le => {
            assert_eq!(codec::decode(codec, &again).expect("decodes"), pcm);
        }
        _ => {}
    }
    // ADPCM from a state taken from the input.
    let mut state = AdpcmState {
        predictor: i16::from_le_bytes([selector, payload.first().copied().unwrap_or(0)]),
        step_index: payload.get(1).copied().unwrap_or(0),
    };
    let mut out = Vec::new();
    state.decode(payload, &mut out);
    assert!(payload.is_empty() || state.step_index <= 88);
    let (mut enc, mut dec) = (AdpcmState::new(), AdpcmState::new());
    let mut bytes = Vec::new();
    enc.encode(&out, &mut bytes);
    dec.decode(&bytes, &mut Vec::new());
    assert_eq!(enc, dec, "the encoder's state is the decoder's");
});
