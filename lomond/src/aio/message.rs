//! [`Message`] and [`CloseFrame`]: what [`WsStream`](super::WsStream)
//! yields and takes, as tokio-tungstenite models them, with its
//! conveniences (`is_text`, `into_data`, `From<&str>`, ...).

use crate::close_code::CloseCode;
use crate::payload::Payload;
use crate::proto::Outgoing;
use crate::utf8_bytes::Utf8Bytes;
use bytes::Bytes;
use std::fmt;

/// A close frame's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Status code.
    pub code: CloseCode,
    /// Reason (at most 123 bytes).
    pub reason: Utf8Bytes,
}

/// A WebSocket message, as tokio-tungstenite models it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Payload),
    /// A ping (answered automatically).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: received, or to send (starting the close handshake).
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message (from `Bytes`, a `Vec<u8>`, a byte slice...).
    pub fn binary(data: impl Into<Payload>) -> Message {
        Message::Binary(data.into())
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// Whether this is a close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The payload's length in bytes (a close frame's reason's).
    pub fn len(&self) -> usize {
        self.as_payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload (a close frame's reason), without a copy.
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) => b.into_bytes(),
            Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => Bytes::new(),
            Message::Close(Some(frame)) => frame.reason.into_bytes(),
        }
    }

    /// The payload as text: a text message's always, another's if it is
    /// UTF-8.
    pub fn to_text(&self) -> Result<&str, std::str::Utf8Error> {
        match self {
            Message::Text(t) => Ok(t.as_str()),
            other => std::str::from_utf8(other.as_payload()),
        }
    }

    /// The payload as text, without a copy (see [`to_text`](Self::to_text)).
    pub fn into_text(self) -> Result<Utf8Bytes, std::str::Utf8Error> {
        match self {
            Message::Text(t) => Ok(t),
            other => Utf8Bytes::try_from(other.into_data()),
        }
    }

    fn as_payload(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => &[],
            Message::Close(Some(frame)) => frame.reason.as_bytes(),
        }
    }

    /// What sending this message asks of the connection: `Close(None)` is
    /// a normal closure (1000).
    pub fn outgoing(&self) -> Outgoing<'_> {
        match self {
            Message::Text(t) => Outgoing::text(t),
            Message::Binary(b) => Outgoing::binary(b),
            Message::Ping(b) => Outgoing::Ping(b),
            Message::Pong(b) => Outgoing::Pong(b),
            Message::Close(None) => Outgoing::normal_close(),
            Message::Close(Some(f)) => Outgoing::Close {
                code: f.code.into(),
                reason: &f.reason,
            },
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::text(text)
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Message {
        Message::Text(text)
    }
}

impl From<&[u8]> for Message {
    fn from(data: &[u8]) -> Message {
        Message::binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::binary(data)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::binary(data)
    }
}

impl From<Message> for Bytes {
    fn from(message: Message) -> Bytes {
        message.into_data()
    }
}

impl fmt::Display for Message {
    /// The text, or the payload as text where it is UTF-8, or its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_text() {
            Ok(text) => f.write_str(text),
            Err(_) => write!(f, "binary ({} bytes)", self.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_without_a_frame_is_a_normal_closure() {
        assert_eq!(Message::Close(None).outgoing(), Outgoing::normal_close());
        let frame = CloseFrame {
            code: CloseCode::Library(4001),
            reason: "bye".into(),
        };
        assert_eq!(
            Message::Close(Some(frame)).outgoing(),
            Outgoing::Close {
                code: 4001,
                reason: "bye"
            }
        );
        assert_eq!(Message::text("t").outgoing(), Outgoing::text("t"));
    }

    #[test]
    fn conveniences_as_tokio_tungstenite_has_them() {
        let text = Message::from("héllo");
        assert!(text.is_text() && !text.is_binary() && !text.is_close());
        assert_eq!((text.len(), text.is_empty()), (6, false));
        assert_eq!(text.to_text(), Ok("héllo"));
        assert_eq!(text.to_string(), "héllo");
        assert_eq!(
            text.clone().into_data(),
            Bytes::from_static("héllo".as_bytes())
        );
        assert_eq!(Message::from(String::from("s")), Message::text("s"));

        let bin = Message::from(vec![0xff, 0x00]);
        assert!(bin.is_binary());
        assert!(bin.to_text().is_err() && bin.clone().into_text().is_err());
        assert_eq!(bin.to_string(), "binary (2 bytes)");
        assert_eq!(
            Message::from(&b"ok"[..]).into_text().unwrap().as_str(),
            "ok"
        );
        assert_eq!(
            Message::from(Bytes::from_static(b"x")),
            Message::binary(&b"x"[..])
        );
        assert_eq!(Bytes::from(bin), Bytes::from_static(&[0xff, 0x00]));

        assert!(Message::Ping(Bytes::new()).is_ping() && Message::Pong(Bytes::new()).is_pong());
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        }));
        assert!(close.is_close());
        assert_eq!((close.len(), close.to_text()), (4, Ok("done")));
        assert!(Message::Close(None).is_empty());
    }
}
