//! Software emulation of the C `long double` arithmetic Redis uses for INCRBYFLOAT and
//! HINCRBYFLOAT on x86-64: the x87 80-bit extended format (64-bit significand with an explicit
//! integer bit, 15-bit exponent, subnormals), round-to-nearest-even.
//!
//! Only what those commands need is here, and each piece is exact:
//! * [`LongDouble::parse`]: Redis's `string2ld` (a full-string `strtold`, correctly rounded,
//!   decimal or hexadecimal, `inf`/`infinity` accepted, NaN, overflow and underflow-to-zero
//!   refused);
//! * `LongDouble + LongDouble`: one correctly rounded addition;
//! * [`LongDouble::to_human_string`]: `snprintf("%.17Lf")` (exact decimal expansion rounded
//!   half-even at 17 decimals, as glibc does) with trailing zeros, a trailing `.` and a
//!   lone `-0` removed (`ld2string` in `LD_STR_HUMAN` mode).
//!
//! The command-level helpers are [`incr_by_float`] (INCRBYFLOAT) and
//! [`parse_hash_increment`] + [`hincr_by_float`] (HINCRBYFLOAT, whose checks and error texts
//! differ).

use num_bigint::BigUint;

/// INCRBYFLOAT / HINCRBYFLOAT: an unparsable value or increment.
pub const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
/// INCRBYFLOAT / HINCRBYFLOAT: the sum is infinite (or NaN).
pub const ERR_NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
/// HINCRBYFLOAT: the increment itself is infinite.
pub const ERR_HASH_INCR_NAN_OR_INF: &str = "ERR value is NaN or Infinity";
/// HINCRBYFLOAT: the stored field value does not parse.
pub const ERR_HASH_NOT_FLOAT: &str = "ERR hash value is not a float";

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses inputs this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Exponent (of the significand taken as an integer) of subnormals and of the smallest normals:
/// the value is `mant * 2^MIN_EXP` there.
const MIN_EXP: i64 = -16445;
/// Exponent of the largest finite values: `(2^64 - 1) * 2^MAX_EXP` is the maximum.
const MAX_EXP: i64 = 16320;
/// Bits of the quotient kept when dividing (64 + a round bit + a guard bit, with margin).
const QUOTIENT_BITS: u64 = 67;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Zero,
    Finite,
    Inf,
    Nan,
}

/// An x87 80-bit extended precision value.
///
/// A finite non-zero value is `mant * 2^exp` with `MIN_EXP <= exp <= MAX_EXP`; `mant` has its
/// top bit set (normal) unless `exp == MIN_EXP` (subnormal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    class: Class,
    exp: i32,
    mant: u64,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble::special(false, Class::Zero);
    /// Positive infinity.
    pub const INFINITY: LongDouble = LongDouble::special(false, Class::Inf);
    /// Negative infinity.
    pub const NEG_INFINITY: LongDouble = LongDouble::special(true, Class::Inf);
    /// A quiet NaN.
    pub const NAN: LongDouble = LongDouble::special(false, Class::Nan);

    const fn special(neg: bool, class: Class) -> LongDouble {
        LongDouble {
            neg,
            class,
            exp: 0,
            mant: 0,
        }
    }

    /// True for values that are neither infinite nor NaN.
    pub fn is_finite(&self) -> bool {
        matches!(self.class, Class::Zero | Class::Finite)
    }

    /// True for NaN.
    pub fn is_nan(&self) -> bool {
        self.class == Class::Nan
    }

    /// True for +0 and -0.
    pub fn is_zero(&self) -> bool {
        self.class == Class::Zero
    }

    /// True when the sign bit is set (including -0 and -inf).
    pub fn is_sign_negative(&self) -> bool {
        self.neg
    }

    /// The value of a C `(long double)` cast of `v` (always exact).
    pub fn from_i64(v: i64) -> LongDouble {
        round(v < 0, &BigUint::from(v.unsigned_abs()), 0, false)
    }

    /// Parses like Redis's `string2ld`: the whole input must be a `strtold` number (decimal
    /// or `0x` hexadecimal float, optional sign, `inf`/`infinity` in any case), with no
    /// leading space, shorter than 5120 bytes, and neither NaN nor out of range (a finite
    /// number that overflows, or a non-zero number that rounds to zero, is refused).
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::special(neg, Class::Inf));
        }
        // Everything else that `strtold` reads (leading spaces, NaN, partial numbers) is
        // refused by `string2ld`, so only the two numeric grammars remain.
        let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
        if hex {
            parse_hex(neg, &body[2..])
        } else {
            parse_dec(neg, body)
        }
    }

    /// `printf("%.17Lf")` with trailing zeros and a trailing `.` removed, and `-0` printed
    /// as `0`: Redis's `ld2string(..., LD_STR_HUMAN)`. Infinities print as `inf`/`-inf`.
    pub fn to_human_string(&self) -> String {
        let digits = match self.class {
            Class::Nan => return "nan".into(),
            Class::Inf => return if self.neg { "-inf" } else { "inf" }.into(),
            Class::Zero => return "0".into(),
            Class::Finite if self.exp >= 0 => (BigUint::from(self.mant) << self.exp as usize)
                .to_str_radix(10)
                .into_bytes(),
            Class::Finite => {
                // value * 10^17 = mant * 10^17 / 2^shift, rounded half-even to an integer.
                let shift = u64::from(self.exp.unsigned_abs());
                let scaled = BigUint::from(self.mant) * BigUint::from(10u64).pow(17);
                let mut q = &scaled >> shift;
                if round_up(&scaled, shift, &q, false) {
                    q += 1u32;
                }
                let mut d = q.to_str_radix(10).into_bytes();
                if d.len() < 18 {
                    let mut padded = vec![b'0'; 18 - d.len()];
                    padded.extend_from_slice(&d);
                    d = padded;
                }
                let point = d.len() - 17;
                let mut frac_end = d.len();
                while frac_end > point && d[frac_end - 1] == b'0' {
                    frac_end -= 1;
                }
                let mut out = d[..point].to_vec();
                if frac_end > point {
                    out.push(b'.');
                    out.extend_from_slice(&d[point..frac_end]);
                }
                out
            }
        };
        let mut s = String::with_capacity(digits.len() + 1);
        if self.neg && digits != b"0" {
            s.push('-');
        }
        s.extend(digits.iter().map(|&c| c as char));
        s
    }
}

