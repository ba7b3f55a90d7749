//! Building a script VM: libraries, the `redis` table, and read-only globals.

use super::Vm;
use mlua::{Lua, LuaOptions, MultiValue, StdLib, Table, Value};

/// Lua run once per VM with full access, before the globals become read-only. Receives the
/// bridge table (per-run scoped functions), the Rust-made `redis` table, and the names of
/// the library tables to protect.
const PRELUDE: &str = r#"
local bridge, redis_lib, cjson_lib, bit_lib, cmsgpack_lib = ...
local _G = _G
local error, setmetatable, pairs, rawset, tostring, select = error, setmetatable, pairs, rawset, tostring, select
local raw_pcall, raw_xpcall, to_err, to_err_string = pcall, xpcall, bridge.to_err, bridge.to_err_string
local function fix(ok, ...)
  if ok then return ok, ... end
  return ok, to_err_string((...))
end
-- Redis 7.0's pcall: an error table's `err` string is what the caller gets.
_G.pcall = function(f, ...) return fix(raw_pcall(f, ...)) end
_G.xpcall = function(f, h) return raw_xpcall(f, function(e) return h(to_err(e)) end) end
redis = redis_lib
cjson = cjson_lib
bit = bit_lib
cmsgpack = cmsgpack_lib
-- Removed as in Redis 7.0's sandbox.
print = nil; dofile = nil; loadfile = nil; require = nil; module = nil
setfenv = nil; getfenv = nil; newproxy = nil; os = nil; io = nil; debug = nil; package = nil

local function ro_error() error("Attempt to modify a readonly table", 2) end
local protected = setmetatable({}, { __mode = "k" })
local function readonly(t)
  local p = setmetatable({}, { __index = t, __newindex = ro_error, __metatable = false })
  protected[p] = true
  return p
end
local raw_setmetatable = setmetatable
_G.setmetatable = function(t, m)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return raw_setmetatable(t, m)
end
_G.rawset = function(t, k, v)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
for _, name in pairs({ "string", "table", "math", "coroutine", "redis", "cjson", "bit", "cmsgpack" }) do
  if _G[name] ~= nil then _G[name] = readonly(_G[name]) end
end
protected[_G] = true
local G0 = {}
for k, v in pairs(_G) do G0[k] = v end
for k in pairs(G0) do rawset(_G, k, nil) end
setmetatable(_G, {
  __index = function(_, k)
    local v = G0[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_error,
  __metatable = false,
})
return G0
"#;

/// A fresh VM for cache generation `generation`.
pub(super) fn new_vm(generation: u64) -> mlua::Result<Vm> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::default(),
    )?;
    let globals = lua.globals();
    let xpcall = globals.raw_get("xpcall")?;
    let math: Table = globals.raw_get("math")?;
    math.raw_set("random", lua.create_function(math_random)?)?;
    math.raw_set("randomseed", lua.create_function(math_randomseed)?)?;
    let bridge = lua.create_table()?;
    bridge.raw_set("to_err", lua.create_function(to_err)?)?;
    bridge.raw_set("to_err_string", lua.create_function(to_err_string)?)?;
    let redis = redis_table(&lua)?;
    let cjson = super::cjson::table(&lua)?;
    let bit = bit_table(&lua)?;
    let cmsgpack = super::cmsgpack::table(&lua)?;
    let backing: Table = lua.load(PRELUDE).set_name("=redis_prelude").call((
        bridge.clone(),
        redis.clone(),
        cjson,
        bit,
        cmsgpack,
    ))?;
    Ok(Vm {
        funcs: lua.create_table()?,
        lua,
        generation,
        globals: backing,
        redis,
        xpcall,
    })
}

/// What a script's `pcall`/`xpcall` handler sees for an error raised by a Rust function
/// (redis.call, redis.log, ...): Redis's `{err=...}` table instead of mlua's error userdata.
fn to_err(lua: &Lua, e: Value) -> mlua::Result<Value> {
    match e {
        Value::Error(err) => {
            let t = lua.create_table()?;
            t.raw_set("err", super::error_text(&err))?;
            Ok(Value::Table(t))
        }
        other => Ok(other),
    }
}

