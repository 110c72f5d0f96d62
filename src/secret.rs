//! [`Secret`]: a string that never shows itself.
//!
//! Passwords, ENR keys and tokens are held in this type from the moment they are
//! parsed (config file, environment, MQTT command) until the protocol encoder
//! needs the bytes. `Debug`, `Display` and `Serialize` all print a fixed marker,
//! so a secret cannot leak through logs, `check-config`, state or error texts.
//! We use our own type rather than `secrecy` because `check-config` must
//! *serialize* the effective config with secrets replaced, which `secrecy`
//! deliberately refuses to do.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A secret string (password, key, token).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where the bytes go onto the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { REDACTED })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn empty_secret_shows_as_empty() {
        assert_eq!(serde_json::to_string(&Secret::default()).unwrap(), "\"\"");
    }
}
