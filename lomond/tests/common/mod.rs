//! Helpers shared by the driver test suites.

use lomond::{Event, WebSocket};
use std::time::Duration;

/// A WebSocket with short timers, so that no test can hang for long.
pub fn ws(url: &str) -> WebSocket {
    WebSocket::new(url)
        .unwrap()
        .ping_rate(None)
        .poll(None)
        .close_timeout(Some(Duration::from_secs(5)))
        .handshake_timeout(Some(Duration::from_secs(5)))
        .connect_timeout(Some(Duration::from_secs(5)))
}

/// The events' names, for comparing sequences.
pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}