/// `a + b`, correctly rounded (ties to even) as one x87 addition; overflows to infinity.
impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    fn add(self, b: LongDouble) -> LongDouble {
        let a = self;
        match (a.class, b.class) {
            (Class::Nan, _) | (_, Class::Nan) => LongDouble::NAN,
            (Class::Inf, Class::Inf) if a.neg != b.neg => LongDouble::NAN,
            (Class::Inf, _) => a,
            (_, Class::Inf) => b,
            (Class::Zero, Class::Zero) => LongDouble::special(a.neg && b.neg, Class::Zero),
            (Class::Zero, _) => b,
            (_, Class::Zero) => a,
            (Class::Finite, Class::Finite) => {
                let e = a.exp.min(b.exp);
                let x = BigUint::from(a.mant) << (a.exp - e) as usize;
                let y = BigUint::from(b.mant) << (b.exp - e) as usize;
                if a.neg == b.neg {
                    round(a.neg, &(x + y), e.into(), false)
                } else if x == y {
                    LongDouble::ZERO
                } else if x > y {
                    round(a.neg, &(x - y), e.into(), false)
                } else {
                    round(b.neg, &(y - x), e.into(), false)
                }
            }
        }
    }
}

/// Whether a value whose bits below `shift` were cut off `m` (leaving `q = m >> shift`) rounds
/// up to nearest-even; `sticky` says that non-zero bits lie below `m` itself.
fn round_up(m: &BigUint, shift: u64, q: &BigUint, sticky: bool) -> bool {
    if shift == 0 {
        return false;
    }
    if !m.bit(shift - 1) {
        return false;
    }
    let below_half = sticky || m.trailing_zeros().is_some_and(|tz| tz < shift - 1);
    below_half || q.bit(0)
}

/// Rounds `m * 2^e` (plus, when `sticky`, a positive amount below `2^e`; callers then give
/// `m` at least [`QUOTIENT_BITS`] bits) to the nearest extended value, ties to even.
fn round(neg: bool, m: &BigUint, e: i64, sticky: bool) -> LongDouble {
    let bits = m.bits() as i64;
    if bits == 0 {
        return LongDouble::special(neg, Class::Zero);
    }
    let shift = (bits - 64).max(MIN_EXP - e);
    let (mant, exp) = if shift <= 0 {
        let q = m << (-shift) as usize;
        (to_u64(&q), e + shift)
    } else {
        let q = m >> shift as u64;
        let up = round_up(m, shift as u64, &q, sticky);
        let v = to_u64(&q) as u128 + u128::from(up);
        if v == 1u128 << 64 {
            (1u64 << 63, e + shift + 1)
        } else {
            (v as u64, e + shift)
        }
    };
    if mant == 0 {
        return LongDouble::special(neg, Class::Zero);
    }
    if exp > MAX_EXP {
        return LongDouble::special(neg, Class::Inf);
    }
    LongDouble {
        neg,
        class: Class::Finite,
        exp: exp as i32,
        mant,
    }
}

/// The low 64 bits of `v` (callers guarantee it fits).
fn to_u64(v: &BigUint) -> u64 {
    v.iter_u64_digits().next().unwrap_or(0)
}

/// Reads `[+-]?digits+` to the end of `s` as a saturating exponent.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        v = (v * 10 + i64::from(c - b'0')).min(1_000_000_000);
    }
    Some(if neg { -v } else { v })
}

