//! Geospatial commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEORADIUS[_RO],
//! GEORADIUSBYMEMBER[_RO], GEOSEARCH, GEOSEARCHSTORE.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (26 bits of latitude and of
//! longitude, interleaved), exactly as Redis 7.0 computes them: GEOADD is a ZADD (and is
//! propagated as one), so scores, RDB files and replication stay identical across servers.
//! A radius or box search covers the center cell and its 8 neighbours at a precision chosen
//! from the radius, reads each cell's score range from the sorted set, and keeps the points
//! inside the shape; the cell order, the precision rule and the distance formula (haversine
//! on a 6372797.560856 m sphere) follow Redis so that unsorted results come in its order.

use super::flags::*;
use super::{err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::{Entry, Value};
use crate::util::parse_f64;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use std::cmp::Ordering;

const K1: KeySpec = KeySpec::ONE;
const K12: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("geoadd", -5, WRITE | DENYOOM, K1, "geo", geoadd),
    spec("geopos", -2, READONLY, K1, "geo", geopos),
    spec("geodist", -4, READONLY, K1, "geo", geodist),
    spec("geohash", -2, READONLY, K1, "geo", geohash),
    // STORE/STOREDIST name a destination anywhere in the arguments: every shard is locked
    // and the destination is signalled by hand.
    spec(
        "georadius",
        -6,
        WRITE | DENYOOM | ALL_KEYS,
        K1,
        "geo",
        georadius,
    ),
    spec(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM | ALL_KEYS,
        K1,
        "geo",
        georadiusbymember,
    ),
    spec("georadius_ro", -6, READONLY, K1, "geo", georadius_ro),
    spec(
        "georadiusbymember_ro",
        -5,
        READONLY,
        K1,
        "geo",
        georadiusbymember_ro,
    ),
    spec("geosearch", -7, READONLY, K1, "geo", geosearch),
    spec(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        K12,
        "geo",
        geosearchstore,
    ),
];

const STEP_MAX: u8 = 26;
const LAT_MIN: f64 = -85.051_128_78;
const LAT_MAX: f64 = 85.051_128_78;
const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const EARTH_RADIUS: f64 = 6_372_797.560_856;
const MERCATOR_MAX: f64 = 20_037_726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

// ---------------------------------------------------------------------------------------
// Geohash

#[derive(Clone, Copy, PartialEq, Debug, Default)]
struct Hash {
    bits: u64,
    step: u8,
}

