//! Observability (feature `tracing`): a span per connection, named
//! `lomond.connection` with the URL (without credentials) and the attempt
//! number, and an event per pipeline stage, per connection event other
//! than messages, per back-off and per stop. Without the feature every
//! call here compiles to nothing.

/// A `tracing` event at `$level`, when the feature is on.
macro_rules! trace {
    ($level:ident, $($arg:tt)+) => {
        #[cfg(feature = "tracing")]
        {
            tracing::$level!(target: "lomond", $($arg)+);
        }
    };
}
pub(crate) use trace;

/// `url` without its user name and password, for events, spans and logs.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The span of one connection attempt.
#[cfg(feature = "tracing")]
pub(crate) fn connection_span(url: &str, attempt: u64) -> tracing::Span {
    tracing::info_span!(target: "lomond", "lomond.connection", url = %redact(url), attempt)
}

/// Reports a connection event (messages, pings and polls at trace level,
/// the rest by how much they matter).
#[cfg(feature = "tracing")]
pub(crate) fn event(event: &crate::Event) {
    use crate::Event;
    match event {
        Event::Text(_) | Event::Binary(_) | Event::Ping(_) | Event::Pong { .. } | Event::Poll => {
            tracing::trace!(target: "lomond", event = event.name())
        }
        Event::ConnectFail { error } => {
            tracing::warn!(target: "lomond", stage = %error.stage(), "{event}")
        }
        Event::Rejected { .. } | Event::ProtocolError { .. } | Event::Unresponsive => {
            tracing::warn!(target: "lomond", "{event}")
        }
        Event::Connecting { .. } => tracing::debug!(target: "lomond", "connecting"),
        Event::Connected { .. } => tracing::debug!(target: "lomond", "{event}"),
        _ => tracing::info!(target: "lomond", "{event}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_left_out() {
        let r = super::redact;
        assert_eq!(r("ws://user:s3cret@h:1/p?q"), "ws://h:1/p?q");
        assert_eq!(r("wss://token@h/"), "wss://h/");
        assert_eq!(r("ws://h/"), "ws://h/");
        assert_eq!(r("not a url"), "not a url");
    }
}
