//! [`Error`]: every way a connection can fail, as one value, for APIs that
//! return one error type. It lives apart from the typed errors of
//! `error.rs`, which the protocol core uses, because it also carries what
//! only a whole connection has (the server's answer, why it ended): so the
//! core's errors depend on nothing above them.

use crate::error::{ConnectError, HandshakeError, ProtocolError, SendError};
use crate::proto::DisconnectReason;
use crate::proto::Response;

/// Every way a connection can fail, for APIs that return one error type
/// (the tokio `Sink`/`Stream` face; the event stream reports these as events).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection could not be made.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server did not accept the upgrade.
    #[error("handshake rejected: {error}")]
    Rejected {
        /// What was wrong with the answer.
        error: HandshakeError,
        /// The response, when one was parsed.
        response: Option<Box<Response>>,
    },
    /// The server broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A send was refused.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The connection ended without a completed close handshake.
    #[error("disconnected: {0}")]
    Disconnected(DisconnectReason),
}
