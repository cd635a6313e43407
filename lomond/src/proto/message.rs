//! Reassembly of messages from frames (RFC 6455 §5.4), with text validated
//! as its bytes arrive.

use super::frame::{FrameHeader, OpCode};
use super::utf8::Utf8Validator;
use crate::error::ProtocolError;
use crate::event::Event;
use crate::utf8_bytes::Utf8Bytes;
use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
}

/// The message being received: its kind, the fragments so far, the UTF-8
/// state, and its running size against the limit.
#[derive(Debug, Default)]
pub struct MessageAssembler {
    kind: Option<Kind>,
    /// Kind of the data frame whose payload is arriving.
    frame_kind: Option<Kind>,
    fragments: BytesMut,
    size: u64,
    utf8: Utf8Validator,
}

impl MessageAssembler {
    /// Checks a data frame's place in the message sequence and its size
    /// against `max_message_size`, before any of its payload is read.
    pub fn begin_frame(
        &mut self,
        header: &FrameHeader,
        max_message_size: usize,
    ) -> Result<(), ProtocolError> {
        let kind = match (header.opcode, self.kind) {
            (OpCode::Continuation, Some(kind)) => kind,
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (OpCode::Text, None) => Kind::Text,
            (_, None) => Kind::Binary,
        };
        let size = self.size.saturating_add(header.len);
        if size > max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                limit: max_message_size,
            });
        }
        self.size = size;
        self.kind = Some(kind);
        self.frame_kind = Some(kind);
        Ok(())
    }

    /// Takes the next received piece of the current frame's payload: text is
    /// validated here, so invalid UTF-8 fails on the piece that holds it.
    pub fn frame_data(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        if self.frame_kind == Some(Kind::Text) {
            self.utf8
                .feed(chunk)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        Ok(())
    }

    /// Ends the current frame with its whole payload; returns the message
    /// event when this was the final fragment.
    pub fn end_frame(&mut self, fin: bool, payload: Bytes) -> Result<Option<Event>, ProtocolError> {
        self.frame_kind = None;
        if !fin {
            self.fragments.extend_from_slice(&payload);
            return Ok(None);
        }
        let data = if self.fragments.is_empty() {
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
            _ => Ok(Some(Event::Binary(data))),
        }
    }
}
