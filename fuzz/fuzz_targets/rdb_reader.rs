//! RDB reader: arbitrary bytes as an RDB file must give an error, never a panic, an
//! unbounded allocation or a hang. (Checksums make most random inputs fail early; the seed
//! corpus of real Redis 7.0 dumps, see fuzz/README.md, gets the fuzzer past them.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferrodis_rdb::read_all(data);
});
