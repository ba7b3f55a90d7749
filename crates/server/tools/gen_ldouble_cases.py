#!/usr/bin/env python3
"""Regenerates crates/server/src/ldouble_cases.rs from a real redis-server (7.0).

Start one first:  redis-server --port 7399 --save '' --daemonize yes
Then:             python3 crates/server/tools/gen_ldouble_cases.py [port]

Every case is (initial value or None, increment, INCRBYFLOAT reply, HINCRBYFLOAT reply), each
reply being Ok(bulk) or Err(error text). INCRBYFLOAT runs on a string key set to the initial
value (or missing), HINCRBYFLOAT on a hash field set to it (or missing).
"""
import os
import random
import socket
import sys

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7399
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "ldouble_cases.rs")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+" or t == b":":
            return ("ok", rest)
        if t == b"-":
            return ("err", rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return ("ok", None)
            data = self.f.read(n + 2)[:-2]
            return ("ok", data)
        raise ValueError(line)


def edge_values():
    v = [
        "0", "-0", "+0", "0.0", "-0.0", "-0e10", "0e-5000", "00", "007", "000123.4500",
        "1", "-1", "+1", "1.", ".5", "+.5", "-.5", "5.", "0.1", "0.2", "0.3", "-0.1",
        "3.0e3", "1e5", "1E5", "1e+5", "1e-5", "1.5e-17", "5e-18", "4.9999999e-18",
        "-5e-18", "1e-18", "2.5e-17", "9.999999999999999999e-18",
        "1e308", "-1e308", "1.7976931348623157e308", "1e-300", "1e-320", "2.2250738585072014e-308",
        "1e4000", "1e4932", "1.18973149535723176502e4932", "1.18973149535723176509e4932",
        "-1.18973149535723176502e4932", "1e4933", "1e5000", "1e-4940", "1e-4951",
        "3.6e-4951", "1.9e-4951", "1e-5000",
        "inf", "-inf", "+inf", "INF", "Infinity", "-infinity", "infinit", "nan", "NaN", "-nan",
        "nan(123)",
        "0x1p3", "0X1P-2", "0x.8", "0x1.8p1", "-0x10", "0x1p-18", "0x3p-18", "0x5p-18",
        "-0x1p-60", "0xffffffffffffffff", "0x1ffffffffffffffff", "0x1.fffffffffffffffep16383",
        "0x1p16384", "0x1p-16445", "0x1p-16446", "0x1.8p-16446", "0x1p-16400", "0x", "0x.",
        "0xp1", "0x1p", "0x1p+", "0xg",
        "", " ", " 1", "1 ", "1\t", "\t1", "1e", "1e+", "e5", ".", "-", "+", "+-1", "--1",
        "1_0", "1,5", "1.2.3", "1e5.5", "0b101", "abc", "1\x002", "12abc",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "18446744073709551617",
        "36893488147419103231", "9007199254740993", "-9223372036854775809",
        "123456789012345678901234567890", "1.23456789012345678", "100000000000000000000",
        "0.30000000000000000001", "3.14159265358979323846264338327950288",
        "2.71828182845904523536028747135266249775724709369995",
    ]
    return v


def rand_decimal(rng):
    kind = rng.random()
    sign = rng.choice(["", "", "-", "+"])
    if kind < 0.3:
        nd = rng.randint(1, 25)
        digits = "".join(rng.choice("0123456789") for _ in range(nd))
        p = rng.randint(0, nd)
        s = digits[:p] + "." + digits[p:] if p < nd else digits
        return sign + s
    if kind < 0.55:
        nd = rng.randint(1, 20)
        digits = "".join(rng.choice("0123456789") for _ in range(nd))
        return sign + digits[0] + "." + digits[1:] + "e" + str(rng.randint(-40, 40))
    if kind < 0.7:
        return sign + repr(rng.uniform(-1e6, 1e6))
    if kind < 0.85:
        # integers near powers of two
        b = rng.choice([53, 62, 63, 64, 65, 66, 70, 100])
        return sign + str(2 ** b + rng.randint(-3, 3))
    # hex floats
    mant = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(1, 18)))
    return sign + "0x" + mant[0] + "." + mant[1:] + "p" + str(rng.randint(-80, 80))


def exact_decimal(n, e, nudge_down=False):
    """The exact decimal expansion of n * 2^e; with nudge_down, a number a hair below it."""
    if e >= 0:
        s = str(n << e)
        return s[:-1] + str(int(s[-1]) - 1) + ".999999999" if nudge_down else s
    digits = str(n * 5 ** (-e)).rjust(-e + 1, "0")
    s = digits[: len(digits) + e] + "." + digits[len(digits) + e:]
    if nudge_down:
        # n * 2^e has exactly -e decimals, ending in 5: lower that 5 to 4 and append 9s
        s = s[:-1] + "4999999999"
    return s


