//! Media handling outside the protocol cores: snapshot size caps, video
//! decode for snapshots and the live view, and audio (camera codecs, file
//! decoding, resampling, the intercom pipeline).

pub mod audio;
pub mod decode_pool;
pub mod jpeg;
pub mod live;
pub mod sink;
pub mod video;
