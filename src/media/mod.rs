//! Media handling outside the protocol cores: snapshot size caps, video
//! decode for snapshots and the live view, and (later) audio transcoding.

pub mod decode_pool;
pub mod jpeg;
pub mod live;
pub mod sink;
pub mod video;