/// Splits `int[.frac][<exp_char>exponent]` where int and frac are runs of `is_digit`, with at
/// least one digit in total. Returns (mantissa digits without the point, digits after the
/// point, exponent).
fn split_number(
    s: &[u8],
    is_digit: fn(&u8) -> bool,
    exp_char: u8,
) -> Option<(Vec<u8>, usize, i64)> {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let mut rest = &s[int_len..];
    let mut digits = s[..int_len].to_vec();
    let mut frac_len = 0;
    if let Some(after) = rest.strip_prefix(b".") {
        frac_len = after.iter().take_while(|c| is_digit(c)).count();
        digits.extend_from_slice(&after[..frac_len]);
        rest = &after[frac_len..];
    }
    if digits.is_empty() {
        return None;
    }
    let exp = match rest.first() {
        None => 0,
        Some(c) if (c | 0x20) == exp_char => parse_exponent(&rest[1..])?,
        Some(_) => return None,
    };
    Some((digits, frac_len, exp))
}

/// `strtold`'s ERANGE cases, refused by `string2ld`: a non-zero number that overflowed to
/// infinity or underflowed to zero.
fn in_range(v: LongDouble) -> Option<LongDouble> {
    (v.class == Class::Finite).then_some(v)
}

fn parse_dec(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (digits, frac_len, exp) = split_number(s, u8::is_ascii_digit, b'e')?;
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        return Some(LongDouble::special(neg, Class::Zero));
    };
    let digits = &digits[first..];
    let exp10 = exp - frac_len as i64;
    // The value lies in [10^(mag-1), 10^mag).
    let mag = digits.len() as i64 + exp10;
    if mag - 1 > 4933 || mag < -4952 {
        // Beyond 1.19e4932 (the maximum), or below half the smallest subnormal.
        return None;
    }
    let d = BigUint::parse_bytes(digits, 10)?;
    if exp10 >= 0 {
        let n = d * BigUint::from(10u32).pow(exp10 as u32);
        return in_range(round(neg, &n, 0, false));
    }
    let den = BigUint::from(10u32).pow((-exp10) as u32);
    let k = (QUOTIENT_BITS + den.bits()).saturating_sub(d.bits());
    let num = d << k as usize;
    let q = &num / &den;
    let exact = &q * &den == num;
    in_range(round(neg, &q, -(k as i64), !exact))
}

fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (digits, frac_len, exp) = split_number(s, u8::is_ascii_hexdigit, b'p')?;
    let h = BigUint::parse_bytes(&digits, 16)?;
    let bits = h.bits() as i64;
    if bits == 0 {
        return Some(LongDouble::special(neg, Class::Zero));
    }
    let e2 = exp - 4 * frac_len as i64;
    if bits + e2 > MAX_EXP + 65 || bits + e2 < MIN_EXP - 2 {
        return None; // far beyond the range either way
    }
    in_range(round(neg, &h, e2, false))
}

/// INCRBYFLOAT's arithmetic: `current` is the stored string (`None` for a missing key, read
/// as 0), `incr` the argument. Returns the new value as Redis prints, stores, replies and
/// propagates it, or the error text (with its `ERR ` prefix). The caller checks the key's
/// type first (WRONGTYPE wins over a bad increment, as in Redis).
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<String, &'static str> {
    let value = match current {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(s).ok_or(ERR_NOT_FLOAT)?,
    };
    let incr = LongDouble::parse(incr).ok_or(ERR_NOT_FLOAT)?;
    let sum = value + incr;
    if !sum.is_finite() {
        return Err(ERR_NAN_OR_INF);
    }
    Ok(sum.to_human_string())
}

/// HINCRBYFLOAT, step 1 (before the key is even looked up, as in Redis): parses the
/// increment, refusing infinities with their own error.
pub fn parse_hash_increment(incr: &[u8]) -> Result<LongDouble, &'static str> {
    let v = LongDouble::parse(incr).ok_or(ERR_NOT_FLOAT)?;
    if !v.is_finite() {
        return Err(ERR_HASH_INCR_NAN_OR_INF);
    }
    Ok(v)
}

/// HINCRBYFLOAT, step 2 (after the WRONGTYPE check): `current` is the field's stored value
/// (`None` for a missing key or field, read as 0). Returns the new field value as Redis
/// prints it, or the error text.
pub fn hincr_by_float(current: Option<&[u8]>, incr: LongDouble) -> Result<String, &'static str> {
    let value = match current {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(s).ok_or(ERR_HASH_NOT_FLOAT)?,
    };
    let sum = value + incr;
    if !sum.is_finite() {
        return Err(ERR_NAN_OR_INF);
    }
    Ok(sum.to_human_string())
}

#[cfg(test)]
#[path = "ldouble_tests.rs"]
mod tests;
