//! Reassembly of messages from frames (RFC 6455 §5.4), with text validated
//! as its bytes arrive, and compressed messages (RFC 7692) inflated as their
//! bytes arrive.

use super::deflate::Inflater;
use super::event::Event;
use super::frame::{FrameHeader, OpCode};
use super::utf8::Utf8Validator;
use crate::error::ProtocolError;
use crate::utf8_bytes::Utf8Bytes;
use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
}

/// The message being received: its kind, the fragments so far, the UTF-8
/// state, and its running size against the limit.
#[derive(Default)]
pub struct MessageAssembler {
    kind: Option<Kind>,
    /// Kind of the data frame whose payload is arriving.
    frame_kind: Option<Kind>,
    fragments: BytesMut,
    size: u64,
    utf8: Utf8Validator,
    /// Present once permessage-deflate is negotiated.
    inflater: Option<Inflater>,
    /// The current message has RSV1 set: its frames are deflate data.
    compressed: bool,
    /// Compressed bytes received for the current message.
    compressed_len: u64,
    /// The current compressed message, inflated so far.
    inflated: Vec<u8>,
    /// The message size limit, for inflation.
    limit: usize,
}

impl MessageAssembler {
    /// Enables decompression of messages whose first frame has RSV1 set.
    pub fn enable_inflate(&mut self, inflater: Inflater) {
        self.inflater = Some(inflater);
    }

    /// Whether RSV1 may mark a message as compressed.
    pub fn inflates(&self) -> bool {
        self.inflater.is_some()
    }

    /// No message is in progress: the next data frame starts one.
    pub fn is_idle(&self) -> bool {
        self.kind.is_none()
    }

    /// Whether the current data frame's payload is deflate data, which the
    /// connection streams through [`frame_data`](Self::frame_data) and need
    /// not keep.
    pub fn frame_is_compressed(&self) -> bool {
        self.compressed && self.frame_kind.is_some()
    }

    /// Checks a data frame's place in the message sequence and its size
    /// against `max_message_size`, before any of its payload is read.
    /// `compressed` is the frame's RSV1 (only ever set on a first frame).
    pub fn begin_frame(
        &mut self,
        header: &FrameHeader,
        compressed: bool,
        max_message_size: usize,
    ) -> Result<(), ProtocolError> {
        let kind = match (header.opcode, self.kind) {
            (OpCode::Continuation, Some(kind)) => kind,
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (OpCode::Text, None) => Kind::Text,
            (_, None) => Kind::Binary,
        };
        if self.kind.is_none() {
            self.compressed = compressed;
        }
        // Compressed messages are bounded by their inflated size instead.
        let size = self.size.saturating_add(header.len);
        if !self.compressed && size > max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                limit: max_message_size,
            });
        }
        self.size = size;
        self.limit = max_message_size;
        self.kind = Some(kind);
        self.frame_kind = Some(kind);
        Ok(())
    }

    /// Takes the next received piece of the current frame's payload: text is
    /// validated here, so invalid UTF-8 fails on the piece that holds it;
    /// compressed data is inflated here, so a bomb fails at the limit.
    pub fn frame_data(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        if self.compressed {
            self.compressed_len += chunk.len() as u64;
            let start = self.inflated.len();
            let inflater = self
                .inflater
                .as_mut()
                .expect("compressed messages only when negotiated");
            inflater.inflate(chunk, &mut self.inflated, self.limit)?;
            return self.validate(start);
        }
        if self.frame_kind == Some(Kind::Text) {
            self.utf8
                .feed(chunk)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Validates inflated text from `start` on.
    fn validate(&mut self, start: usize) -> Result<(), ProtocolError> {
        if self.kind == Some(Kind::Text) {
            self.utf8
                .feed(&self.inflated[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Ends the current frame with its whole payload (empty for compressed
    /// frames, already consumed); returns the message event when this was
    /// the final fragment.
    pub fn end_frame(&mut self, fin: bool, payload: Bytes) -> Result<Option<Event>, ProtocolError> {
        self.frame_kind = None;
        if !fin {
            if !self.compressed {
                self.fragments.extend_from_slice(&payload);
            }
            return Ok(None);
        }
        let data = if self.compressed {
            // An empty payload is an empty message; otherwise the stripped
            // 00 00 ff ff tail ends it (RFC 7692 §7.2.2).
            if self.compressed_len > 0 {
                let start = self.inflated.len();
                let inflater = self.inflater.as_mut().expect("negotiated");
                inflater.finish(&mut self.inflated, self.limit)?;
                self.validate(start)?;
            }
            self.compressed = false;
            self.compressed_len = 0;
            Bytes::from(std::mem::take(&mut self.inflated))
        } else if self.fragments.is_empty() {
            payload
        } else {
            self.fragments.extend_from_slice(&payload);
            self.fragments.split().freeze()
        };
        let kind = self.kind.take();
        self.size = 0;
        match kind {
            Some(Kind::Text) => {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Some(Event::Text(Utf8Bytes::from_validated(data))))
            }
            _ => Ok(Some(Event::Binary(data.into()))),
        }
    }
}

impl std::fmt::Debug for MessageAssembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageAssembler")
            .field("kind", &self.kind)
            .field("compressed", &self.compressed)
            .field("size", &self.size)
            .finish()
    }
}
