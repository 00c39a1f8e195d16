#!/usr/bin/env python3
"""Fills the benchmark buckets, runs every tool on every case in alternation, verifies what each
tool wrote, and prints (and saves) a Markdown report. Started by bench/run.sh, which installs the
tools and starts the servers; see bench/README.md."""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import zlib

import boto3
from botocore.config import Config

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# --------------------------------------------------------------------------------------------
# Cases and sizes


def sizes(args):
    """The four cases (a)-(d) with the sizes of this run."""
    return {
        "a": dict(title="(a) many small objects", count=args.a_count, size=args.a_size, prefix="obj-"),
        "b": dict(title="(b) medium objects", count=args.b_count, size=args.b_size, prefix="obj-"),
        "c": dict(title="(c) one large object", count=1, size=args.c_size, prefix="large-"),
        "d": dict(title="(d) re-poll of an up-to-date bucket", count=args.d_count, size=args.d_size,
                  prefix="obj-"),
    }


def human(n):
    for unit, div in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def parse_size(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]i?B?)?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    mult = {"": 1, "K": KIB, "M": MIB, "G": GIB}[(m.group(2) or "")[:1].upper()]
    return int(m.group(1)) * mult


# --------------------------------------------------------------------------------------------
# Servers


class Server:
    """An S3-compatible server the tools read from, and how to count the requests it served."""

    def __init__(self, name, endpoint, access_key, secret_key, label, counter):
        self.name = name
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.label = label
        self.counter = counter  # callable returning {operation: count}, cumulative

    def s3(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
            config=Config(request_checksum_calculation="when_required",
                          response_checksum_validation="when_required",
                          max_pool_connections=32, s3={"addressing_style": "path"},
                          retries={"max_attempts": 5, "mode": "standard"}))


METRIC = re.compile(r'^http_server_request_duration_seconds_count\{([^}]*)\}\s+([0-9.eE+]+)', re.M)


def s3proxy_counter(metrics_url):
    """S3Proxy 3's own request metrics (OpenTelemetry, Prometheus text): counts by operation."""
    def count():
        text = urllib.request.urlopen(metrics_url, timeout=30).read().decode()
        out = {}
        for labels, value in METRIC.findall(text):
            d = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            op = d.get("s3_operation") or d.get("http_request_method", "?")
            status = d.get("http_response_status_code", "")
            if status and not status.startswith("2"):
                op = f"{op}:{status}"
            out[op] = out.get(op, 0) + int(float(value))
        return out
    return count


MOTO_LINE = re.compile(r'"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


def moto_counter(log_path):
    """moto_server logs one access line per request; classify them into S3 operations."""
    def count():
        out = {}
        with open(log_path, errors="replace") as f:
            for method, path, status in MOTO_LINE.findall(f.read()):
                out_op = classify(method, path)
                if not status.startswith("2"):
                    out_op = f"{out_op}:{status}"
                out[out_op] = out.get(out_op, 0) + 1
        return out
    return count


def classify(method, path):
    path, _, query = path.partition("?")
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets" if method == "GET" else method
    if len(parts) == 1:
        if method == "GET":
            return "ListObjectsV2" if "list-type=2" in query else ("ListObjects" if not query or "prefix" in query
                                                                  or "marker" in query else "GetBucket?")
        return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, method + "Bucket")
    if method == "GET":
        return "GetObject"
    return {"HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, method + "Object")


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0) > 0}


# --------------------------------------------------------------------------------------------
# Filling


def content(seed, size):
    return random.Random(seed).randbytes(size)


