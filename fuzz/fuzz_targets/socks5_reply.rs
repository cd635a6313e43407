//! A SOCKS5 proxy's replies (method, RFC 1929 verdict, connect reply), fed
//! in pieces of every size, with and without credentials: never a panic,
//! and bytes after the last reply handed on.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::transport::proxy::socks5::{Destination, Socks5};
use lomond::transport::proxy::Credentials;
use lomond::transport::Next;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let auth = (mode & 1 == 1).then(|| Credentials {
        user: "user".into(),
        password: "password".into(),
    });
    let to = match mode & 6 {
        0 => Destination::Name("example.com".into()),
        2 => Destination::Ip([127, 0, 0, 1].into()),
        _ => Destination::Ip(std::net::Ipv6Addr::LOCALHOST.into()),
    };
    let piece = (mode >> 3).max(1) as usize;
    let mut s = Socks5::new(to, 443, auth).unwrap();
    let mut out = Vec::new();
    let mut fed = 0;
    for chunk in data.chunks(piece) {
        s.take_output(&mut out);
        if s.next() != Next::Read || s.feed(chunk).is_err() {
            break;
        }
        fed += chunk.len();
    }
    if s.next() == Next::Done {
        assert!(s.take_leftover().len() <= fed);
    }
});
