//! `cmsgpack.pack` / `cmsgpack.unpack` (lua-cmsgpack 0.4 as Redis bundles it): integral
//! numbers as the smallest integer format, other numbers as float32 when exact else
//! float64, strings as fixstr/str8/16/32, tables without holes (1..n) as arrays, other
//! tables as maps, nesting beyond 16 levels packed as nil.

use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

/// The `cmsgpack` table.
pub(super) fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(super::located(
                    lua,
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                pack(v, &mut out, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let b = s.as_bytes();
            let mut d = Decoder { s: &b, i: 0, lua };
            let mut out = Vec::new();
            while d.i < d.s.len() {
                match d.value() {
                    Ok(v) => out.push(v),
                    Err(msg) => return Err(super::located(lua, msg)),
                }
            }
            Ok(MultiValue::from_iter(out))
        })?,
    )?;
    Ok(t)
}

fn pack_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (n as i64) as f64 == n {
        pack_int(n as i64, out);
    } else {
        let f = n as f32;
        if f as f64 == n || (n.is_nan() && f.is_nan()) {
            out.push(0xca);
            out.extend_from_slice(&f.to_be_bytes());
        } else {
            out.push(0xcb);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn pack_len(len: usize, out: &mut Vec<u8>, fix: (u8, usize), small: Option<u8>, m16: u8, m32: u8) {
    if len < fix.1 {
        out.push(fix.0 | len as u8);
    } else if let Some(s) = small.filter(|_| len <= 0xff) {
        out.extend_from_slice(&[s, len as u8]);
    } else if len <= 0xffff {
        out.push(m16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's `table_is_an_array`: every key a positive integer and no holes.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            Value::Integer(i) if i >= 1 => i as usize,
            _ => return Ok(None),
        };
        count += 1;
        max = max.max(n);
    }
    Ok((max == count).then_some(count))
}

fn pack(v: &Value, out: &mut Vec<u8>, level: usize) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => pack_int(*i, out),
        Value::Number(n) => pack_number(*n, out),
        Value::String(s) => {
            let b = s.as_bytes();
            pack_len(b.len(), out, (0xa0, 32), Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                pack_len(n, out, (0x90, 16), None, 0xdc, 0xdd);
                for i in 1..=n {
                    let e: Value = t.raw_get(i)?;
                    pack(&e, out, level + 1)?;
                }
            }
            None => {
                let mut n = 0;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    n += 1;
                }
                pack_len(n, out, (0x80, 16), None, 0xde, 0xdf);
                for pair in t.pairs::<Value, Value>() {
                    let (k, e) = pair?;
                    pack(&k, out, level + 1)?;
                    pack(&e, out, level + 1)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

struct Decoder<'s, 'l> {
    s: &'s [u8],
    i: usize,
    lua: &'l Lua,
}

const MISSING: &str = "Missing bytes in input.";
const BAD: &str = "Bad data format in input.";

impl Decoder<'_, '_> {
    fn take(&mut self, n: usize) -> Result<&[u8], &'static str> {
        let end = self.i.checked_add(n).ok_or(MISSING)?;
        let b = self.s.get(self.i..end).ok_or(MISSING)?;
        self.i = end;
        Ok(b)
    }

    fn be(&mut self, n: usize) -> Result<u64, &'static str> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn string(&mut self, n: usize) -> Result<Value, &'static str> {
        let b = self.take(n)?.to_vec();
        self.lua
            .create_string(&b)
            .map(Value::String)
            .map_err(|_| BAD)
    }

    fn array(&mut self, n: usize) -> Result<Value, &'static str> {
        let t = self.lua.create_table().map_err(|_| BAD)?;
        for i in 1..=n {
            let v = self.value()?;
            t.raw_set(i, v).map_err(|_| BAD)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, n: usize) -> Result<Value, &'static str> {
        let t = self.lua.create_table().map_err(|_| BAD)?;
        for _ in 0..n {
            let k = self.value()?;
            let v = self.value()?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v).map_err(|_| BAD)?;
            }
        }
        Ok(Value::Table(t))
    }

    fn value(&mut self) -> Result<Value, &'static str> {
        let c = self.take(1)?[0];
        Ok(match c {
            0x00..=0x7f => Value::Number(f64::from(c)),
            0x80..=0x8f => return self.map(usize::from(c & 0x0f)),
            0x90..=0x9f => return self.array(usize::from(c & 0x0f)),
            0xa0..=0xbf => return self.string(usize::from(c & 0x1f)),
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4 | 0xd9 => {
                let n = self.be(1)? as usize;
                return self.string(n);
            }
            0xc5 | 0xda => {
                let n = self.be(2)? as usize;
                return self.string(n);
            }
            0xc6 | 0xdb => {
                let n = self.be(4)? as usize;
                return self.string(n);
            }
            0xca => Value::Number(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Value::Number(f64::from_bits(self.be(8)?)),
            0xcc => Value::Number(self.be(1)? as f64),
            0xcd => Value::Number(self.be(2)? as f64),
            0xce => Value::Number(self.be(4)? as f64),
            0xcf => Value::Number(self.be(8)? as f64),
            0xd0 => Value::Number(f64::from(self.be(1)? as u8 as i8)),
            0xd1 => Value::Number(f64::from(self.be(2)? as u16 as i16)),
            0xd2 => Value::Number(f64::from(self.be(4)? as u32 as i32)),
            0xd3 => Value::Number(self.be(8)? as i64 as f64),
            0xdc => {
                let n = self.be(2)? as usize;
                return self.array(n);
            }
            0xdd => {
                let n = self.be(4)? as usize;
                return self.array(n);
            }
            0xde => {
                let n = self.be(2)? as usize;
                return self.map(n);
            }
            0xdf => {
                let n = self.be(4)? as usize;
                return self.map(n);
            }
            0xe0..=0xff => Value::Number(f64::from(c as i8)),
            _ => return Err(BAD),
        })
    }
}
