//! [`CloseCode`]: a Close frame's status code by name (RFC 6455 §7.4 and
//! the IANA registry), with tungstenite's names so that ported code reads
//! the same.

use std::fmt;

/// A close status code. Converts from and into `u16`; unknown codes keep
/// their number in the variant for their range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    Normal,
    /// 1001: the endpoint is going away (a server shutting down, a page
    /// left, lomond's exit handle).
    Away,
    /// 1002: a protocol error.
    Protocol,
    /// 1003: a kind of data the endpoint cannot accept.
    Unsupported,
    /// 1005: no code was in the Close frame (never sent on the wire).
    Status,
    /// 1006: the connection closed without a Close frame (never sent).
    Abnormal,
    /// 1007: data inconsistent with the message's type (text not UTF-8).
    Invalid,
    /// 1008: a message that violates the endpoint's policy.
    Policy,
    /// 1009: a message too big to process.
    Size,
    /// 1010: the client expected an extension the server did not agree.
    Extension,
    /// 1011: the server met an unexpected condition.
    Error,
    /// 1012: the server is restarting.
    Restart,
    /// 1013: try again later (the server is overloaded).
    Again,
    /// 1015: the TLS handshake failed (never sent).
    Tls,
    /// 1004, 1014 and 1016-2999: reserved, or registered after RFC 6455.
    Reserved(u16),
    /// 3000-3999: registered with IANA by libraries and frameworks.
    Iana(u16),
    /// 4000-4999: private to the application.
    Library(u16),
    /// Below 1000 or above 4999: never valid.
    Bad(u16),
}

impl CloseCode {
    /// Whether this code may be sent in a Close frame.
    pub fn is_allowed(self) -> bool {
        crate::proto::close::is_valid_code(self.into())
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        use CloseCode::*;
        match code {
            1000 => Normal,
            1001 => Away,
            1002 => Protocol,
            1003 => Unsupported,
            1005 => Status,
            1006 => Abnormal,
            1007 => Invalid,
            1008 => Policy,
            1009 => Size,
            1010 => Extension,
            1011 => Error,
            1012 => Restart,
            1013 => Again,
            1015 => Tls,
            1004 | 1014 | 1016..=2999 => Reserved(code),
            3000..=3999 => Iana(code),
            4000..=4999 => Library(code),
            _ => Bad(code),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        use CloseCode::*;
        match code {
            Normal => 1000,
            Away => 1001,
            Protocol => 1002,
            Unsupported => 1003,
            Status => 1005,
            Abnormal => 1006,
            Invalid => 1007,
            Policy => 1008,
            Size => 1009,
            Extension => 1010,
            Error => 1011,
            Restart => 1012,
            Again => 1013,
            Tls => 1015,
            Reserved(code) | Iana(code) | Library(code) | Bad(code) => code,
        }
    }
}

impl PartialEq<u16> for CloseCode {
    fn eq(&self, other: &u16) -> bool {
        u16::from(*self) == *other
    }
}

impl fmt::Display for CloseCode {
    /// The number, then the name where the code has one: `1000 (normal)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CloseCode::*;
        let name = match self {
            Normal => "normal",
            Away => "going away",
            Protocol => "protocol error",
            Unsupported => "unsupported data",
            Status => "no status",
            Abnormal => "abnormal closure",
            Invalid => "invalid data",
            Policy => "policy violation",
            Size => "message too big",
            Extension => "extension required",
            Error => "internal error",
            Restart => "service restart",
            Again => "try again later",
            Tls => "TLS handshake failed",
            Reserved(_) | Iana(_) | Library(_) | Bad(_) => {
                return write!(f, "{}", u16::from(*self))
            }
        };
        write!(f, "{} ({name})", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_named_ones_have_names() {
        for code in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(code)), code);
        }
        assert_eq!(CloseCode::from(1001), CloseCode::Away);
        assert_eq!(CloseCode::from(1004), CloseCode::Reserved(1004));
        assert_eq!(CloseCode::from(3001), CloseCode::Iana(3001));
        assert_eq!(CloseCode::from(4001), CloseCode::Library(4001));
        assert_eq!(CloseCode::from(999), CloseCode::Bad(999));
        assert_eq!(CloseCode::Normal.to_string(), "1000 (normal)");
        assert_eq!(CloseCode::Library(4001).to_string(), "4001");
        assert!(CloseCode::Normal.is_allowed() && CloseCode::Library(4999).is_allowed());
        assert!(!CloseCode::Abnormal.is_allowed() && !CloseCode::Bad(5000).is_allowed());
        assert_eq!(CloseCode::Size, 1009);
    }
}
