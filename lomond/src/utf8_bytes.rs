//! [`Utf8Bytes`]: text that shares its buffer with the bytes it was read
//! into, or holds them inline when short (see [`Payload`]).

use crate::payload::Payload;
use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// An immutable, cheaply cloned UTF-8 string backed by a [`Payload`].
///
/// Text messages arrive as bytes and are validated as they arrive; wrapping
/// the validated bytes avoids copying them into a `String`. It derefs to
/// `&str`; [`Utf8Bytes::into_string`] gives an owned `String` when needed.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Payload);

impl Utf8Bytes {
    /// Wraps bytes already known to be UTF-8 (checked in debug builds).
    pub(crate) fn from_validated(bytes: impl Into<Payload>) -> Self {
        let payload = bytes.into();
        debug_assert!(std::str::from_utf8(&payload).is_ok());
        Utf8Bytes(payload)
    }

    /// Text from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Bytes(Payload::from_static(s.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // The only constructors validate (or take a `str`), so this cannot
        // fail; a failure would be a bug in this module.
        std::str::from_utf8(&self.0).expect("Utf8Bytes holds UTF-8")
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying bytes, by value (copied when held inline).
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// The underlying bytes as a [`Payload`].
    pub fn into_payload(self) -> Payload {
        self.0
    }

    /// An owned `String` (copies the text).
    pub fn into_string(self) -> String {
        self.as_str().to_owned()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Payload::from(s.into_bytes()))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(s: &str) -> Self {
        Utf8Bytes(Payload::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(Payload::from(bytes)))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        let t = Utf8Bytes::try_from(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(t, "héllo");
        assert_eq!(t.len(), 6);
        assert_eq!(format!("{t}|{t:?}"), "héllo|\"héllo\"");
        assert!(Utf8Bytes::try_from(Bytes::from_static(b"\xff")).is_err());
        assert_eq!(Utf8Bytes::from("x".to_string()).into_string(), "x");
    }
}
