#!/usr/bin/env python3
"""Open-loop OTLP/HTTP load against `lantern serve`: requests at a fixed rate, whatever the answers.

Sends the pre-built protobuf batches of ../shared/bench/gen_spans.py (DATA/otlp/*.pb, see
manifest.json) to http://HOST:PORT/v1/traces at --spans-per-s for --seconds, over as many
keep-alive connections as needed (up to --connections), and reports one JSON line:
  offered and acknowledged spans/s, ack latency p50/p90/p99/max (ms) of the 200s, counts of
  503/429 answers (with whether they carried Retry-After) and of other failures, and the server's
  peak resident memory (from /proc/PID/status VmHWM, when --server-pid is given).
A 503/429 is not retried (open loop): the point is to see the server refuse what it cannot take.
Acknowledged span counts are also written to --acked FILE (one line per acknowledged batch file
name, repeated as often as it was acknowledged) so a caller can compare with the store.
"""
import argparse, asyncio, json, os, time


def load(data, limit):
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    names = sorted(f for f in os.listdir(os.path.join(data, "otlp")) if f.endswith(".pb"))
    if limit:
        names = names[:limit]
    batches = []
    for n in names:
        body = open(os.path.join(data, "otlp", n), "rb").read()
        batches.append((n, body, None))
    return manifest, batches


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if n:
        await reader.readexactly(n)
    return status, headers


async def main(a):
    manifest, batches = load(a.data, a.limit)
    spans_per_batch = manifest.get("batch") or a.spans_per_batch
    rate = a.spans_per_s / spans_per_batch  # requests per second
    interval = 1.0 / rate
    total = int(a.seconds * rate)
    pool = asyncio.Queue()
    for _ in range(a.connections):
        pool.put_nowait(None)
    lat, refused, refused_with_retry, failed, acked_batches = [], 0, 0, 0, []

    async def one(i, name, body):
        nonlocal refused, refused_with_retry, failed
        conn = await pool.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(a.host, a.port)
            reader, writer = conn
            t0 = time.perf_counter()
            writer.write(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            status, headers = await read_response(reader)
            dt = time.perf_counter() - t0
            if status == 200:
                lat.append(dt)
                acked_batches.append(name)
            elif status in (429, 503):
                refused += 1
                refused_with_retry += "retry-after" in headers
            else:
                failed += 1
            pool.put_nowait(conn)
        except Exception:
            failed += 1
            pool.put_nowait(None)

    tasks = []
    start = time.perf_counter()
    for i in range(total):
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        name, body, _ = batches[i % len(batches)]
        tasks.append(asyncio.create_task(one(i, name, body)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    lat.sort()
    q = lambda p: round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
    peak = None
    if a.server_pid:
        for line in open(f"/proc/{a.server_pid}/status"):
            if line.startswith("VmHWM"):
                peak = int(line.split()[1]) // 1024
    if a.acked:
        with open(a.acked, "w") as f:
            f.write("\n".join(acked_batches) + ("\n" if acked_batches else ""))
    print(json.dumps({
        "offered_spans_per_s": a.spans_per_s, "seconds": round(wall, 2), "requests": total,
        "acked_spans_per_s": round(len(lat) * spans_per_batch / wall), "acked_requests": len(lat),
        "ack_ms_p50": q(0.50), "ack_ms_p90": q(0.90), "ack_ms_p99": q(0.99), "ack_ms_max": round(1000 * lat[-1], 2) if lat else None,
        "refused_503_429": refused, "refused_with_retry_after": refused_with_retry, "failed": failed,
        "server_peak_rss_mib": peak,
    }))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="output dir of gen_spans.py")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4318)
    ap.add_argument("--spans-per-s", type=float, required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--limit", type=int, help="only the first N batch files")
    ap.add_argument("--spans-per-batch", type=int, default=512, help="when manifest.json does not say (its `batch`)")
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--acked", help="write the names of acknowledged batch files here")
    asyncio.run(main(ap.parse_args()))