def fill_many(server, bucket, case, threads):
    """count objects of size bytes, random content; returns the expected manifest. Large counts
    are put by several processes (boto3 is CPU-bound under the GIL), each with its own threads."""
    server.s3().create_bucket(Bucket=bucket)
    count = case["count"]
    procs = 1 if count < 5000 else max(2, min(4, os.cpu_count() or 2))
    slices = [(server.endpoint, server.access_key, server.secret_key, bucket, case["prefix"], case["size"],
               lo, min(count, lo + (count + procs - 1) // procs), threads) for lo in
              range(0, count, (count + procs - 1) // procs)]
    digests = {}
    if procs == 1:
        for sl in slices:
            digests.update(put_slice(sl))
    else:
        with concurrent.futures.ProcessPoolExecutor(procs) as pool:
            for part in pool.map(put_slice, slices):
                digests.update(part)
    return manifest(digests, count * case["size"])


def put_slice(job):
    endpoint, access_key, secret_key, bucket, prefix, size, lo, hi, threads = job
    s3 = Server("fill", endpoint, access_key, secret_key, "", None).s3()

    def put(i):
        key = f"{prefix}{i:06d}.bin"
        body = content(zlib.crc32(f"{bucket}/{i}".encode()), size)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return key, hashlib.sha256(body).hexdigest()

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(put, range(lo, hi), chunksize=64))


def fill_large(server, bucket, case, threads):
    """One object uploaded in 64 MiB parts (as large uploads to R2 are): a multipart ETag."""
    s3 = server.s3()
    s3.create_bucket(Bucket=bucket)
    key = f"{case['prefix']}000000.bin"
    size = case["size"]
    part = 64 * MIB
    h = hashlib.sha256()
    if size <= part:
        body = content(7, size)
        h.update(body)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return manifest({key: h.hexdigest()}, size)
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    try:
        with concurrent.futures.ThreadPoolExecutor(min(threads, 4)) as pool:
            pending = []
            for n, start in enumerate(range(0, size, part), start=1):
                body = content(1000 + n, min(part, size - start))
                h.update(body)
                pending.append(pool.submit(
                    lambda b=body, n=n: (n, s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n,
                                                           Body=b)["ETag"])))
                if len(pending) >= 4:  # at most a few parts in memory
                    parts.append(pending.pop(0).result())
            parts.extend(p.result() for p in pending)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(parts)]})
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    return manifest({key: h.hexdigest()}, size)


def manifest(digests, total):
    whole = hashlib.sha256()
    for key in sorted(digests):
        whole.update(f"{key}\0{digests[key]}\n".encode())
    return dict(count=len(digests), bytes=total, digest=whole.hexdigest(), files=digests)


# --------------------------------------------------------------------------------------------
# Verification


def scan(dest, with_digest):
    """Regular files below dest (hidden temporary files included: none may be left)."""
    digests = {}
    total = 0
    for root, _dirs, files in os.walk(dest):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, dest)
            total += os.path.getsize(path)
            if with_digest:
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(4 * MIB), b""):
                        h.update(chunk)
                digests[rel] = h.hexdigest()
            else:
                digests[rel] = ""
    return digests, total


def verify(dest, expected, with_digest=True):
    got, total = scan(dest, with_digest)
    problems = []
    if len(got) != expected["count"]:
        problems.append(f"{len(got)} files, expected {expected['count']}")
    if total != expected["bytes"]:
        problems.append(f"{total} bytes, expected {expected['bytes']}")
    if with_digest and not problems:
        if manifest(got, total)["digest"] != expected["digest"]:
            bad = [k for k in expected["files"] if got.get(k) != expected["files"][k]]
            problems.append(f"content differs ({len(bad)} file(s), e.g. {bad[:3]})")
    return "ok" if not problems else "; ".join(problems)


# --------------------------------------------------------------------------------------------
# Tools


class Tool:
    def __init__(self, name, label, argv, env, cwd=None, parse=None):
        self.name, self.label, self.argv, self.env, self.cwd, self.parse = name, label, argv, env, cwd, parse


def clean_env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "R2_", "RELAY_", "RCLONE_", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"))}
    env.update(extra)
    return env


RELAY_DONE = re.compile(r"one pass done \((\d+) object\(s\) queued\); stopping; requests (.*)$", re.M)
RELAY_READY = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) INFO .*? - r2-relay: ", re.M)
RELAY_LAST = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}) INFO .*one pass done", re.M)


def parse_relay(log, started_at):
    """The r2-relay log: its own request counts, and where the wall time went: start (launch to
    the start-up summary line), deliveries (to the 'one pass done' line), stop (the rest)."""
    out = {}
    m = RELAY_DONE.search(log)
    if m:
        out["queued"] = int(m.group(1))
        out["client"] = m.group(2).strip()
    t0 = datetime.datetime.fromtimestamp(started_at)

    def at(match):
        hh, mm, rest = match.group(1).split(":")
        ts = t0.replace(hour=int(hh), minute=int(mm), second=int(rest[:2]), microsecond=int(rest[3:]) * 1000)
        if ts < t0 - datetime.timedelta(seconds=1):
            ts += datetime.timedelta(days=1)
        return max(0.0, (ts - t0).total_seconds())

    ready = RELAY_READY.search(log)
    done = RELAY_LAST.search(log)
    if ready:
        out["startup"] = at(ready)
        if done:
            out["delivery"] = max(0.0, at(done) - out["startup"])
            out["done_at"] = at(done)
    out["warn"] = len(re.findall(r"^\S+ (WARN|ERROR) ", log, re.M))
    return out


