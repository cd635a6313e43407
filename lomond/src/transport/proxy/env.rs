//! The proxy from the environment, as curl reads it.
//!
//! - `ws://` uses `http_proxy`, lower case only: curl ignores
//!   `HTTP_PROXY` because a CGI program gets a request's `Proxy:` header
//!   as that variable (httpoxy), and so does lomond.
//! - `wss://` uses `https_proxy` or `HTTPS_PROXY`.
//! - Either falls back to `all_proxy` or `ALL_PROXY`. An empty value is
//!   unset.
//! - `no_proxy` (or `NO_PROXY`) lists, comma-separated, the hosts reached
//!   directly: `*` for all; a host name, which also matches its subdomains
//!   (a leading dot is optional); an IP address; a CIDR range; any of
//!   these with `:port` to match that port only. Names are compared
//!   without case and without a trailing dot.

use super::{Proxy, ProxyError};
use std::net::IpAddr;

/// The proxy for `host:port` by the variables `get` reads (`secure` for
/// `wss://`), or `None` to connect directly.
pub fn proxy_for(
    get: impl Fn(&str) -> Option<String>,
    secure: bool,
    host: &str,
    port: u16,
) -> Result<Option<Proxy>, ProxyError> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
    };
    let scheme = if secure {
        var(&["https_proxy", "HTTPS_PROXY"])
    } else {
        var(&["http_proxy"])
    };
    let Some(url) = scheme.or_else(|| var(&["all_proxy", "ALL_PROXY"])) else {
        return Ok(None);
    };
    if let Some(list) = var(&["no_proxy", "NO_PROXY"]) {
        if no_proxy_matches(&list, host, port) {
            return Ok(None);
        }
    }
    Proxy::parse(&url).map(Some)
}

/// Whether `no_proxy`'s `list` names `host:port`.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.trim_matches(['[', ']']).parse().ok();
    list.split(',').any(|entry| {
        let entry = entry.trim();
        if entry == "*" {
            return true;
        }
        let (pattern, entry_port) = split_port(entry);
        if entry_port.is_some_and(|p| p != port) || pattern.is_empty() {
            return false;
        }
        match (host_ip, pattern.parse::<IpAddr>(), parse_cidr(pattern)) {
            (Some(ip), Ok(p), _) => ip == p,
            (Some(ip), _, Some((net, bits))) => in_cidr(ip, net, bits),
            (Some(_), _, _) => false,
            (None, _, _) => {
                let name = pattern.trim_start_matches('.').trim_end_matches('.');
                let name = name.to_ascii_lowercase();
                !name.is_empty()
                    && (host == name
                        || (host.ends_with(&name)
                            && host[..host.len() - name.len()].ends_with('.')))
            }
        }
    })
}

/// `entry` without a `:port` suffix, and the port. `[v6]:port` and bare
/// IPv6 addresses are told apart by the brackets.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        // One colon: host:port. More: an IPv6 address (or range) alone.
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (net, bits) = s.split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((net, bits))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - bits as u32).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - bits as u32).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// curl's documented cases, and ours for ports and ranges.
    #[test]
    fn no_proxy_as_curl_reads_it() {
        let table: &[(&str, &str, u16, bool)] = &[
            ("*", "anything.example", 80, true),
            ("example.com", "example.com", 80, true),
            ("example.com", "www.example.com", 80, true),
            (".example.com", "www.example.com", 80, true),
            (".example.com", "example.com", 80, true),
            ("example.com", "notexample.com", 80, false),
            ("example.com", "example.com.evil", 80, false),
            ("EXAMPLE.com", "Example.COM.", 80, true),
            ("a.test, example.com ,b.test", "example.com", 80, true),
            ("192.168.0.1", "192.168.0.1", 80, true),
            ("192.168.0.1", "192.168.0.2", 80, false),
            ("192.168.0.0/16", "192.168.44.2", 80, true),
            ("192.168.0.0/16", "192.169.0.1", 80, false),
            ("10.0.0.0/8", "example.com", 80, false),
            ("::1", "::1", 80, true),
            ("[::1]", "::1", 80, true),
            ("fd00::/8", "fd12::1", 80, true),
            ("fd00::/8", "fe80::1", 80, false),
            ("example.com:8080", "example.com", 8080, true),
            ("example.com:8080", "example.com", 80, false),
            ("[::1]:9000", "::1", 9000, true),
            ("[::1]:9000", "::1", 9001, false),
            ("", "example.com", 80, false),
            (",,", "example.com", 80, false),
            (".", "example.com", 80, false),
            ("0.0.0.0/0", "8.8.8.8", 80, true),
            ("1.2.3.4/40", "1.2.3.4", 80, false),
        ];
        for &(list, host, port, expected) in table {
            assert_eq!(
                no_proxy_matches(list, host, port),
                expected,
                "{list:?} {host}:{port}"
            );
        }
    }

    #[test]
    fn which_variable_applies() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let host = |p: Option<Proxy>| p.map(|p| p.host);
        let get = env(&[
            ("http_proxy", "http://plain:1"),
            ("https_proxy", "secure:2"),
        ]);
        assert_eq!(
            host(proxy_for(get, false, "h", 80).unwrap()).as_deref(),
            Some("plain")
        );
        assert_eq!(
            host(proxy_for(get, true, "h", 443).unwrap()).as_deref(),
            Some("secure")
        );
        // Upper-case HTTP_PROXY is ignored (httpoxy); HTTPS_PROXY is not.
        let get = env(&[
            ("HTTP_PROXY", "http://evil:1"),
            ("HTTPS_PROXY", "http://up:2"),
        ]);
        assert_eq!(proxy_for(get, false, "h", 80).unwrap(), None);
        assert_eq!(
            host(proxy_for(get, true, "h", 443).unwrap()).as_deref(),
            Some("up")
        );
        let get = env(&[("ALL_PROXY", "socks5h://all:3"), ("http_proxy", "")]);
        let p = proxy_for(get, false, "h", 80).unwrap().unwrap();
        assert_eq!(
            (p.kind, p.host.as_str()),
            (super::super::ProxyKind::Socks5h, "all")
        );
        let get = env(&[("all_proxy", "http://p:1"), ("NO_PROXY", "internal.test")]);
        assert_eq!(
            proxy_for(get, false, "api.internal.test", 80).unwrap(),
            None
        );
        assert!(proxy_for(get, false, "elsewhere.test", 80)
            .unwrap()
            .is_some());
        let get = env(&[("all_proxy", "gopher://p")]);
        assert!(proxy_for(get, false, "h", 80).is_err());
    }
}
