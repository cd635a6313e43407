//! [`TlsLink`]: one connection's TLS state, shared by the side that reads
//! and the side that writes, with no I/O of its own.
//!
//! rustls' `ClientConnection` is sans-IO: ciphertext in, plaintext out,
//! and the reverse. Each driver moves the bytes (blocking or async); the
//! record work is here, written once. The reader and the writers lock the
//! state only to hand bytes in or take them out, never across a socket
//! call, so a writer stalled on a slow peer does not stop the reader.

use super::super::exchange::Next;
use crate::error::TlsError;
use crate::lock::{lock, Mutex};
use rustls::ClientConnection;
use std::io::{self, BufRead, Write};
use std::sync::Arc;

/// One TLS connection's state.
pub(crate) struct TlsLink {
    conn: Mutex<ClientConnection>,
    host: String,
}

impl std::fmt::Debug for TlsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsLink").field("host", &self.host).finish()
    }
}

impl TlsLink {
    /// Starts a client handshake with `host` (SNI and the name checked).
    pub(crate) fn new(options: &super::TlsOptions, host: &str) -> Result<TlsLink, TlsError> {
        let config = options.config()?;
        let name = super::settings::server_name(host)?;
        let conn = ClientConnection::new(config, name).map_err(|e| map_error(e, host))?;
        Ok(TlsLink {
            conn: Mutex::new(conn),
            host: host.to_owned(),
        })
    }

    /// What the handshake needs next.
    pub(crate) fn next(&self) -> Next {
        let conn = lock(&self.conn);
        if conn.wants_write() {
            Next::Write
        } else if conn.is_handshaking() {
            Next::Read
        } else {
            Next::Done
        }
    }

    /// Takes `ciphertext` from the server (all of it) and processes it.
    /// A failure is the typed TLS error, with rustls' alert for the server
    /// queued for [`take_output`](Self::take_output).
    pub(crate) fn feed(&self, mut ciphertext: &[u8]) -> Result<(), TlsError> {
        let mut conn = lock(&self.conn);
        while !ciphertext.is_empty() {
            conn.read_tls(&mut ciphertext)
                .map_err(|e| TlsError::Io(Arc::new(e)))?;
            conn.process_new_packets()
                .map_err(|e| map_error(e, &self.host))?;
        }
        Ok(())
    }

    /// Hands decrypted bytes to `take`, which copies what it has room for
    /// and says how many; when none are decrypted yet, `feed` hands rustls
    /// more ciphertext (`read_tls` from a buffer, or from the socket
    /// itself, which saves a copy) and says how much, `Ok(0)` at the end
    /// of the stream, `WouldBlock` when there is none now. rustls holds at
    /// most 16 KiB decrypted, so what `feed` has not given yet waits for
    /// the next call. `Ok(0)` once the server has sent close_notify or the
    /// stream ended; a TLS failure as `InvalidData` with the typed error
    /// as its source. (A closure rather than a buffer, so that the
    /// drivers' uninitialized room is written, not zeroed first.)
    pub(crate) fn decrypt(
        &self,
        mut feed: impl FnMut(&mut ClientConnection) -> io::Result<usize>,
        take: impl FnOnce(&[u8]) -> usize,
    ) -> io::Result<usize> {
        let mut conn = lock(&self.conn);
        loop {
            let mut reader = conn.reader();
            match reader.fill_buf() {
                Ok([]) => return Ok(0),
                Ok(chunk) => {
                    let n = take(chunk);
                    reader.consume(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if feed(&mut conn)? == 0 {
                return Ok(0);
            }
            conn.process_new_packets()
                .map_err(|e| session_error(map_error(e, &self.host)))?;
        }
    }

    /// Encrypts as much of `plaintext` as rustls' send buffer has room
    /// for (64 KiB of records), and says how much; the records wait there
    /// for [`send`](Self::send) or [`take_output`](Self::take_output).
    pub(crate) fn seal(&self, plaintext: &[u8]) -> io::Result<usize> {
        lock(&self.conn).writer().write(plaintext)
    }

    /// Writes the records waiting in rustls to `socket`, which must not
    /// wait (the reader needs this lock): `Ok(true)` once all are written,
    /// `Ok(false)` when the socket would block. rustls writes them with
    /// one vectored write, straight from its buffers.
    pub(crate) fn send(&self, socket: &mut dyn Write) -> io::Result<bool> {
        let mut conn = lock(&self.conn);
        while conn.wants_write() {
            match conn.write_tls(socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Appends everything rustls has to send (handshake messages, alerts,
    /// answers to the server's key updates) to `out`.
    pub(crate) fn take_output(&self, out: &mut Vec<u8>) {
        let mut conn = lock(&self.conn);
        while conn.wants_write() {
            // Writing to a Vec cannot fail.
            let _ = conn.write_tls(out);
        }
    }

    /// Whether rustls has bytes to send.
    pub(crate) fn wants_write(&self) -> bool {
        lock(&self.conn).wants_write()
    }

    /// Queues close_notify, for a clean end.
    pub(crate) fn close(&self) {
        lock(&self.conn).send_close_notify();
    }
}

/// A TLS failure inside the session, as the I/O error the drivers report
/// (the typed error is its source).
pub(crate) fn session_error(e: TlsError) -> io::Error {
    match e {
        TlsError::Io(e) => io::Error::new(e.kind(), e.to_string()),
        e => io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

/// rustls' error as ours: the failures people meet by name.
pub(crate) fn map_error(e: rustls::Error, host: &str) -> TlsError {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error};
    match e {
        Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer => TlsError::UnknownIssuer,
            Cert::Expired | Cert::ExpiredContext { .. } | Cert::NotValidYet => TlsError::Expired,
            Cert::NotValidYetContext { .. } => TlsError::Expired,
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                TlsError::NotValidForName {
                    host: host.to_owned(),
                }
            }
            Cert::Revoked => TlsError::Revoked,
            other => TlsError::Other(Arc::new(Error::InvalidCertificate(other))),
        },
        Error::AlertReceived(Alert::CertificateRequired) => TlsError::ClientCertificateRequired,
        Error::AlertReceived(alert) => TlsError::Alert {
            alert: format!("{alert:?}"),
        },
        other => TlsError::Other(Arc::new(other)),
    }
}