def parse_raw(log, _started):
    m = re.search(r"raw: (.*)$", log, re.M)
    return {"client": m.group(1)} if m else {}


def tools_for(ctx, server, bucket, dest, state, case_id, incremental=False):
    """The tools of one case, each writing to dest."""
    base = dict(AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=server.access_key,
                AWS_SECRET_ACCESS_KEY=server.secret_key)
    relay_env = clean_env(dict(base, R2_BUCKET=bucket, RELAY_INBOX=dest, RELAY_STATE=state,
                               RELAY_CONCURRENCY=str(ctx.relay_concurrency), RELAY_LOG_LEVEL="INFO",
                               RELAY_POLL_INTERVAL="1000"))
    relay_argv = ["java"] + ctx.relay_jvm_opts + ["-jar", os.path.join(ctx.repo, "target/r2-relay.jar"),
                                                  "run", "--once"]
    rclone_env = clean_env(dict(
        RCLONE_CONFIG=os.path.join(ctx.out, "rclone-none.conf"), RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Other", RCLONE_CONFIG_BENCH_ENDPOINT=server.endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=server.access_key,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=server.secret_key,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true", RCLONE_CONFIG_BENCH_REGION="us-east-1"))
    aws_env = clean_env(dict(base, AWS_DEFAULT_REGION="us-east-1",
                             AWS_REQUEST_CHECKSUM_CALCULATION="when_required",
                             AWS_RESPONSE_CHECKSUM_VALIDATION="when_required",
                             AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull))
    aws_env.pop("AWS_ENDPOINT_URL", None)
    raw_env = clean_env(base)
    raw_argv = ["java"] + ctx.raw_jvm_opts + ["-cp", ctx.raw_classes, "RawGet", "--bucket", bucket,
                "--concurrency", str(ctx.raw_concurrency),
                "--threshold", str(ctx.multipart_threshold), "--part-size", str(ctx.part_size)]
    raw_argv += ["--list-only"] if case_id == "d" else ["--dest", dest]
    c = ctx.relay_concurrency
    tools = [
        Tool("r2relay", f"r2-relay (concurrency {c})", relay_argv, relay_env, ctx.repo, parse_relay),
    ]
    if case_id == "d":
        tools.append(Tool("r2relay-inc", "r2-relay RELAY_INCREMENTAL=true", relay_argv,
                          dict(relay_env, RELAY_INCREMENTAL="true"), ctx.repo, parse_relay))
    tools += [
        Tool("rclone", "rclone copy (defaults)", [ctx.rclone, "copy", f"bench:{bucket}", dest], rclone_env),
        Tool("rclone-eq", f"rclone copy --transfers {c}",
             [ctx.rclone, "copy", "--transfers", str(c), f"bench:{bucket}", dest], rclone_env),
        Tool("aws", "aws s3 sync (defaults)",
             [ctx.aws, "s3", "sync", f"s3://{bucket}", dest, "--endpoint-url", server.endpoint, "--no-progress",
              "--only-show-errors"], aws_env),
        Tool("raw", f"raw GET loop (RawGet, {ctx.raw_concurrency} threads)" if case_id != "d"
             else "raw: list only (RawGet --list-only)", raw_argv, raw_env, None, parse_raw),
    ]
    return [t for t in tools if t.name in ctx.tools or (t.name == "r2relay-inc" and "r2relay" in ctx.tools)]


RUNNING = []  # the tool process of the moment, stopped with the benchmark


def stop_running(signum, _frame):
    """SIGTERM or SIGINT: stop the running tool (its own process group) before exiting."""
    for proc in RUNNING:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    sys.exit(128 + signum)


