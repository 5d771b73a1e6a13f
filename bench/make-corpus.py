#!/usr/bin/env python3
"""Writes the benchmark corpus: a raw image made of four equal quarters.

1. random bytes (incompressible, no zero clusters);
2. one random 20 KiB block repeated (compressible only by a matcher that sees more than 4 KiB back:
   deflate's 32 KiB window finds it, a 4 KiB dictionary would not);
3. log-like text (compresses well, like the text files on a real guest);
4. a hole (never written: the file stays sparse there).

Usage: make-corpus.py PATH [SIZE_MIB]  (default 1024, must be a multiple of 4)
"""
import os
import random
import sys

MIB = 1 << 20


def write_random(f, size):
    chunk = 4 * MIB
    for _ in range(size // chunk):
        f.write(os.urandom(chunk))


def write_repeated(f, size):
    block = random.Random(20).randbytes(20 * 1024)
    unit = block * 205  # ~4 MiB, a whole number of 20 KiB blocks
    written = 0
    while written < size:
        piece = unit[: size - written]
        f.write(piece)
        written += len(piece)


def write_log_text(f, size):
    rng = random.Random(7)
    hosts = [f"node{n:02d}" for n in range(24)]
    daemons = ["sshd", "kernel", "systemd", "cron", "nginx", "postgres", "dockerd"]
    messages = [
        "Accepted publickey for {user} from 10.{a}.{b}.{c} port {port} ssh2",
        "Started Session {n} of user {user}.",
        "GET /api/v1/items/{n} HTTP/1.1 200 {port} \"-\" \"curl/7.88.1\"",
        "checkpoint complete: wrote {a} buffers ({b}.{c}%); 0 WAL file(s) added",
        "EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.",
        "({user}) CMD (run-parts /etc/cron.hourly) [{n}]",
        "connection reset by peer while reading upstream, client: 10.{a}.{b}.{c}",
    ]
    users = ["root", "alice", "bob", "deploy", "backup", "www-data"]
    written = 0
    second = 1_700_000_000
    buffer = []
    buffered = 0
    while written < size:
        second += rng.randint(0, 3)
        template = rng.choice(messages)
        line = "{t} {h} {d}[{pid}]: {m}\n".format(
            t=f"2026-11-{(second // 86400) % 28 + 1:02d}T{(second // 3600) % 24:02d}:{(second // 60) % 60:02d}:{second % 60:02d}",
            h=rng.choice(hosts), d=rng.choice(daemons), pid=rng.randint(100, 65000),
            m=template.format(user=rng.choice(users), a=rng.randint(0, 255), b=rng.randint(0, 255),
                              c=rng.randint(0, 255), port=rng.randint(1024, 65535), n=rng.randint(1, 99999)),
        ).encode()
        buffer.append(line)
        buffered += len(line)
        if buffered >= MIB:
            data = b"".join(buffer)[: size - written]
            f.write(data)
            written += len(data)
            buffer, buffered = [], 0
    # buffered lines beyond size are dropped on purpose: the quarter ends exactly at its boundary


def main():
    path = sys.argv[1]
    total = int(sys.argv[2]) * MIB if len(sys.argv) > 2 else 1024 * MIB
    quarter = total // 4
    if quarter % (4 * MIB):
        sys.exit("size must be a multiple of 16 MiB")
    with open(path, "wb") as f:
        write_random(f, quarter)
        write_repeated(f, quarter)
        write_log_text(f, quarter)
        f.truncate(total)


if __name__ == "__main__":
    main()
