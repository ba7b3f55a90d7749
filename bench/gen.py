#!/usr/bin/env python3
"""Write a RESP command stream for a memory scenario to stdout (for `redis-cli --pipe`).

    gen.py strings N        SET key:<i> val<i>                 (N keys)
    gen.py zset N           ZADD zset <score> member:<i>       (1 key, N members, batched)
    gen.py hash N           HSET hash field:<i> val<i>         (1 key, N fields, batched)
    gen.py small_hashes N   HSET h:<i> f0 v0 ... f4 v4         (N keys, 5 fields each)

Every command is counted by redis-cli --pipe as one reply; the shell script only checks that
there were no errors and that DBSIZE matches what the scenario expects.
"""

import sys

BATCH = 1000  # members/fields per ZADD/HSET in the single-key scenarios


def cmd(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def strings(n: int):
    for i in range(n):
        yield cmd(b"SET", b"key:%d" % i, b"val%d" % i)


def zset(n: int):
    for start in range(0, n, BATCH):
        args = [b"ZADD", b"zset"]
        for i in range(start, min(n, start + BATCH)):
            args += [b"%d" % i, b"member:%d" % i]
        yield cmd(*args)


def hash_(n: int):
    for start in range(0, n, BATCH):
        args = [b"HSET", b"hash"]
        for i in range(start, min(n, start + BATCH)):
            args += [b"field:%d" % i, b"val%d" % i]
        yield cmd(*args)


def small_hashes(n: int):
    for i in range(n):
        args = [b"HSET", b"h:%d" % i]
        for f in range(5):
            args += [b"f%d" % f, b"v%d" % (i * 5 + f)]
        yield cmd(*args)


SCENARIOS = {"strings": strings, "zset": zset, "hash": hash_, "small_hashes": small_hashes}


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(SCENARIOS)}}} N")
    gen = SCENARIOS[sys.argv[1]](int(sys.argv[2]))
    out = sys.stdout.buffer
    chunk = []
    for c in gen:
        chunk.append(c)
        if len(chunk) >= 10000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()


if __name__ == "__main__":
    main()