/// `to_err`, then an error table's `err` string (Redis 7.0's `pcall`).
fn to_err_string(lua: &Lua, e: Value) -> mlua::Result<Value> {
    match to_err(lua, e)? {
        Value::Table(t) => match t.raw_get::<Value>("err")? {
            s @ Value::String(_) => Ok(s),
            _ => Ok(Value::Table(t)),
        },
        other => Ok(other),
    }
}

/// The process-wide rand48 state behind `math.random` (Redis's `redisLrand48`: the same
/// sequence from start-up as redis-server, never reseeded between scripts).
static RAND48: parking_lot::Mutex<u64> = parking_lot::Mutex::new(0x1234_ABCD_330E);

fn lrand48() -> i64 {
    let mut x = RAND48.lock();
    *x = (0x5_DEEC_E66D_u64.wrapping_mul(*x).wrapping_add(0xB)) & ((1 << 48) - 1);
    (*x >> 17) as i64
}

/// `luaL_checkint`: a number (or numeric string) truncated to an int.
fn check_int(lua: &Lua, v: Option<&Value>, n: usize, fname: &str) -> mlua::Result<i64> {
    let num = match v {
        Some(Value::Number(x)) => Some(*x),
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::String(s)) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok()),
        _ => None,
    };
    match num {
        Some(x) => Ok(x as i32 as i64),
        None => {
            let got = v.map_or("no value", |v| v.type_name());
            Err(super::located(
                lua,
                format!("bad argument #{n} to '{fname}' (number expected, got {got})"),
            ))
        }
    }
}

