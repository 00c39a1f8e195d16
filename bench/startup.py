#!/usr/bin/env python3
"""Start-up benchmark: how long `java -jar target/r2-relay.jar run` takes from launch until its
routes are started and it is ready to deliver, against S3Proxy (an empty bucket) and on the
embedded stand-in. Started by `bench/run.sh --startup`; see bench/README.md."""

import argparse
import datetime
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

READY = re.compile(r"Apache Camel \S+ \(r2-relay\) started in")
SUMMARY = re.compile(r" d\.r2relay - r2-relay: ")
STAND_IN = re.compile(r"No R2 endpoint configured")


def launch(args, env, work):
    """Seconds from launch to the summary line and to 'started', then a clean stop."""
    t0 = time.monotonic()
    proc = subprocess.Popen(["java", "-jar", os.path.join(args.repo, "target/r2-relay.jar"), "run"], env=env,
                            cwd=args.repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    marks = {}
    try:
        for line in proc.stderr:
            now = time.monotonic() - t0
            if STAND_IN.search(line) and "stand-in" not in marks:
                marks["stand-in"] = now
            if SUMMARY.search(line) and "summary" not in marks:
                marks["summary"] = now
            if READY.search(line):
                marks["ready"] = now
                break
            if now > 120:
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    return marks


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--startup-rounds", type=int, default=5)
    p.add_argument("--repo", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--s3proxy-endpoint", required=True)
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    args, _ignored = p.parse_known_args()
    server = bench.Server("s3proxy", args.s3proxy_endpoint, args.access_key, args.secret_key, "S3Proxy", None)
    server.s3().create_bucket(Bucket="bench-startup")
    runs = {"S3Proxy (empty bucket)": [], "embedded stand-in (samples/)": []}
    for r in range(args.startup_rounds):
        for label in runs:
            work = os.path.join(args.out, "startup", f"{r}")
            os.makedirs(work, exist_ok=True)
            extra = dict(RELAY_INBOX=os.path.join(work, "inbox"), RELAY_STATE=os.path.join(work, "state"),
                         RELAY_POLL_INTERVAL="60000")
            if label.startswith("S3Proxy"):
                extra.update(AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=server.access_key,
                             AWS_SECRET_ACCESS_KEY=server.secret_key, R2_BUCKET="bench-startup")
            else:
                extra.update(RELAY_EMBEDDED_PORT="0")
            marks = launch(args, bench.clean_env(extra), work)
            bench.progress(f"  round {r + 1}/{args.startup_rounds}: {label}: "
                           + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()) + "\n")
            runs[label].append(marks)
    lines = [f"# r2-relay start-up, {datetime.date.today()}", "",
             f"- machine: {os.cpu_count()} CPUs; `java -jar target/r2-relay.jar run`, JVM defaults;"
             f" {args.startup_rounds} launches each, alternating; medians",
             "- summary: launch to the start-up summary line (settings read, S3 client built, ledger opened,"
             " bucket checked); ready: launch to Camel's 'started' line (routes running, the first poll"
             " begins)", "",
             "| where | stand-in started s | summary s | ready s | ready, each run |", "|---|---:|---:|---:|---|"]
    for label, marks in runs.items():
        def med(key):
            values = [m[key] for m in marks if key in m]
            return f"{statistics.median(values):.2f}" if values else "–"
        each = ", ".join(f"{m['ready']:.2f}" if "ready" in m else "n/a" for m in marks)
        lines.append(f"| {label} | {med('stand-in')} | {med('summary')} | {med('ready')} | {each} |")
    report = "\n".join(lines) + "\n"
    print(report)
    path = os.path.join(args.results, f"{datetime.date.today()}-startup.md")
    with open(path, "w") as f:
        f.write(report)
    print(f"saved {path}")
    return 0 if all("ready" in m for ms in runs.values() for m in ms) else 1


if __name__ == "__main__":
    sys.exit(main())
