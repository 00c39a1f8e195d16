#!/usr/bin/env python3
"""Scale-out benchmark: one, two and three r2-relay instances sharing a PostgreSQL ledger deliver
one bucket into one inbox; also what coordinating them costs per object (claims against a JMS work
queue). Started by `bench/run.sh --scaleout`, which starts S3Proxy; see bench/README.md."""

import argparse
import datetime
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the main benchmark's servers, filling and verification)

DELIVERED = re.compile(r" d\.r\.delivered - delivered ")
CLAIMS = re.compile(r'^r2relay_claims_total\{[^}]*result="(\w+)"[^}]*\}\s+([0-9.eE+]+)', re.M)


def psql(args, sql):
    out = subprocess.run(["psql", "-h", args.pg_host, "-p", str(args.pg_port), "-U", args.pg_user, "-d",
                          args.pg_database, "-qtAc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_claims(port):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/observe/metrics", timeout=10).read().decode()
    except OSError:
        return {}
    return {k: int(float(v)) for k, v in CLAIMS.findall(text)}


def run_instances(args, server, bucket, n, expected, tag):
    """n instances in service mode on one fresh schema; wall time from launch until the ledger holds
    every object, then a clean stop of all."""
    schema = f"r2relay_bench_{tag}"
    psql(args, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    work = os.path.join(args.out, "scaleout", tag)
    inbox = os.path.join(work, "inbox")
    bench.fresh(inbox)
    url = (f"jdbc:postgresql://{args.pg_host}:{args.pg_port}/{args.pg_database}?currentSchema={schema}")
    procs, ports, logs = [], [], []
    before = server.counter()
    t0 = time.monotonic()
    for i in range(n):
        port = free_port()
        env = bench.clean_env(dict(
            AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=server.access_key,
            AWS_SECRET_ACCESS_KEY=server.secret_key, R2_BUCKET=bucket, RELAY_INBOX=inbox, RELAY_STATE=url,
            RELAY_STATE_USERNAME=args.pg_user, RELAY_LOCAL_STATE=os.path.join(work, f"local-{i}"),
            RELAY_INSTANCE_NAME=f"i{i + 1}", RELAY_CONCURRENCY=str(args.concurrency),
            RELAY_POLL_INTERVAL="1000", RELAY_HTTP_SERVER_ENABLED="true", RELAY_HTTP_SERVER_PORT=str(port)))
        log_path = os.path.join(args.out, "logs", f"scaleout-{tag}-i{i + 1}.log")
        log = open(log_path, "w")
        procs.append(subprocess.Popen(["java", "-jar", os.path.join(args.repo, "target/r2-relay.jar"), "run"],
                                      env=env, cwd=args.repo, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        ports.append(port)
        logs.append((log, log_path))
    done = None
    deadline = t0 + args.timeout
    try:
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break
            try:
                if int(psql(args, f"SELECT COUNT(*) FROM {schema}.relay_ledger WHERE outcome = 'DELIVERED'")
                       or 0) >= expected["count"]:
                    done = time.monotonic() - t0
                    break
            except subprocess.CalledProcessError:
                pass  # the tables do not exist until the first instance has started
            time.sleep(0.2)
        claims = {}
        for port in ports:
            for k, v in scrape_claims(port).items():
                claims[k] = claims.get(k, 0) + v
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for log, _ in logs:
            log.close()
    requests = bench.delta(before, server.counter())
    shares = []
    first = []
    for _, path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        shares.append(len(DELIVERED.findall(text)))
        m = re.search(r"^(\d\d:\d\d:\d\d\.\d{3}) INFO .* d\.r\.delivered - delivered ", text, re.M)
        if m:
            first.append(m.group(1))
    verified = bench.verify(inbox, expected) if done is not None else "did not finish"
    if sum(shares) != expected["count"]:
        verified += f"; {sum(shares)} delivery lines for {expected['count']} objects"
    psql(args, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    bench.shutil.rmtree(work, ignore_errors=True)
    return dict(wall=done, shares=shares, claims=claims, requests=requests, verified=verified)


def coordination_cost(args):
    schema = "r2relay_bench_coordination"
    psql(args, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    url = f"jdbc:postgresql://{args.pg_host}:{args.pg_port}/{args.pg_database}?currentSchema={schema}"
    folder = os.path.join(args.out, "coordination")
    try:
        out = subprocess.run(["java", "-cp", f"{args.repo}/target/classes:{args.repo}/target/lib/*",
                              os.path.join(args.repo, "bench/CoordinationCost.java"), url, args.pg_user,
                              str(args.coordination_objects), str(args.concurrency), folder],
                             check=True, capture_output=True, text=True, timeout=900)
        line = [l for l in out.stdout.splitlines() if l.startswith("coordination:")]
        return line[0] if line else out.stdout[-500:]
    finally:
        psql(args, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        bench.shutil.rmtree(folder, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--objects", type=int, default=5000)
    p.add_argument("--size", type=bench.parse_size, default=4 * bench.KIB)
    p.add_argument("--instances", default="1,2,3")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--coordination-objects", type=int, default=5000)
    p.add_argument("--timeout", type=int, default=900, help="seconds one run may take")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-database", default="test")
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--repo", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--s3proxy-endpoint", required=True)
    p.add_argument("--s3proxy-metrics", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    args, _ignored = p.parse_known_args()  # run.sh passes the main benchmark's options too
    started = time.time()
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    server = bench.Server("s3proxy", args.s3proxy_endpoint, args.access_key, args.secret_key, "S3Proxy",
                          bench.s3proxy_counter(args.s3proxy_metrics))
    bucket = "bench-scaleout"
    case = dict(count=args.objects, size=args.size, prefix="obj-")
    bench.progress(f"filling {bucket} with {args.objects:,} × {bench.human(args.size)} ...")
    t = time.monotonic()
    expected = bench.fill_many(server, bucket, case, 16)
    bench.progress(f" {time.monotonic() - t:.1f} s\n")

    counts = [int(x) for x in args.instances.split(",")]
    results = {n: [] for n in counts}
    for r in range(args.rounds):
        order = counts[r % len(counts):] + counts[:r % len(counts)]
        for n in order:
            bench.progress(f"  round {r + 1}/{args.rounds}: {n} instance(s) ...")
            res = run_instances(args, server, bucket, n, expected, f"n{n}r{r + 1}")
            wall = "n/a" if res["wall"] is None else f"{res['wall']:.2f} s"
            bench.progress(f" {wall}, shares {res['shares']}, {res['verified']}\n")
            results[n].append(res)
    bench.progress("coordination cost (claims against a JMS work queue) ...")
    coordination = coordination_cost(args)
    bench.progress(f" {coordination}\n")

    lines = [f"# r2-relay scale-out benchmark, {datetime.date.today()}", ""]
    lines.append(f"- machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; load average at"
                 f" end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    lines.append(f"- bucket: {args.objects:,} objects of {bench.human(args.size)} on S3Proxy 3.0.0 (filesystem),"
                 f" one shared inbox, PostgreSQL ledger on this machine; relay.concurrency={args.concurrency}"
                 f" per instance; {args.rounds} rounds, alternating the instance counts")
    lines.append("- wall time: from launching the instances (JVM start included) until the ledger holds every"
                 " object; median of the rounds")
    lines.append(f"- benchmark time: {(time.time() - started) / 60:.1f} min")
    lines.append("")
    lines.append("| instances | wall s (median) | runs | objects/s | × one instance | deliveries per instance"
                 " (last run) | claims held / settled elsewhere / taken over (last run) | GET | list requests"
                 " | verified |")
    lines.append("|---:|---:|---|---:|---:|---|---|---:|---:|---|")
    base = None
    for n in counts:
        runs = [x for x in results[n] if x["wall"] is not None]
        if not runs:
            lines.append(f"| {n} | – | – | – | – | – | – | – | – | {results[n][-1]['verified']} |")
            continue
        med = statistics.median(x["wall"] for x in runs)
        base = base or (med if n == counts[0] else None)
        last = results[n][-1]
        c = last["claims"]
        walls = ", ".join(f"{x['wall']:.2f}" for x in runs)
        lines.append(
            f"| {n} | {med:.2f} | {walls} | {args.objects / med:,.0f}"
            f" | {(base / med if base else 1):.2f}x | {' / '.join(str(s) for s in last['shares'])}"
            f" | {c.get('held', 0)} / {c.get('settled', 0)} / {c.get('taken_over', 0)}"
            f" | {last['requests'].get('GetObject', 0)} | {last['requests'].get('ListObjectsV2', 0)}"
            f" | {'; '.join(sorted(set(x['verified'] for x in results[n])))} |")
    lines.append("")
    lines.append(f"Coordination cost, measured separately ({args.concurrency} threads, warm JVM): {coordination}")
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, f"{datetime.date.today()}-scaleout.md")
    with open(path, "w") as f:
        f.write(report)
    print(f"saved {path}")
    return 0 if all(x["verified"] == "ok" for rs in results.values() for x in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
