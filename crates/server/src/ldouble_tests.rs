use super::*;

mod cases {
    include!("ldouble_cases.rs");
}

#[test]
fn matches_redis_server_replies() {
    let mut failures = Vec::new();
    for (initial, incr, want, want_hash) in cases::CASES {
        let got = incr_by_float(*initial, incr);
        if got.as_deref().map_err(|e| *e) != *want {
            failures.push(format!(
                "INCRBYFLOAT {:?} + {:?}: redis {want:?}, ours {got:?}",
                initial.map(String::from_utf8_lossy),
                String::from_utf8_lossy(incr)
            ));
        }
        let got_hash = parse_hash_increment(incr).and_then(|by| hincr_by_float(*initial, by));
        if got_hash.as_deref().map_err(|e| *e) != *want_hash {
            failures.push(format!(
                "HINCRBYFLOAT {:?} + {:?}: redis {want_hash:?}, ours {got_hash:?}",
                initial.map(String::from_utf8_lossy),
                String::from_utf8_lossy(incr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases::CASES.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn brief_examples() {
    let g = incr_by_float(None, b"3.0e3").expect("valid");
    assert_eq!(g, "3000");
    assert_eq!(
        incr_by_float(Some(g.as_bytes()), b"0.1").as_deref(),
        Ok("3000.10000000000000009")
    );
    assert_eq!(
        incr_by_float(Some(b"9223372036854775807"), b"1").as_deref(),
        Ok("9223372036854775808")
    );
    let z = incr_by_float(None, b"1e308").expect("valid");
    let z2 = incr_by_float(Some(z.as_bytes()), b"1e308").expect("long double range");
    assert_eq!(z2.len(), 309);
    assert!(z2.starts_with("19999999999999999999"), "{z2}");
}

#[test]
fn length_limit_is_redis_max_long_double_chars() {
    // Checked against redis-server 7.0.15: 5119 bytes parse, 5120 do not.
    let mut ok = vec![b'0'; 5118];
    ok.push(b'1');
    assert_eq!(incr_by_float(None, &ok).as_deref(), Ok("1"));
    ok.insert(0, b'0');
    assert_eq!(incr_by_float(None, &ok), Err(ERR_NOT_FLOAT));
    let mut one = b"1.".to_vec();
    one.resize(5119, b'0');
    assert_eq!(incr_by_float(Some(b"1"), &one).as_deref(), Ok("2"));
}

#[test]
fn extremes_of_the_format() {
    let max = LongDouble::parse(b"0x1.fffffffffffffffep16383").expect("max");
    assert!(max.is_finite());
    assert!(!(max + max).is_finite());
    let min_sub = LongDouble::parse(b"0x1p-16445").expect("smallest subnormal");
    assert!(!min_sub.is_zero());
    assert_eq!(min_sub.to_human_string(), "0");
    // Half the smallest subnormal ties to even (zero): an underflow, refused.
    assert_eq!(LongDouble::parse(b"0x1p-16446"), None);
    assert!(LongDouble::parse(b"0x1.8p-16446").is_some());
    // Subnormal sums stay exact.
    let two = min_sub + min_sub;
    assert_eq!(
        two,
        LongDouble::parse(b"0x1p-16444").expect("two subnormals")
    );
    let neg = LongDouble::parse(b"-0x1p-16445").expect("negative subnormal");
    let z = min_sub + neg;
    assert!(z.is_zero() && !z.is_sign_negative());
    // -0 + -0 keeps its sign; printing never shows "-0".
    let nz = LongDouble::parse(b"-0").expect("-0");
    let nz2 = nz + nz;
    assert!(nz2.is_zero() && nz2.is_sign_negative());
    assert_eq!(nz2.to_human_string(), "0");
    assert_eq!(
        LongDouble::from_i64(i64::MIN).to_human_string(),
        "-9223372036854775808"
    );
    assert!((LongDouble::INFINITY + LongDouble::NEG_INFINITY).is_nan());
}

#[test]
fn add_rounds_half_even() {
    let p = |s: &[u8]| LongDouble::parse(s).expect("valid");
    // 2^64 + 1 is a tie between 2^64 and 2^64 + 2: even wins (2^64).
    assert_eq!(
        (p(b"18446744073709551616") + p(b"1")).to_human_string(),
        "18446744073709551616"
    );
    // 2^64 + 3 ties between 2^64 + 2 and 2^64 + 4: 2^64 + 4 is even.
    assert_eq!(
        (p(b"18446744073709551618") + p(b"1")).to_human_string(),
        "18446744073709551620"
    );
    // Just above the tie rounds up.
    assert_eq!(
        (p(b"18446744073709551616") + p(b"1.0000001")).to_human_string(),
        "18446744073709551618"
    );
}
