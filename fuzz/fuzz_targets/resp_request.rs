//! Server-side request parser: arbitrary bytes, delivered in arbitrary chunks.
//!
//! Input layout: `[flags][split seed][data...]`
//! * flags bit 0: `auth_required`; bit 1: `from_master`; bit 2: small `proto-max-bulk-len`
//!   (`1 << (flags >> 4)` bytes), so the limit paths are reached with small inputs.
//! * the seed drives the chunk sizes (1..=64 bytes, sometimes up to 4 KiB).
//!
//! Checks: no panic; every command has at least one argument; the arguments never hold more
//! bytes than were fed; and the commands parsed from the chunked stream agree with the ones
//! parsed from the whole input at once (exactly when neither run hit a protocol error, on
//! their common prefix otherwise: Redis itself decides some over-long-line errors by how much
//! is buffered, so the error point may move with the split).
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Limits, ProtocolError, RequestParser};
use libfuzzer_sys::fuzz_target;

struct Outcome {
    commands: Vec<Vec<Bytes>>,
    error: Option<ProtocolError>,
}

fn run(data: &[u8], limits: &Limits, mut next_chunk: impl FnMut() -> usize) -> Outcome {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    let mut arg_bytes = 0usize;
    let mut off = 0;
    while off < data.len() {
        let n = next_chunk().clamp(1, data.len() - off);
        buf.extend_from_slice(&data[off..off + n]);
        off += n;
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty command returned");
                    arg_bytes += args.iter().map(|a| a.len()).sum::<usize>();
                    assert!(arg_bytes <= off, "arguments hold more bytes than were fed");
                    commands.push(args);
                }
                Ok(None) => {
                    assert!(parser.pending() <= buf.len(), "pending beyond the buffer");
                    break;
                }
                Err(e) => {
                    // Errors are terminal for a connection: the server closes it.
                    let _ = e.to_string();
                    return Outcome { commands, error: Some(e) };
                }
            }
        }
    }
    Outcome { commands, error: None }
}

fuzz_target!(|input: &[u8]| {
    let [flags, seed, data @ ..] = input else { return };
    let limits = Limits {
        auth_required: flags & 1 != 0,
        from_master: flags & 2 != 0,
        max_bulk_len: if flags & 4 != 0 { 1u64 << (flags >> 4) } else { Limits::default().max_bulk_len },
    };

    let whole = run(data, &limits, || usize::MAX);

    // xorshift32 from the seed byte: deterministic, so crashes reproduce.
    let mut state: u32 = 0x9E37_79B9 ^ u32::from(*seed).wrapping_mul(0x0101_0101);
    let chunked = run(data, &limits, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if state % 16 == 0 { 1 + (state >> 8) as usize % 4096 } else { 1 + (state >> 8) as usize % 64 }
    });

    if whole.error.is_none() && chunked.error.is_none() {
        assert_eq!(whole.commands, chunked.commands, "chunked parse differs from whole parse");
    } else {
        let n = whole.commands.len().min(chunked.commands.len());
        assert_eq!(whole.commands[..n], chunked.commands[..n], "chunked parse differs before the error");
    }
});
