//! placeholder
/// Every command topic name.
pub const COMMAND_NAMES: &[&str] = &["snapshot"];
