//! Media handling outside the protocol cores: snapshot size caps, video
//! decode for snapshots and (later) audio transcoding.

pub mod decode_pool;
pub mod jpeg;
pub mod sink;
pub mod video;
