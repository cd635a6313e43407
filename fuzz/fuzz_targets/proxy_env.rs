//! What the environment says of proxies: a proxy URL and a `no_proxy` list
//! against a host and port, as curl reads them: never a panic, and no
//! credential in an error's text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::transport::proxy::env::{no_proxy_matches, proxy_for};
use lomond::transport::Proxy;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (url, list, host) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("example.com"),
    );
    let port = data.first().map_or(80, |&b| u16::from(b) * 257);
    let _ = no_proxy_matches(list, host, port);
    if let Err(e) = Proxy::parse(url) {
        if let Some((_, rest)) = url.split_once("://") {
            if let Some((userinfo, _)) = rest.split_once('@') {
                if let Some((_, password)) = userinfo.split_once(':') {
                    // Long enough and plain enough that no fixed message
                    // (whose words are shorter) can hold it by chance.
                    let plain = password.bytes().all(|b| b.is_ascii_alphanumeric());
                    if plain && password.len() >= 16 {
                        assert!(!e.to_string().contains(password));
                    }
                }
            }
        }
    }
    let get = |name: &str| match name {
        "all_proxy" => Some(url.to_string()),
        "no_proxy" => Some(list.to_string()),
        _ => None,
    };
    let _ = proxy_for(get, port.is_multiple_of(2), host, port);
});
