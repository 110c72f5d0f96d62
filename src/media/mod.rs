//! Media handling outside the protocol cores: snapshot size caps and (later)
//! video decode and audio transcoding.

pub mod jpeg;
pub mod sink;