/// Redis's `math.random`: Lua 5.1's, on `redisLrand48`.
fn math_random(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    const MAX: i64 = i32::MAX as i64;
    let r = (lrand48() % MAX) as f64 / MAX as f64;
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = check_int(lua, args.front(), 1, "random")?;
            if u < 1 {
                return Err(super::located(
                    lua,
                    "bad argument #1 to 'random' (interval is empty)",
                ));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let l = check_int(lua, args.front(), 1, "random")?;
            let u = check_int(lua, args.get(1), 2, "random")?;
            if l > u {
                return Err(super::located(
                    lua,
                    "bad argument #2 to 'random' (interval is empty)",
                ));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(super::located(lua, "wrong number of arguments")),
    }
}

/// Redis's `math.randomseed` (`redisSrand48`).
fn math_randomseed(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let seed = check_int(lua, args.front(), 1, "randomseed")?;
    *RAND48.lock() = ((seed as i32 as u32 as u64) << 16) | 0x330E;
    Ok(())
}

fn arg_string(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("REDIS_VERSION", "7.0.15")?;
    t.raw_set("REDIS_VERSION_NUM", 0x07000f)?;
    t.raw_set("LOG_DEBUG", 0)?;
    t.raw_set("LOG_VERBOSE", 1)?;
    t.raw_set("LOG_NOTICE", 2)?;
    t.raw_set("LOG_WARNING", 3)?;
    t.raw_set("REPL_NONE", 0)?;
    t.raw_set("REPL_AOF", 1)?;
    t.raw_set("REPL_SLAVE", 2)?;
    t.raw_set("REPL_REPLICA", 2)?;
    t.raw_set("REPL_ALL", 3)?;
    t.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(mlua::Error::runtime("wrong number of arguments"));
            }
            let b = args
                .front()
                .and_then(|v| arg_string(lua, v))
                .unwrap_or_default();
            Ok(super::sha1hex(&b))
        })?,
    )?;
    t.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let s = match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => s.as_bytes().to_vec(),
                (1, Some(v @ (Value::Number(_) | Value::Integer(_)))) => {
                    arg_string(lua, v).unwrap_or_default()
                }
                _ => return Err(mlua::Error::runtime("wrong number or type of arguments")),
            };
            let s = String::from_utf8_lossy(&s).into_owned();
            let s = if s.starts_with('-') {
                s
            } else {
                format!("-{s}")
            };
            Ok(super::err_table(lua, &s))
        })?,
    )?;
    t.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| {
            let s = match (args.len(), args.front()) {
                (1, Some(v)) => arg_string(lua, v),
                _ => None,
            };
            let Some(s) = s else {
                return Err(mlua::Error::runtime("wrong number or type of arguments"));
            };
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(&s)?)?;
            Ok(t)
        })?,
    )?;
    t.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() < 2 {
                return Err(mlua::Error::runtime(
                    "redis.log() requires two arguments or more.",
                ));
            }
            let mut it = args.into_iter();
            let level = match it.next() {
                Some(Value::Number(n)) => n as i64,
                Some(Value::Integer(n)) => n,
                _ => {
                    return Err(mlua::Error::runtime(
                        "First argument must be a number (log level).",
                    ))
                }
            };
            if !(0..=3).contains(&level) {
                return Err(mlua::Error::runtime("Invalid debug level."));
            }
            let mut msg = String::new();
            for (i, v) in it.enumerate() {
                if i > 0 {
                    msg.push(' ');
                }
                if let Some(b) = arg_string(lua, &v) {
                    msg.push_str(&String::from_utf8_lossy(&b));
                }
            }
            match level {
                3 => tracing::warn!("{msg}"),
                2 => tracing::info!("{msg}"),
                _ => tracing::debug!("{msg}"),
            }
            Ok(())
        })?,
    )?;
    t.raw_set(
        "set_repl",
        lua.create_function(|_lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(mlua::Error::runtime(
                    "redis.set_repl() requires two arguments.",
                ));
            }
            let flags = match args.front() {
                Some(Value::Number(n)) => *n as i64,
                Some(Value::Integer(n)) => *n,
                _ => -1,
            };
            if !(0..=3).contains(&flags) {
                return Err(mlua::Error::runtime(
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?,
    )?;
    t.raw_set(
        "replicate_commands",
        lua.create_function(|_lua, ()| Ok(true))?,
    )?;
    t.raw_set("breakpoint", lua.create_function(|_lua, ()| Ok(false))?)?;
    t.raw_set("debug", lua.create_function(|_lua, _a: MultiValue| Ok(()))?)?;
    Ok(t)
}

fn to_u32(v: &Value) -> mlua::Result<i32> {
    let n = match v {
        Value::Number(n) => *n,
        Value::Integer(i) => *i as f64,
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| mlua::Error::runtime("bad argument (number expected)"))?,
        _ => return Err(mlua::Error::runtime("bad argument (number expected)")),
    };
    // LuaBitOp's normalisation: add 2^52+2^51 and take the low 32 bits.
    let b = n + 6_755_399_441_055_744.0;
    Ok(b.to_bits() as u32 as i32)
}

/// LuaBitOp (`bit`), as Redis bundles it: results are signed 32-bit numbers.
fn bit_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, v: Value| Ok(to_u32(&v)? as f64))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, v: Value| Ok(!to_u32(&v)? as f64))?,
    )?;
    macro_rules! fold {
        ($name:literal, $f:expr) => {
            t.raw_set(
                $name,
                lua.create_function(|_, args: MultiValue| {
                    let mut it = args.iter();
                    let mut acc = to_u32(it.next().unwrap_or(&Value::Nil))?;
                    let f: fn(i32, i32) -> i32 = $f;
                    for v in it {
                        acc = f(acc, to_u32(v)?);
                    }
                    Ok(acc as f64)
                })?,
            )?;
        };
    }
    fold!("band", |a, b| a & b);
    fold!("bor", |a, b| a | b);
    fold!("bxor", |a, b| a ^ b);
    macro_rules! shift {
        ($name:literal, $f:expr) => {
            t.raw_set(
                $name,
                lua.create_function(|_, (a, n): (Value, Value)| {
                    let a = to_u32(&a)?;
                    let n = (to_u32(&n)? & 31) as u32;
                    let f: fn(i32, u32) -> i32 = $f;
                    Ok(f(a, n) as f64)
                })?,
            )?;
        };
    }
    shift!("lshift", |a, n| ((a as u32) << n) as i32);
    shift!("rshift", |a, n| ((a as u32) >> n) as i32);
    shift!("arshift", |a, n| a >> n);
    shift!("rol", |a, n| (a as u32).rotate_left(n) as i32);
    shift!("ror", |a, n| (a as u32).rotate_right(n) as i32);
    t.raw_set(
        "bswap",
        lua.create_function(|_, v: Value| Ok((to_u32(&v)? as u32).swap_bytes() as i32 as f64))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (v, n): (Value, Option<Value>)| {
            let b = to_u32(&v)? as u32;
            let mut n = match n {
                Some(n) => to_u32(&n)?,
                None => 8,
            };
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(1, 8) as usize;
            let s = if upper {
                format!("{b:08X}")
            } else {
                format!("{b:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}
