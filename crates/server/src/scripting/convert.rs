//! RESP <-> Lua conversions, Redis 7.0's rules.
//!
//! Reply to Lua (RESP2, the default): integer -> number, bulk -> string, nil bulk / nil
//! array -> false, array -> table, status -> `{ok=...}`, error -> `{err=...}`. RESP3
//! types (a handler may return them) downgrade as RESP2 would send them. After
//! `redis.setresp(3)`: map -> `{map={...}}`, set -> `{set={m=true}}`, null -> nil, boolean ->
//! boolean, double -> `{double=n}`, big number -> `{big_number=s}`.
//!
//! Lua to reply: number -> integer (truncated), string -> bulk, true -> 1, false/nil -> nil
//! bulk, table with `err` -> error, with `ok` -> status, with `double`/`map`/`set`/
//! `big_number` -> those RESP3 types, other tables -> array up to the first nil.

use bytes::Bytes;
use ferrodis_resp::Frame;
use mlua::{Lua, Table, Value};

/// Deepest nesting converted (Redis stops at its C stack; deeper is a nil).
const MAX_DEPTH: usize = 1000;

fn string_value(lua: &Lua, b: &[u8]) -> Value {
    lua.create_string(b)
        .map(Value::String)
        .unwrap_or(Value::Nil)
}

fn table_with(lua: &Lua, field: &str, v: Value) -> Value {
    match lua.create_table() {
        Ok(t) => {
            let _ = t.raw_set(field, v);
            Value::Table(t)
        }
        Err(_) => Value::Nil,
    }
}

fn array_value(lua: &Lua, items: &[Frame], resp3: bool) -> Value {
    match lua.create_table_with_capacity(items.len(), 0) {
        Ok(t) => {
            for (i, f) in items.iter().enumerate() {
                let _ = t.raw_set(i + 1, frame_to_lua(lua, f, resp3));
            }
            Value::Table(t)
        }
        Err(_) => Value::Nil,
    }
}

/// A command reply as the Lua value `redis.call` returns.
pub fn frame_to_lua(lua: &Lua, f: &Frame, resp3: bool) -> Value {
    match f {
        Frame::Integer(i) => Value::Number(*i as f64),
        Frame::Bulk(b) => string_value(lua, b),
        Frame::Simple(s) => table_with(lua, "ok", string_value(lua, s)),
        Frame::Error(e) => table_with(lua, "err", string_value(lua, e)),
        Frame::Null | Frame::NullArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Frame::Array(v) | Frame::Push(v) => array_value(lua, v, resp3),
        Frame::Set(v) => {
            if resp3 {
                match lua.create_table() {
                    Ok(t) => {
                        for m in v {
                            let _ = t.raw_set(frame_to_lua(lua, m, resp3), true);
                        }
                        table_with(lua, "set", Value::Table(t))
                    }
                    Err(_) => Value::Nil,
                }
            } else {
                array_value(lua, v, resp3)
            }
        }
        Frame::Map(pairs) => {
            if resp3 {
                match lua.create_table() {
                    Ok(t) => {
                        for (k, v) in pairs {
                            let _ =
                                t.raw_set(frame_to_lua(lua, k, resp3), frame_to_lua(lua, v, resp3));
                        }
                        table_with(lua, "map", Value::Table(t))
                    }
                    Err(_) => Value::Nil,
                }
            } else {
                let flat: Vec<Frame> = pairs
                    .iter()
                    .flat_map(|(k, v)| [k.clone(), v.clone()])
                    .collect();
                array_value(lua, &flat, resp3)
            }
        }
        Frame::Double(d) => {
            if resp3 {
                table_with(lua, "double", Value::Number(*d))
            } else {
                string_value(lua, format_double(*d).as_bytes())
            }
        }
        Frame::DoubleText(t) => {
            if resp3 {
                let d = std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                table_with(lua, "double", Value::Number(d))
            } else {
                string_value(lua, t)
            }
        }
        Frame::Boolean(b) => {
            if resp3 {
                Value::Boolean(*b)
            } else {
                Value::Number(if *b { 1.0 } else { 0.0 })
            }
        }
        Frame::BigNumber(b) => {
            if resp3 {
                table_with(lua, "big_number", string_value(lua, b))
            } else {
                string_value(lua, b)
            }
        }
        Frame::Verbatim(_, b) => string_value(lua, b),
    }
}

fn format_double(d: f64) -> String {
    ferrodis_resp::fmt_double(d)
}

/// A script's return value (or a nested element) as a reply.
pub fn lua_to_frame(v: &Value, depth: usize) -> Frame {
    if depth > MAX_DEPTH {
        return Frame::Null;
    }
    match v {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(i) => Frame::Integer(*i),
        Value::Number(n) => Frame::Integer(truncate(*n)),
        Value::Boolean(true) => Frame::Integer(1),
        Value::Table(t) => table_to_frame(t, depth),
        _ => Frame::Null,
    }
}

/// `(long long)n` as C does on x86-64 for in-range values; out of range gives i64::MIN.
fn truncate(n: f64) -> i64 {
    // 2^63 as f64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_frame(t: &Table, depth: usize) -> Frame {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let msg = String::from_utf8_lossy(&e.as_bytes()).replace(['\r', '\n'], " ");
        let msg = msg.strip_prefix('-').unwrap_or(&msg).to_string();
        return Frame::Error(Bytes::from(msg));
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let msg = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
        return Frame::Simple(Bytes::from(msg));
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return Frame::Double(d);
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        return Frame::BigNumber(Bytes::copy_from_slice(&s.as_bytes()));
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((lua_to_frame(&k, depth + 1), lua_to_frame(&v, depth + 1)));
        }
        return Frame::Map(pairs);
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("set") {
        let mut items = Vec::new();
        for (k, _) in m.pairs::<Value, Value>().flatten() {
            items.push(lua_to_frame(&k, depth + 1));
        }
        return Frame::Set(items);
    }
    let mut items = Vec::new();
    let mut i = 1usize;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(lua_to_frame(&v, depth + 1)),
        }
        i += 1;
    }
    Frame::Array(items)
}
