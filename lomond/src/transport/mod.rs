//! Byte streams to the server: TCP now; TLS and proxy tunnels stack here.

pub(crate) mod lowat;
pub(crate) mod segment;
pub mod tcp;
