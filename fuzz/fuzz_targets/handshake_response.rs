//! The handshake response parser and validator: never panic, whatever the
//! server sends, with or without a compression offer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lomond::proto::deflate::DeflateConfig;
use lomond::proto::handshake::{parse_response, validate_response, ClientRequest};

fuzz_target!(|data: &[u8]| {
    let request = ClientRequest {
        host: "h".into(),
        resource: "/".into(),
        protocols: vec!["chat".into()],
        ..Default::default()
    };
    let deflate = DeflateConfig::default();
    if let Ok(Some((response, n))) = parse_response(data, 16 << 10) {
        assert!(n <= data.len());
        let _ = validate_response(&response, "dGhlIHNhbXBsZSBub25jZQ==", &request, None);
        let _ = validate_response(
            &response,
            "dGhlIHNhbXBsZSBub25jZQ==",
            &request,
            Some(&deflate),
        );
    }
});