def run_tool(ctx, server, tool, logname):
    """Runs one tool under GNU time; returns wall seconds, peak RSS, exit code, requests, log."""
    log_path = os.path.join(ctx.out, "logs", logname + ".log")
    time_path = log_path + ".time"
    before = server.counter()
    started = time.time()
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([ctx.gnu_time, "-f", "%e %M", "-o", time_path] + tool.argv, env=tool.env,
                                cwd=tool.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING.append(proc)
        try:
            rc = proc.wait(timeout=ctx.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = "timeout"
        finally:
            RUNNING.remove(proc)
    wall = time.monotonic() - t0
    after = server.counter()
    rss_kib = None
    try:
        with open(time_path) as f:
            fields = f.read().split()
            rss_kib = int(fields[-1])
    except (OSError, ValueError, IndexError):
        pass
    with open(log_path, errors="replace") as f:
        text = f.read()
    extra = tool.parse(text, started) if tool.parse else {}
    return dict(wall=wall, rss_mib=None if rss_kib is None else rss_kib / 1024, rc=rc,
                server=delta(before, after), log=log_path, **extra)


# --------------------------------------------------------------------------------------------
# Measuring


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def measure_case(ctx, server, case_id, case, expected, bucket):
    """Every tool on one case, ctx.rounds times, alternating tools (rotated start each round)."""
    results = {}
    scratch = os.path.join(ctx.out, "dest", server.name, case_id)
    primed = {}
    tools = tools_for(ctx, server, bucket, "", "", case_id)
    if case_id == "d":
        primed = prime_repoll(ctx, server, case, expected, bucket, scratch, results)
    for r in range(ctx.rounds):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for proto in order:
            if case_id == "d":
                dest, state = primed[proto.name]
            else:
                dest = os.path.join(scratch, proto.name, "inbox")
                state = os.path.join(scratch, proto.name, "state")
                fresh(dest)
                fresh(state)
            tool = [t for t in tools_for(ctx, server, bucket, dest, state, case_id) if t.name == proto.name][0]
            progress(f"  {server.name} {case_id} round {r + 1}/{ctx.rounds}: {tool.label} ...")
            res = run_tool(ctx, server, tool, f"{server.name}-{case_id}-{tool.name}-r{r + 1}")
            if tool.name == "raw" and case_id == "d":
                res["verified"] = "ok (listed)" if f"listed={case['count']}" in res.get("client", "") \
                    else "listing incomplete"
            else:
                res["verified"] = verify(dest, expected, with_digest=(case_id != "d"))
            if case_id == "d" and tool.name.startswith("r2relay") and res.get("queued", 0) != 0:
                res["verified"] += f"; queued {res.get('queued')} (expected 0)"
            if res["rc"] != 0:
                res["verified"] = f"exit {res['rc']}; " + res["verified"]
            progress(f" {res['wall']:.2f} s, {fmt_rss(res['rss_mib'])} MiB, {res['verified']}\n")
            results.setdefault(tool.name, dict(label=tool.label, runs=[]))["runs"].append(res)
            if case_id != "d":
                shutil.rmtree(os.path.join(scratch, tool.name), ignore_errors=True)
    if case_id == "d":
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def prime_repoll(ctx, server, case, expected, bucket, scratch, results):
    """(d): each tool's first full copy of the bucket, recorded as informational rows, then one
    incremental r2-relay pass that saves its listing position (the measured passes start after it)."""
    primed = {}
    shared_rclone = os.path.join(scratch, "rclone", "inbox")
    relay_dest = os.path.join(scratch, "r2relay", "inbox")
    relay_state = os.path.join(scratch, "r2relay", "state")
    for name in ("r2relay", "rclone", "aws"):
        if name not in ctx.tools and not (name == "rclone" and "rclone-eq" in ctx.tools):
            continue
        dest = {"r2relay": relay_dest, "rclone": shared_rclone}.get(name, os.path.join(scratch, name, "inbox"))
        state = relay_state if name == "r2relay" else os.path.join(scratch, name, "state")
        fresh(dest)
        fresh(state)
        tool = [t for t in tools_for(ctx, server, bucket, dest, state, "d") if t.name == name][0]
        if name == "r2relay":
            tool.env = dict(tool.env, RELAY_INCREMENTAL="true")
        progress(f"  {server.name} d: first copy with {tool.label} ...")
        res = run_tool(ctx, server, tool, f"{server.name}-d0-{name}")
        res["verified"] = verify(dest, expected, with_digest=True)
        if res["rc"] != 0:
            res["verified"] = f"exit {res['rc']}; " + res["verified"]
        progress(f" {res['wall']:.2f} s, {res['verified']}\n")
        results.setdefault("first-" + name, dict(label=f"first copy: {tool.label}", runs=[], info=True))[
            "runs"].append(res)
    if "r2relay" in ctx.tools:
        tool = [t for t in tools_for(ctx, server, bucket, relay_dest, relay_state, "d") if t.name == "r2relay-inc"][0]
        progress(f"  {server.name} d: incremental pass that saves the listing position ...")
        res = run_tool(ctx, server, tool, f"{server.name}-d0-r2relay-cursor")
        res["verified"] = "ok" if res["rc"] == 0 and res.get("queued") == 0 else f"exit {res['rc']}"
        progress(f" {res['wall']:.2f} s, {res['verified']}\n")
        results.setdefault("cursor", dict(label="r2-relay incremental pass that saves the cursor", runs=[],
                                          info=True))["runs"].append(res)
    for name in ("r2relay", "r2relay-inc"):
        primed[name] = (relay_dest, relay_state)
    primed["rclone"] = primed["rclone-eq"] = (shared_rclone, os.path.join(scratch, "rclone", "state"))
    primed["aws"] = (os.path.join(scratch, "aws", "inbox"), os.path.join(scratch, "aws", "state"))
    primed["raw"] = (os.path.join(scratch, "raw", "inbox"), os.path.join(scratch, "raw", "state"))
    return primed


def progress(text):
    sys.stderr.write(text)
    sys.stderr.flush()


def fmt_rss(v):
    return "?" if v is None else f"{v:.0f}"


# --------------------------------------------------------------------------------------------
# Report


def summarize(tool):
    runs = tool["runs"]
    ok = [r for r in runs if r["verified"].startswith("ok")]
    use = ok or runs
    walls = [r["wall"] for r in use]
    rss = [r["rss_mib"] for r in runs if r["rss_mib"] is not None]
    server_counts = [json.dumps(r["server"], sort_keys=True) for r in runs]
    return dict(
        wall=statistics.median(walls), walls=[r["wall"] for r in runs], n_ok=len(ok), n=len(runs),
        rss=max(rss) if rss else None, server=runs[-1]["server"], server_varies=len(set(server_counts)) > 1,
        client=runs[-1].get("client"), startup=median_of(use, "startup"), delivery=median_of(use, "delivery"),
        stop=median_of([dict(r, stop=r["wall"] - r["done_at"]) for r in use if "done_at" in r], "stop"),
        verified="ok" if len(ok) == len(runs) else "; ".join(sorted({r["verified"] for r in runs if
                                                                      not r["verified"].startswith("ok")})),
        warn=max((r.get("warn", 0) for r in runs), default=0))


def median_of(runs, key):
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def fmt_requests(counts):
    if not counts:
        return "none"
    short = {"ListObjectsV2": "List", "GetObject": "Get", "HeadObject": "Head", "ListObjects": "ListV1",
             "HeadBucket": "HeadBucket"}
    return " ".join(f"{short.get(k.split(':')[0], k.split(':')[0])}{':' + k.split(':')[1] if ':' in k else ''}"
                    f"={v}" for k, v in sorted(counts.items()))


def ratio(reference, wall):
    if reference is None or not wall:
        return "–"
    return f"{reference / wall:.2f}x"


def case_table(case_id, case, results):
    lines = []
    lines.append("| tool | wall s (median) | runs | objects/s | MB/s | peak RSS MiB | requests seen by the server "
                 "| r2-relay's own count | × rclone defaults | × rclone equal conc. | × raw | verified |")
    lines.append("|---|---:|---|---:|---:|---:|---|---|---:|---:|---:|---|")
    summary = {name: summarize(t) for name, t in results.items()}
    ref = {k: summary[k]["wall"] if k in summary else None for k in ("rclone", "rclone-eq", "raw")}
    total = case["count"] * case["size"]
    for name, t in results.items():
        s = summary[name]
        info = t.get("info")
        walls = ", ".join(f"{w:.2f}" for w in s["walls"])
        objs = case["count"] / s["wall"] if s["wall"] else 0
        mbs = (total / 1e6) / s["wall"] if s["wall"] and case_id != "d" else None
        client = s["client"] or ""
        if s["startup"] is not None:
            client += f"; start {s['startup']:.1f} s"
        if s["delivery"] is not None:
            client += f", pass {s['delivery']:.1f} s"
            if s["delivery"] > 0 and (case_id in ("a", "b") and not info or name == "first-r2relay"):
                client += f" ({case['count'] / s['delivery']:,.0f} objects/s)"
            elif s["delivery"] > 0 and case_id == "c":
                client += f" ({total / 1e6 / s['delivery']:,.1f} MB/s)"
        if s["stop"] is not None:
            client += f", stop {s['stop']:.1f} s"
        req = fmt_requests(s["server"]) + (" (varied between runs)" if s["server_varies"] else "")
        warn = f" ({s['warn']} WARN/ERROR lines)" if s["warn"] else ""
        lines.append(
            f"| {t['label']}{' (informational)' if info else ''} | {s['wall']:.2f} | {walls} | {objs:,.0f} | "
            f"{'–' if mbs is None else f'{mbs:,.1f}'} | {fmt_rss(s['rss'])} | {req} | {client or '–'} | "
            f"{'–' if info else ratio(ref['rclone'], s['wall'])} | "
            f"{'–' if info else ratio(ref['rclone-eq'], s['wall'])} | "
            f"{'–' if info else ratio(ref['raw'], s['wall'])} | {s['verified']}{warn} |")
    return lines, summary


def targets(case_id, case, summary):
    """The issue's targets for r2-relay, checked on this run's medians."""
    out = []
    r = summary.get("r2relay")
    if r is None:
        return out

    def x(ref):
        s = summary.get(ref)
        return None if s is None else s["wall"] / r["wall"]

    def check(label, value, goal, fmt="{:.2f}x"):
        if value is None:
            out.append(f"- {label}: not measured (goal {goal})")
        else:
            out.append(f"- {label}: {fmt.format(value)} (goal {goal}) — {'met' if value_ok(value, goal) else 'NOT met'}")

    if case_id in ("a", "b"):
        check("r2-relay vs rclone defaults", x("rclone"), "≥ 1.5x")
        check("r2-relay vs rclone at equal concurrency", x("rclone-eq"), "≥ 1.0x")
        check("r2-relay vs raw limit", x("raw"), "≥ 0.8x")
    elif case_id == "c":
        check("r2-relay vs raw limit", x("raw"), "≥ 0.9x")
        check("r2-relay peak RSS", r["rss"], "< 400 MiB", "{:.0f} MiB")
    elif case_id == "d":
        for name, label in (("r2relay", "r2-relay re-poll"), ("r2relay-inc", "r2-relay incremental re-poll")):
            s = summary.get(name)
            if s is None:
                continue
            gets = sum(v for k, v in s["server"].items() if k.startswith("GetObject"))
            lists = sum(v for k, v in s["server"].items() if k.startswith("ListObjects"))
            per_k = lists / (case["count"] / 1000)
            goal = "1 list request" if name == "r2relay-inc" else "≤ 1 list request per 1,000 objects"
            met = gets == 0 and (lists <= 1 if name == "r2relay-inc" else per_k <= 1.0)
            out.append(f"- {label}: {gets} GET, {lists} list request(s) for {case['count']:,} objects "
                       f"({per_k:.2f} per 1,000) (goal: no GET, {goal}) — {'met' if met else 'NOT met'}"
                       + (f"; {lists - 1} without the start-up bucket check (a 1-key listing)" if lists else ""))
    return out


def value_ok(value, goal):
    num = float(re.search(r"[\d.]+", goal).group(0))
    return value >= num if "≥" in goal else value < num


def moto_version():
    try:
        import moto
        return moto.__version__
    except ImportError:
        return "?"


def machine_info(ctx):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
        except Exception as e:  # noqa: BLE001
            return f"? ({e})"
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    with open("/proc/loadavg") as f:
        load_now = " ".join(f.read().split()[:3])
    mem = sh("free -g | awk '/^Mem:/ {print $2}'")
    return [
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {sh('nproc')} CPUs ({cpu}), {mem} GiB memory, {platform.system()} {platform.release()}",
        f"- load average at start: {ctx.load_start}; at end: {load_now}",
        f"- Java: {sh('java -version 2>&1 | head -1')}",
        f"- r2-relay: {sh(f'git -C {ctx.repo} rev-parse --short HEAD')} "
        f"({sh(f'git -C {ctx.repo} status --porcelain -- src routes pom.xml | wc -l')} uncommitted source changes), "
        f"relay.concurrency={ctx.relay_concurrency}, multipart threshold {human(ctx.multipart_threshold)}, "
        f"part size {human(ctx.part_size)}",
        f"- rclone: {sh(ctx.rclone + ' version | head -1')}",
        f"- aws: {sh(ctx.aws + ' --version 2>&1')}",
        f"- boto3 {boto3.__version__}; S3Proxy 3.0.0 standalone (filesystem backend, SigV4 checked); "
        f"moto_server {moto_version()} (in memory)",
    ]


# --------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, 1 round: checks the benchmark works")
    p.add_argument("--rounds", type=int)
    p.add_argument("--cases", default="a,b,c,d")
    p.add_argument("--servers", default="s3proxy,moto")
    p.add_argument("--moto-cases", default="a,b", help="moto keeps objects in memory: small cases only")
    p.add_argument("--tools", default="r2relay,rclone,rclone-eq,aws,raw")
    p.add_argument("--a-count", type=int)
    p.add_argument("--a-size", type=parse_size)
    p.add_argument("--b-count", type=int)
    p.add_argument("--b-size", type=parse_size)
    p.add_argument("--c-size", type=parse_size)
    p.add_argument("--d-count", type=int)
    p.add_argument("--d-size", type=parse_size, default=64)
    p.add_argument("--relay-concurrency", type=int, default=16)
    p.add_argument("--raw-concurrency", type=int, default=16)
    p.add_argument("--multipart-threshold", type=parse_size, default=64 * MIB)
    p.add_argument("--part-size", type=parse_size, default=16 * MIB)
    p.add_argument("--relay-jvm-opts", default="", help="extra JVM options for r2-relay (default: none)")
    p.add_argument("--raw-jvm-opts", default="", help="extra JVM options for RawGet (default: none)")
    p.add_argument("--fill-threads", type=int, default=16)
    p.add_argument("--timeout", type=int, default=7200, help="seconds one tool run may take")
    p.add_argument("--s3proxy-endpoint")
    p.add_argument("--s3proxy-metrics")
    p.add_argument("--s3proxy-latency", type=int, default=0,
                   help="ms S3Proxy waits before each GET and listing (run.sh configures it; 0: none)")
    p.add_argument("--s3proxy-data", help="S3Proxy's folder: (c)'s object is removed once measured")
    p.add_argument("--moto-endpoint")
    p.add_argument("--moto-log")
    p.add_argument("--access-key", default="bench")
    p.add_argument("--secret-key", default="bench-secret")
    p.add_argument("--repo", required=True)
    p.add_argument("--out", required=True, help="scratch folder (buckets' copies, logs)")
    p.add_argument("--results", required=True, help="folder of the Markdown results")
    p.add_argument("--raw-classes", required=True)
    p.add_argument("--rclone", default="rclone")
    p.add_argument("--aws", default="aws")
    p.add_argument("--gnu-time", default="/usr/bin/time")
    ctx = p.parse_args()
    signal.signal(signal.SIGTERM, stop_running)
    signal.signal(signal.SIGINT, stop_running)
    q = ctx.quick
    defaults = dict(rounds=2 if q else 3, a_count=200 if q else 10_000, a_size=4 * KIB, b_count=20 if q else 200,
                    b_size=MIB, c_size=96 * MIB if q else 2 * GIB, d_count=2_000 if q else 20_000)
    for k, v in defaults.items():
        if getattr(ctx, k) is None:
            setattr(ctx, k, v)
    ctx.tools = set(ctx.tools.split(","))
    ctx.relay_jvm_opts = ctx.relay_jvm_opts.split()
    ctx.raw_jvm_opts = ctx.raw_jvm_opts.split()
    ctx.load_start = open("/proc/loadavg").read().split()[:3]
    ctx.load_start = " ".join(ctx.load_start)
    os.makedirs(os.path.join(ctx.out, "logs"), exist_ok=True)

    servers = []
    if "s3proxy" in ctx.servers.split(",") and ctx.s3proxy_endpoint:
        servers.append((Server("s3proxy", ctx.s3proxy_endpoint, ctx.access_key, ctx.secret_key,
                               "S3Proxy 3.0.0 standalone, filesystem backend" + (
                                   f", {ctx.s3proxy_latency} ms added to every GET and listing"
                                   if ctx.s3proxy_latency else ""),
                               s3proxy_counter(ctx.s3proxy_metrics)), ctx.cases.split(",")))
    if "moto" in ctx.servers.split(",") and ctx.moto_endpoint:
        servers.append((Server("moto", ctx.moto_endpoint, ctx.access_key, ctx.secret_key,
                               "moto_server, in memory", moto_counter(ctx.moto_log)),
                        [c for c in ctx.cases.split(",") if c in ctx.moto_cases.split(",")]))

    cases = sizes(ctx)
    started = time.monotonic()
    report = {}
    for server, case_ids in servers:
        for case_id in case_ids:
            case = cases[case_id]
            bucket = f"bench-{case_id}"
            progress(f"{server.name}: filling {bucket} with {case['count']:,} × {human(case['size'])} ...")
            t0 = time.monotonic()
            if case_id == "c":
                expected = fill_large(server, bucket, case, ctx.fill_threads)
            else:
                expected = fill_many(server, bucket, case, ctx.fill_threads)
            progress(f" {time.monotonic() - t0:.1f} s\n")
            report[(server.name, case_id)] = measure_case(ctx, server, case_id, case, expected, bucket)
            if case_id == "c" and server.name == "s3proxy" and ctx.s3proxy_data:
                # the large object is not needed any more: free its disk space now
                shutil.rmtree(os.path.join(ctx.s3proxy_data, bucket), ignore_errors=True)
    elapsed = time.monotonic() - started

    md = []
    stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    kind = "QUICK run (small sizes, " + ("1 round" if ctx.rounds == 1 else f"{ctx.rounds} rounds") + \
        ") — checks that the benchmark works; the figures are NOT results" if q else \
        f"full run, {ctx.rounds} rounds, median wall time"
    md.append(f"# r2-relay benchmark, {stamp}: {kind}")
    md.append("")
    cpus = os.cpu_count() or 1
    if float(ctx.load_start.split()[0]) > cpus:
        md.append(f"**Loaded machine**: the load average was {ctx.load_start} on {cpus} CPUs when the run "
                  "started (other work was running), so every figure below is distorted, r2-relay's JVM "
                  "start most of all.")
        md.append("")
    md += machine_info(ctx)
    md.append(f"- benchmark time: {elapsed / 60:.1f} min (filling, first copies and verification included)")
    md.append("")
    md.append("Wall time is the whole command (JVM start included for r2-relay and RawGet), median over the "
              "verified runs; the runs column lists every run in order. objects/s and MB/s (10^6 bytes) derive "
              "from the median. Peak RSS is the largest of the runs (GNU time %M). Requests are counted by "
              "the server (S3Proxy's metrics, moto's access log) for every tool; r2-relay's own count is "
              "its end-of-run log line, followed by where its wall time went (medians): start = launch to its "
              "start-up summary line (JVM, Camel, bucket check), pass = listing and deliveries until "
              "'one pass done', stop = Camel's shutdown and the JVM's exit. Ratios are the other tool's median wall time over this tool's: above "
              "1 means faster than the reference. Every run's output was checked: file count, total bytes "
              "and a SHA-256 of every file ((d): count and bytes).")
    for server, case_ids in servers:
        md.append("")
        md.append(f"## {server.label}")
        if server.name == "moto":
            md.append("")
            md.append("moto keeps objects in memory, so only the small and medium cases run against it; it logs "
                      "every request, which slows it equally for every tool.")
        for case_id in case_ids:
            case = cases[case_id]
            results = report[(server.name, case_id)]
            md.append("")
            what = f"{case['count']:,} objects of {human(case['size'])}"
            md.append(f"### {case['title']}: {what}")
            md.append("")
            lines, summary = case_table(case_id, case, results)
            md += lines
            t = targets(case_id, case, summary)
            if t:
                md.append("")
                md.append("Targets" + (" (indicative only: quick sizes on a loaded machine)" if q else "") + ":")
                md += t
    text = "\n".join(md) + "\n"
    print(text)
    os.makedirs(ctx.results, exist_ok=True)
    name = f"{stamp}-quick.md" if q else f"{stamp}.md"
    path = os.path.join(ctx.results, name)
    with open(path, "w") as f:
        f.write(text)
    progress(f"saved {path}\n")
    bad = [1 for (_s, _c), res in report.items() for t in res.values() for r in t["runs"]
           if not r["verified"].startswith("ok")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
