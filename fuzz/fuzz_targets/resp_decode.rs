//! Client-side reply decoder: decode frames from arbitrary bytes until it needs more or fails.
//!
//! Checks, besides "no panic":
//! * `Ok(None)` consumes nothing; `Ok(Some)` consumes at least one byte;
//! * every strict prefix of a decoded frame's bytes decodes to `Ok(None)` (tried at a few cut
//!   points), i.e. a reply split across reads is never mistaken for an error or a frame;
//! * encoding is a fixpoint after one trip: `encode(decode(encode(f))) == encode(f)` for RESP3
//!   and RESP2 output, and the re-decode consumes exactly the encoded bytes.
#![no_main]

use bytes::BytesMut;
use ferrodis_resp::{decode, Frame};
use libfuzzer_sys::fuzz_target;

fn check_prefixes(frame_bytes: &[u8]) {
    let len = frame_bytes.len();
    let mut cuts = vec![0, 1, len / 2, len.saturating_sub(2), len - 1];
    // A few more, spread over the frame, for nested aggregates.
    cuts.extend((1..8).map(|i| len * i / 8));
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.into_iter().filter(|&c| c < len) {
        let mut p = BytesMut::from(&frame_bytes[..cut]);
        match decode(&mut p) {
            Ok(None) => assert_eq!(p.len(), cut, "Ok(None) consumed bytes"),
            other => panic!("strict prefix ({cut} of {len} bytes) decoded to {other:?}"),
        }
    }
}

fn check_roundtrip(frame: &Frame) {
    for resp3 in [true, false] {
        let enc = frame.to_bytes(resp3);
        let mut b = enc.clone();
        let again = match decode(&mut b) {
            Ok(Some(f)) => f,
            other => panic!("re-decoding our own encoding (resp3={resp3}) gave {other:?}: {enc:?}"),
        };
        assert!(b.is_empty(), "re-decode left {} bytes (resp3={resp3}): {enc:?}", b.len());
        assert_eq!(again.to_bytes(resp3), enc, "encoding is not a fixpoint (resp3={resp3})");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        let start = data.len() - before;
        match decode(&mut buf) {
            Ok(Some(frame)) => {
                let consumed = before - buf.len();
                assert!(consumed > 0, "a frame from zero bytes");
                check_prefixes(&data[start..start + consumed]);
                check_roundtrip(&frame);
                let _ = frame.to_text();
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "Ok(None) consumed bytes");
                break;
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
});
