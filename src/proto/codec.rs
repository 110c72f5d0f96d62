//! Total wire-codec helpers: a bounds-checked [`Reader`], typed [`WireError`]s
//! and a bounded hex printer for logs.
//!
//! Nothing here indexes or slices peer bytes without a check; every decoder in
//! `proto/` is built on [`Reader`] so hostile input yields an error, never a panic.

use std::fmt;

/// A datagram (or part of one) that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the format needs.
    #[error("truncated: needed {need} bytes, got {got}")]
    Truncated {
        /// Bytes required.
        need: usize,
        /// Bytes available.
        got: usize,
    },
    /// A magic number or fixed field had the wrong value.
    #[error("bad magic: expected {expected}, got {got}")]
    BadMagic {
        /// What the format requires (hex).
        expected: &'static str,
        /// What arrived (hex).
        got: String,
    },
    /// A type/opcode we do not know.
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u16),
    /// Bytes left over after a complete message.
    #[error("{0} trailing bytes")]
    TrailingData(usize),
    /// A length or value outside what the format allows.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
}

/// Bounds-checked cursor over untrusted bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Start reading `buf` from the beginning.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Take exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let got = self.remaining();
        if got < n {
            return Err(WireError::Truncated { need: n, got });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..start + n])
    }

    /// Take every byte that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.buf.len());
        self.pos = self.buf.len();
        &self.buf[start..]
    }

    /// Read one byte.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    /// Read a big-endian u16.
    pub fn u16_be(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Read a little-endian u16.
    pub fn u16_le(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Read a big-endian u32.
    pub fn u32_be(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read a little-endian u32.
    pub fn u32_le(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Fail with [`WireError::TrailingData`] unless everything was read.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(WireError::TrailingData(n)),
        }
    }
}

/// Prints at most `limit` bytes as hex, then `…(+N)`: safe for logs (retina's `LimitedHex`).
pub struct LimitedHex<'a> {
    bytes: &'a [u8],
    limit: usize,
}

impl<'a> LimitedHex<'a> {
    /// Show up to `limit` bytes of `bytes`.
    pub fn new(bytes: &'a [u8], limit: usize) -> Self {
        Self { bytes, limit }
    }
}

impl fmt::Display for LimitedHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.bytes.iter().take(self.limit) {
            write!(f, "{b:02x}")?;
        }
        if self.bytes.len() > self.limit {
            write!(f, "…(+{})", self.bytes.len() - self.limit)?;
        }
        Ok(())
    }
}

impl fmt::Debug for LimitedHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_instead_of_panicking() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_be().unwrap(), 0x0102);
        assert_eq!(r.u16_be(), Err(WireError::Truncated { need: 2, got: 1 }));
        assert_eq!(r.finish(), Err(WireError::TrailingData(1)));
        assert_eq!(r.rest(), &[3]);
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn limited_hex_bounds_its_output() {
        assert_eq!(
            LimitedHex::new(&[0xab, 0xcd, 0xef], 2).to_string(),
            "abcd…(+1)"
        );
        assert_eq!(LimitedHex::new(&[], 2).to_string(), "");
    }
}
