//! `Retry-After` (RFC 9110 §10.2.3): the wait a server asks for, in
//! seconds or as an HTTP date.

use std::time::{Duration, SystemTime};

/// The wait `value` asks for at wall-clock time `now`: a number of
/// seconds, or the time until an HTTP date (zero once it has passed).
/// `None` for anything else: a value that does not parse is ignored, as
/// if the header were absent.
pub(crate) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is a wait past any cap.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates_in_each_form() {
        let s = Duration::from_secs;
        // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date.
        let now = SystemTime::UNIX_EPOCH + s(784_111_777);
        assert_eq!(parse("120", now), Some(s(120)));
        assert_eq!(parse(" 0 ", now), Some(s(0)));
        assert_eq!(parse("99999999999999999999999", now), Some(s(u64::MAX)));
        let later = "Sun, 06 Nov 1994 08:50:07 GMT";
        assert_eq!(parse(later, now), Some(s(30)));
        assert_eq!(parse("Sunday, 06-Nov-94 08:50:07 GMT", now), Some(s(30)));
        assert_eq!(parse("Sun Nov  6 08:50:07 1994", now), Some(s(30)));
        // A date gone by asks for no wait.
        assert_eq!(parse("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(s(0)));
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "12 s",
            "Sun, 32 Nov 1994 08:50:07 GMT",
        ] {
            assert_eq!(parse(bad, now), None, "{bad:?}");
        }
    }
}
