//! `use lomond::*;` beside `#[tokio::test]` (or `#[tokio::main]`) and the
//! crates lomond re-exports: the glob brings in no name that makes a path
//! ambiguous. (A module named `tokio` did, so the driver's is `aio`.)
#![cfg(feature = "tokio")]

use lomond::*;

#[tokio::test(flavor = "current_thread")]
async fn a_glob_import_leaves_tokio_http_and_url_unambiguous() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    let url: url::Url = "ws://127.0.0.1:9/".parse().unwrap();
    let request = url.into_client_request().unwrap();
    assert_eq!(request.uri().host(), Some("127.0.0.1"));
    assert_eq!(http::StatusCode::OK.as_u16(), 200);
    let message: aio::Message = "hi".into();
    assert!(message.is_text());
    assert_eq!(CloseCode::Normal, 1000);
}