impl Hash {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Range {
    min: f64,
    max: f64,
}

const WGS84: (Range, Range) = (
    Range {
        min: LONG_MIN,
        max: LONG_MAX,
    },
    Range {
        min: LAT_MIN,
        max: LAT_MAX,
    },
);

#[derive(Clone, Copy, Debug, Default)]
struct Area {
    lon: Range,
    lat: Range,
}

/// Spreads the 32 bits of `x` to the even bit positions and those of `y` to the odd ones.
fn interleave(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of [`interleave`]: (even bits, odd bits).
fn deinterleave(v: u64) -> (u32, u32) {
    fn squash(mut v: u64) -> u32 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
        ((v | (v >> 16)) & 0x0000_0000_ffff_ffff) as u32
    }
    (squash(v), squash(v >> 1))
}

/// Latitude in the even bits, longitude in the odd ones; None outside the ranges.
fn encode(ranges: (Range, Range), lon: f64, lat: f64, step: u8) -> Option<Hash> {
    let (lon_r, lat_r) = ranges;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    lat_off *= (1u64 << step) as f64;
    lon_off *= (1u64 << step) as f64;
    Some(Hash {
        bits: interleave(lat_off as u32, lon_off as u32),
        step,
    })
}

fn decode(ranges: (Range, Range), h: Hash) -> Area {
    let (lon_r, lat_r) = ranges;
    let (ilat, ilon) = deinterleave(h.bits);
    let cells = (1u64 << h.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    Area {
        lat: Range {
            min: lat_r.min + (ilat as f64 / cells) * lat_scale,
            max: lat_r.min + ((ilat as f64 + 1.0) / cells) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilon as f64 / cells) * lon_scale,
            max: lon_r.min + ((ilon as f64 + 1.0) / cells) * lon_scale,
        },
    }
}

/// The center of a stored point's cell, as (longitude, latitude).
fn score_to_xy(score: f64) -> (f64, f64) {
    let area = decode(
        WGS84,
        Hash {
            bits: score as u64,
            step: STEP_MAX,
        },
    );
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

fn align52(h: Hash) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

fn move_x(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaa >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Hash, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = h.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

/// The cells to read, in Redis's order: center, N, S, E, W, NE, NW, SE, SW.
fn neighbours(h: Hash) -> [Hash; 9] {
    let at = |dx: i8, dy: i8| {
        let mut n = h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    [
        h,
        at(0, 1),
        at(0, -1),
        at(1, 0),
        at(-1, 0),
        at(1, 1),
        at(-1, 1),
        at(1, -1),
        at(-1, -1),
    ]
}

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters.
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

// ---------------------------------------------------------------------------------------
// Search shapes

#[derive(Clone, Copy, Debug)]
enum Kind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

#[derive(Clone, Copy, Debug)]
struct Shape {
    lon: f64,
    lat: f64,
    /// Meters per unit.
    conversion: f64,
    kind: Kind,
}

impl Shape {
    /// (min lon, min lat, max lon, max lat) of the search area.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let (h, w) = match self.kind {
            Kind::Radius(r) => (r, r),
            Kind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let delta = if self.lat < 0.0 { bottom } else { top };
        (
            self.lon - delta,
            self.lat - lat_delta,
            self.lon + delta,
            self.lat + lat_delta,
        )
    }

    /// The distance of (lon, lat) from the center when it is inside the shape.
    fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            Kind::Radius(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            Kind::Box { width, height } => {
                if lat_distance(lat, self.lat) > height * self.conversion / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width * self.conversion / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

fn estimate_steps(mut range: f64, lat: f64) -> u8 {
    if range == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The (up to 9) cells covering `shape`, zeroed where useless, in reading order.
fn cells(shape: &Shape) -> [Hash; 9] {
    let (min_lon, min_lat, max_lon, max_lat) = shape.bounds();
    let radius = match shape.kind {
        Kind::Radius(r) => r,
        Kind::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps(radius, shape.lat);
    let center = |steps| encode(WGS84, shape.lon, shape.lat, steps).unwrap_or_default();
    let mut n = neighbours(center(steps));
    let decrease = {
        let (north, south) = (decode(WGS84, n[1]), decode(WGS84, n[2]));
        let (east, west) = (decode(WGS84, n[3]), decode(WGS84, n[4]));
        north.lat.max < max_lat
            || south.lat.min > min_lat
            || east.lon.max < max_lon
            || west.lon.min > min_lon
    };
    if steps > 1 && decrease {
        steps -= 1;
        n = neighbours(center(steps));
    }
    if steps >= 2 {
        let area = decode(WGS84, n[0]);
        let zero = Hash::default();
        // Indexes: 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
        if area.lat.min < min_lat {
            for i in [2, 8, 7] {
                n[i] = zero;
            }
        }
        if area.lat.max > max_lat {
            for i in [1, 5, 6] {
                n[i] = zero;
            }
        }
        if area.lon.min < min_lon {
            for i in [4, 8, 6] {
                n[i] = zero;
            }
        }
        if area.lon.max > max_lon {
            for i in [3, 7, 5] {
                n[i] = zero;
            }
        }
    }
    n
}

struct Point {
    member: Vec<u8>,
    score: f64,
    lon: f64,
    lat: f64,
    dist: f64,
}

/// Every member inside `shape`, cell by cell (stopping at `limit` when non-zero).
fn find_points(z: &crate::keyspace::types::zset::ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let n = cells(shape);
    let mut out: Vec<Point> = Vec::new();
    let mut last = 0usize;
    for (i, cell) in n.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge radii make neighbours coincide; Redis skips a cell equal to the previous one
        // read (never comparing with the center: its `last` starts at 0).
        if last != 0 && *cell == n[last] {
            continue;
        }
        if limit != 0 && out.len() >= limit {
            break;
        }
        let min = align52(*cell) as f64;
        let max = align52(Hash {
            bits: cell.bits + 1,
            step: cell.step,
        }) as f64;
        let start = z.count_below(|s, _| s < min);
        let end = z.count_below(|s, _| s < max);
        for (m, s) in z.range(start, end) {
            let (lon, lat) = score_to_xy(s);
            if let Some(dist) = shape.contains(lon, lat) {
                out.push(Point {
                    member: m.to_vec(),
                    score: s,
                    lon,
                    lat,
                    dist,
                });
            }
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
        last = i;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Arguments and replies

fn float_arg(a: &[u8], msg: Option<&'static str>) -> Result<f64, CommandError> {
    match parse_f64(a) {
        Some(v) if !v.is_nan() => Ok(v),
        _ => Err(msg.map_or(err::NOT_FLOAT, CommandError::new)),
    }
}

fn lon_lat(args: &[Bytes]) -> Result<(f64, f64), CommandError> {
    let lon = float_arg(&args[0], None)?;
    let lat = float_arg(&args[1], None)?;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return Err(CommandError::msg(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

fn unit(a: &[u8]) -> Result<f64, CommandError> {
    Ok(match () {
        _ if is_kw(a, "m") => 1.0,
        _ if is_kw(a, "km") => 1000.0,
        _ if is_kw(a, "ft") => 0.3048,
        _ if is_kw(a, "mi") => 1609.34,
        _ => {
            return Err(CommandError::new(
                "ERR unsupported unit provided. please use M, KM, FT, MI",
            ))
        }
    })
}

/// `<radius> <unit>` -> (radius, meters per unit).
fn radius_arg(args: &[Bytes]) -> Result<(f64, f64), CommandError> {
    let r = float_arg(&args[0], Some("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CommandError::new("ERR radius cannot be negative"));
    }
    Ok((r, unit(&args[1])?))
}

/// Redis's `%.17Lf` with trailing zeros removed, for a double (coordinates).
fn human(v: f64) -> String {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A coordinate: Redis's human long double text, as a bulk string (RESP2) or a double
/// (RESP3).
fn coord(v: f64) -> Frame {
    Frame::DoubleText(Bytes::from(human(v)))
}

fn dist_reply(d: f64) -> Frame {
    Frame::Bulk(Bytes::from(format!("{d:.4}")))
}

/// The sorted set at `key` for reading (None when absent).
fn read_zset<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<Option<&'c crate::keyspace::types::zset::ZSet>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

// ---------------------------------------------------------------------------------------
// Commands

/// `GEOADD key [NX|XX] [CH] longitude latitude member [...]`: a ZADD of geohash scores,
/// propagated as that ZADD.
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < args.len() {
        let a = &args[first];
        if is_kw(a, "nx") {
            nx = true;
        } else if is_kw(a, "xx") {
            xx = true;
        } else if !is_kw(a, "ch") {
            break;
        }
        first += 1;
    }
    if (args.len() - first) % 3 != 0 || (xx && nx) {
        return Err(err::SYNTAX);
    }
    let mut zargs: Vec<Bytes> = Vec::with_capacity(first + (args.len() - first) / 3 * 2);
    zargs.push(Bytes::from_static(b"zadd"));
    zargs.extend_from_slice(&args[1..first]);
    for t in args[first..].chunks_exact(3) {
        let (lon, lat) = lon_lat(&t[0..2])?;
        let h = encode(WGS84, lon, lat, STEP_MAX).ok_or(err::SYNTAX)?;
        zargs.push(Bytes::from(align52(h).to_string()));
        zargs.push(t[2].clone());
    }
    let reply = super::zset::zadd(ctx, &zargs)?;
    if ctx.dirty > 0 && !ctx.custom_propagation {
        ctx.propagate(zargs);
    }
    Ok(reply)
}

/// `GEOPOS key member [...]`
fn geopos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let scores: Vec<Option<f64>> = match read_zset(ctx, &args[1])? {
        Some(z) => args[2..].iter().map(|m| z.score(m)).collect(),
        None => vec![None; args.len() - 2],
    };
    let out = scores
        .into_iter()
        .map(|s| match s {
            None => Frame::NullArray,
            Some(s) => {
                let (lon, lat) = score_to_xy(s);
                Frame::Array(vec![coord(lon), coord(lat)])
            }
        })
        .collect();
    Ok(Frame::Array(out))
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]`
fn geodist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let to_meter = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(err::SYNTAX),
    };
    let Some(z) = read_zset(ctx, &args[1])? else {
        return Ok(Frame::Null);
    };
    let (Some(a), Some(b)) = (z.score(&args[2]), z.score(&args[3])) else {
        return Ok(Frame::Null);
    };
    let (x1, y1) = score_to_xy(a);
    let (x2, y2) = score_to_xy(b);
    Ok(dist_reply(distance(x1, y1, x2, y2) / to_meter))
}

/// `GEOHASH key member [...]`: standard 11-character geohashes.
fn geohash(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let scores: Vec<Option<f64>> = match read_zset(ctx, &args[1])? {
        Some(z) => args[2..].iter().map(|m| z.score(m)).collect(),
        None => vec![None; args.len() - 2],
    };
    let standard = (
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
    );
    let out = scores
        .into_iter()
        .map(|s| {
            let Some(s) = s else {
                return Frame::Null;
            };
            let (lon, lat) = score_to_xy(s);
            let Some(h) = encode(standard, lon, lat, 26) else {
                return Frame::Null;
            };
            let mut buf = [b'0'; 11];
            for (i, b) in buf.iter_mut().take(10).enumerate() {
                let idx = (h.bits >> (52 - (i + 1) * 5)) & 0x1f;
                *b = ALPHABET[idx as usize];
            }
            Frame::bulk(&buf)
        })
        .collect();
    Ok(Frame::Array(out))
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// GEORADIUS / GEORADIUS_RO.
    Coords,
    /// GEORADIUSBYMEMBER / GEORADIUSBYMEMBER_RO.
    Member,
    Search,
    SearchStore,
}

fn georadius(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::Coords, false)
}

fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::Member, false)
}

fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::Coords, true)
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::Member, true)
}

fn geosearch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::Search, true)
}

fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    radius_generic(ctx, args, Variant::SearchStore, true)
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// The shared body of the radius and search commands (Redis's `georadiusGeneric`): argument
/// checks happen in Redis's order so that errors match.
fn radius_generic(ctx: &mut Ctx, args: &[Bytes], v: Variant, nostore: bool) -> CmdResult {
    let search = matches!(v, Variant::Search | Variant::SearchStore);
    let src = if v == Variant::SearchStore {
        &args[2]
    } else {
        &args[1]
    };
    // The source (None when absent); its type is checked first.
    let exists = read_zset(ctx, src)?.is_some();
    let member_xy = |ctx: &mut Ctx, m: &[u8]| -> Result<(f64, f64), CommandError> {
        read_zset(ctx, src)?
            .and_then(|z| z.score(m))
            .map(score_to_xy)
            .ok_or(CommandError::new(
                "ERR could not decode requested zset member",
            ))
    };
    let mut center: Option<(f64, f64)> = None;
    let mut kind: Option<Kind> = None;
    let mut conversion = 1.0;
    let base = match v {
        Variant::Coords => {
            center = Some(lon_lat(&args[2..4])?);
            let (r, c) = radius_arg(&args[4..6])?;
            kind = Some(Kind::Radius(r));
            conversion = c;
            6
        }
        Variant::Member if !exists => 5,
        Variant::Member => {
            center = Some(member_xy(ctx, &args[2])?);
            let (r, c) = radius_arg(&args[3..5])?;
            kind = Some(Kind::Radius(r));
            conversion = c;
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => 3,
    };
    let mut store: Option<Bytes> = (v == Variant::SearchStore).then(|| args[1].clone());
    let (mut withdist, mut withhash, mut withcoord, mut any, mut storedist) =
        (false, false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let opts = &args[base..];
    let left = |i: usize| opts.len() - i - 1;
    let mut i = 0;
    while i < opts.len() {
        let a = &opts[i];
        if is_kw(a, "withdist") {
            withdist = true;
        } else if is_kw(a, "withhash") {
            withhash = true;
        } else if is_kw(a, "withcoord") {
            withcoord = true;
        } else if is_kw(a, "any") {
            any = true;
        } else if is_kw(a, "asc") {
            sort = Sort::Asc;
        } else if is_kw(a, "desc") {
            sort = Sort::Desc;
        } else if is_kw(a, "count") && left(i) >= 1 {
            count = crate::util::parse_i64(&opts[i + 1]).ok_or(err::NOT_INT)?;
            if count <= 0 {
                return Err(CommandError::new("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (is_kw(a, "store") || is_kw(a, "storedist"))
            && left(i) >= 1
            && !nostore
            && !search
        {
            store = Some(opts[i + 1].clone());
            storedist = is_kw(a, "storedist");
            i += 1;
        } else if is_kw(a, "storedist") && v == Variant::SearchStore {
            storedist = true;
        } else if is_kw(a, "frommember") && left(i) >= 1 && search && !fromloc {
            if exists {
                center = Some(member_xy(ctx, &opts[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if is_kw(a, "fromlonlat") && left(i) >= 2 && search && !frommember {
            center = Some(lon_lat(&opts[i + 1..i + 3])?);
            fromloc = true;
            i += 2;
        } else if is_kw(a, "byradius") && left(i) >= 2 && search && !bybox {
            let (r, c) = radius_arg(&opts[i + 1..i + 3])?;
            kind = Some(Kind::Radius(r));
            conversion = c;
            byradius = true;
            i += 2;
        } else if is_kw(a, "bybox") && left(i) >= 3 && search && !byradius {
            let w = float_arg(&opts[i + 1], Some("ERR need numeric width"))?;
            let h = float_arg(&opts[i + 2], Some("ERR need numeric height"))?;
            if w < 0.0 || h < 0.0 {
                return Err(CommandError::new("ERR height or width cannot be negative"));
            }
            conversion = unit(&opts[i + 3])?;
            kind = Some(Kind::Box {
                width: w,
                height: h,
            });
            bybox = true;
            i += 3;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        return Err(CommandError::msg(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if v == Variant::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if search && !(frommember || fromloc) {
        return Err(CommandError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CommandError::msg(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CommandError::new(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let (Some((lon, lat)), Some(kind), true) = (center, kind, exists) else {
        // No source key.
        return Ok(match store {
            Some(dst) => {
                delete_store(ctx, &dst);
                Frame::Integer(0)
            }
            None => Frame::Array(vec![]),
        });
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        lon,
        lat,
        conversion,
        kind,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = match read_zset(ctx, src)? {
        Some(z) => find_points(z, &shape, limit),
        None => Vec::new(),
    };
    if points.is_empty() && store.is_none() {
        return Ok(Frame::Array(vec![]));
    }
    // Ties in distance must come out in Redis's order: a full sort is glibc's qsort, a
    // stable merge sort; a COUNT smaller than the matches uses Redis's partial quicksort.
    if sort != Sort::None {
        let cmp = |a: &Point, b: &Point| {
            let o = a.dist.partial_cmp(&b.dist).unwrap_or(Ordering::Less);
            if sort == Sort::Desc {
                o.reverse()
            } else {
                o
            }
        };
        let returned = if count > 0 {
            (count as usize).min(points.len())
        } else {
            points.len()
        };
        if returned == points.len() {
            points.sort_by(cmp);
        } else {
            partial_sort(&mut points, &cmp, 0, returned - 1);
        }
    }
    if count > 0 {
        points.truncate(count as usize);
    }
    for p in &mut points {
        p.dist /= conversion;
    }
    let Some(dst) = store else {
        let out = points
            .into_iter()
            .map(|p| {
                if !(withdist || withhash || withcoord) {
                    return Frame::Bulk(Bytes::from(p.member));
                }
                let mut item = vec![Frame::Bulk(Bytes::from(p.member))];
                if withdist {
                    item.push(dist_reply(p.dist));
                }
                if withhash {
                    item.push(Frame::Integer(p.score as i64));
                }
                if withcoord {
                    item.push(Frame::Array(vec![coord(p.lon), coord(p.lat)]));
                }
                Frame::Array(item)
            })
            .collect();
        return Ok(Frame::Array(out));
    };
    let n = points.len();
    if n == 0 {
        delete_store(ctx, &dst);
        return Ok(Frame::Integer(0));
    }
    let pairs: Vec<(Vec<u8>, f64)> = points
        .into_iter()
        .map(|p| {
            let s = if storedist { p.dist } else { p.score };
            (p.member, s)
        })
        .collect();
    let event = if search {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    super::zset::store(ctx, &dst, pairs, event);
    ctx.dirty += n as u64;
    ctx.key_modified(&dst);
    Ok(Frame::Integer(n as i64))
}

/// Redis's `pqsort`: Bentley and McIlroy's quicksort (NetBSD's) that only recurses into
/// partitions overlapping positions `lo..=hi`. Not stable, so it must be this very algorithm
/// for equal distances to be ordered (and chosen by COUNT) as Redis does.
fn partial_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lo: usize, hi: usize) {
    let len = v.len();
    quick(v, cmp, 0, len, lo, hi);
}

fn insertion<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, a: usize, n: usize) {
    for m in a + 1..a + n {
        let mut l = m;
        while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn med3<T>(v: &[T], cmp: &impl Fn(&T, &T) -> Ordering, a: usize, b: usize, c: usize) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Less;
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Greater;
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

fn quick<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> Ordering,
    mut a: usize,
    mut n: usize,
    lo: usize,
    hi: usize,
) {
    // A partition [s, s + len) matters unless the wanted range lies wholly before or after.
    let wanted = |s: usize, len: usize| !((lo < s && hi < s) || (lo >= s + len && hi >= s + len));
    loop {
        if n < 7 {
            insertion(v, cmp, a, n);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, cmp, pl, pl + d, pl + 2 * d);
                pm = med3(v, cmp, pm - d, pm, pm + d);
                pn = med3(v, cmp, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, cmp, pl, pm, pn);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        let mut swapped = false;
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    swapped = true;
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    swapped = true;
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            swapped = true;
            pb += 1;
            pc -= 1;
        }
        if !swapped {
            insertion(v, cmp, a, n);
            return;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        for i in 0..r {
            v.swap(a + i, pb - r + i);
        }
        let r = (pd - pc).min(pn - pd - 1);
        for i in 0..r {
            v.swap(pb + i, pn - r + i);
        }
        let r = pb - pa;
        if r > 1 && wanted(a, r) {
            quick(v, cmp, a, r, lo, hi);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if wanted(a, n) {
                continue;
            }
        }
        return;
    }
}

/// Deletes a STORE destination that gets no results (a `del` event when it existed).
fn delete_store(ctx: &mut Ctx, dst: &[u8]) {
    let db = ctx.db();
    ctx.expire_if_needed(db, dst);
    if ctx.table(dst).remove(dst).is_some() {
        ctx.changed();
        ctx.notify(notify::GENERIC, "del", dst);
        ctx.key_modified(dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ff_ffff, 0x155_5555),
            (u32::MAX, 7),
        ] {
            assert_eq!(deinterleave(interleave(x, y)), (x, y));
        }
    }

    #[test]
    fn palermo_matches_redis_score_and_hash() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores 3479099956230698 in Redis.
        let h = encode(WGS84, 13.361389, 38.115556, STEP_MAX).map(align52);
        assert_eq!(h, Some(3_479_099_956_230_698));
        let (lon, lat) = score_to_xy(3_479_099_956_230_698.0);
        assert_eq!(human(lon), "13.36138933897018433");
        assert_eq!(human(lat), "38.11555639549629859");
    }

    #[test]
    fn palermo_catania_distance() {
        let (x1, y1) = score_to_xy(3_479_099_956_230_698.0);
        let (x2, y2) = score_to_xy(3_479_447_370_796_909.0);
        assert_eq!(format!("{:.4}", distance(x1, y1, x2, y2)), "166274.1516");
    }
}