def rust_bytes(s):
    out = 'b"'
    for ch in s.encode():
        c = chr(ch)
        if c == '"' or c == "\\":
            out += "\\" + c
        elif 32 <= ch < 127:
            out += c
        else:
            out += "\\x%02x" % ch
    return out + '"'


def rust_result(r):
    kind, v = r
    s = v.decode()
    return ('Ok("%s")' if kind == "ok" else 'Err("%s")') % s


def main():
    c = Conn(PORT)
    cases = []
    huge = [0]

    def run(initial, incr):
        c.cmd("DEL", "k", "h")
        if initial is not None:
            c.cmd("SET", "k", initial)
            c.cmd("HSET", "h", "f", initial)
        r1 = c.cmd("INCRBYFLOAT", "k", incr)
        r2 = c.cmd("HINCRBYFLOAT", "h", "f", incr)
        for r in (r1, r2):
            assert r[1] is not None and (r[0] == "err" or len(r[1]) < 6000)
        # Keep the file small: only a few of the (up to 4933-digit) huge results.
        if max(len(r1[1]), len(r2[1]), len(initial or "")) > 400:
            huge[0] += 1
            if huge[0] > 6:
                return r1
        cases.append((initial, incr, r1, r2))
        return r1

    edges = edge_values()
    small = ["0", "1", "-1", "0.1", "1e308", "-0", "1e-300", "9223372036854775807", "inf", "abc", "0x1p-18"]
    for e in edges:
        run(None, e)
    for e in edges:
        for s in small:
            run(e, s)
    # chains: repeated increments feed the printed value back
    for start, step, n in [
        ("0", "0.1", 12), ("3.0e3", "0.1", 3), ("0", "1e308", 3), ("0", "-0.3", 5),
        ("9223372036854775807", "1", 2), ("0", "1.23456789012345678", 4),
        ("1e18", "0.01", 3), ("0", "1e4931", 3), ("-2.5", "1.25", 4),
    ]:
        cur = start
        for _ in range(n):
            r = run(cur, step)
            if r[0] != "ok":
                break
            cur = r[1].decode()
    rng = random.Random(20240607)
    for _ in range(500):
        run(rand_decimal(rng), rand_decimal(rng))
    for _ in range(100):
        a = rand_decimal(rng)
        run(a, a[1:] if a.startswith("-") else "-" + a.lstrip("+"))  # cancellation
    # exact ties at the 17th decimal (odd multiples of 2^-18) and near ties
    for _ in range(60):
        m = rng.randrange(1, 1 << 40) | 1
        run(None, "0x%xp-18" % m)
        run("0x%xp-19" % rng.randrange(1, 1 << 30), "0x%xp-19" % rng.randrange(1, 1 << 30))

    # decimal inputs exactly halfway between two long doubles (ties to even when parsing),
    # and just above/below halfway
    # (exponents where the last bit still shows at 17 decimals, directly or after cancelling
    # the rounded-down value).
    for _ in range(80):
        m = rng.randrange(1 << 63, 1 << 64)
        e = rng.randint(-57, 20)
        cancel = "-0x%xp%d" % (m, e)
        for v in (
            exact_decimal(2 * m + 1, e - 1),
            exact_decimal(2 * m + 1, e - 1) + ("000000001" if e < 1 else ".000000001"),
            exact_decimal(2 * m + 1, e - 1, nudge_down=True),
        ):
            if e >= -50:
                run(None, v)
            run(v, cancel)

    with open(OUT, "w") as f:
        f.write("// @generated by crates/server/tools/gen_ldouble_cases.py from redis-server %s.\n"
                % c.cmd("INFO", "server")[1].decode().split("redis_version:")[1].split("\r\n")[0])
        f.write("// Do not edit: rerun the script against a real redis-server instead.\n\n")
        f.write("/// A reply: Ok(bulk string) or Err(error text).\n")
        f.write("pub type Reply = Result<&'static str, &'static str>;\n")
        f.write("/// (initial value (None: missing), increment, INCRBYFLOAT reply, HINCRBYFLOAT reply)\n")
        f.write("pub type Case = (Option<&'static [u8]>, &'static [u8], Reply, Reply);\n\n")
        f.write("#[rustfmt::skip]\n")
        f.write("pub const CASES: &[Case] = &[\n")
        for initial, incr, r1, r2 in cases:
            ini = "None" if initial is None else "Some(%s)" % rust_bytes(initial)
            f.write("    (%s, %s, %s, %s),\n" % (ini, rust_bytes(incr), rust_result(r1), rust_result(r2)))
        f.write("];\n")
    print("%d cases -> %s" % (len(cases), OUT))


main()
