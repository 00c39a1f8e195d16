#!/usr/bin/env bash
# The r2-relay benchmark: r2-relay against rclone, aws s3 sync and a raw GET loop, on a local
# S3Proxy (filesystem) and moto_server, all on 127.0.0.1. See bench/README.md.
#
#   bench/run.sh                  full run (10,000 x 4 KiB, 200 x 1 MiB, 2 GiB, re-poll of 20,000; --d-count 100000 for the issue's size)
#   bench/run.sh --quick          small sizes, one round: checks the benchmark works end to end
#   bench/run.sh --scaleout [scaleout.py options]  1, 2 and 3 instances on a PostgreSQL ledger
#   bench/run.sh --startup                      launch to ready, on S3Proxy and on the stand-in
#   bench/run.sh [--quick] [bench.py options]   e.g. --rounds 5 --cases a,b --servers s3proxy
#                                               --a-count 5000 --c-size 1G --keep
#                                               --s3proxy-latency 30 (ms per GET and listing)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

keep=false
keep_logs=false
script=bench.py
servers=s3proxy,moto
latency=0
args=()
prev=
for a in "$@"; do
  [ "$prev" = --servers ] && servers=$a
  [ "$prev" = --s3proxy-latency ] && latency=$a
  prev=$a
  case "$a" in
    --servers=*) servers=${a#--servers=}; args+=("$a") ;;
    --keep) keep=true ;;
    --scaleout) script=scaleout.py; servers=s3proxy ;;
    --startup) script=startup.py; servers=s3proxy ;;
    -h|--help) sed -n '2,9p' "$0"; python3 "$here/bench.py" --help | sed -n '/^options:/,$p'; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

say() { printf '%s\n' "bench: $*" >&2; }

# --- tools ------------------------------------------------------------------------------------
# the servers are plain HTTP on loopback: a CA bundle setting only breaks rclone (see CAMEL-TRAPS)
unset AWS_CA_BUNDLE

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq "$@" >/dev/null
  fi
}
command -v rclone >/dev/null || { say "installing rclone (Debian package)"; apt_install rclone; }
[ -x /usr/bin/time ] || { say "installing GNU time"; apt_install time; }
python3 -c 'import boto3' 2>/dev/null || { say "installing boto3 (Debian package)"; apt_install python3-boto3; }
command -v aws >/dev/null || { say "installing the AWS CLI (Debian package)"; apt_install awscli; }
# run the AWS CLI itself, not a version manager's shim, so that GNU time measures the CLI
aws_bin=$( (command -v pyenv >/dev/null && pyenv which aws 2>/dev/null) || command -v aws)

if [ ! -f target/r2-relay.jar ] || [ ! -d target/lib ]; then
  say "building target/r2-relay.jar"
  ./mvnw -q -B -o package -DskipTests || ./mvnw -q -B package -DskipTests
fi

out="$here/out/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/logs" "$out/classes" "$out/s3proxy-data"

cp_file="$here/out/s3proxy.classpath"
if [ ! -s "$cp_file" ]; then
  say "resolving S3Proxy's class path (bench/s3proxy/pom.xml)"
  ./mvnw -q -B -o -f bench/s3proxy/pom.xml dependency:build-classpath -Dmdep.outputFile="$cp_file" \
    || ./mvnw -q -B -f bench/s3proxy/pom.xml dependency:build-classpath -Dmdep.outputFile="$cp_file"
fi
javac -d "$out/classes" "$here/RawGet.java"

if [ "$script" = scaleout.py ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "starting PostgreSQL (the shared ledger of the scale-out runs)"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi

# --- servers ----------------------------------------------------------------------------------
pids=()
bench_pid=
cleanup() {
  local rc=$?
  # the measuring script first (it stops the tool it is running), then the servers
  if [ -n "$bench_pid" ]; then
    kill "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$keep" = true ]; then
    say "kept $out"
  elif [ "$keep_logs" = true ]; then
    rm -rf "$out/s3proxy-data" "$out/dest"
    say "kept the logs in $out/logs"
  else
    rm -rf "$out"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # name port pid
  for _ in $(seq 1 180); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $2), 1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || { say "$1 exited; see its log in $out/logs"; keep_logs=true; return 1; }
    sleep 1
  done
  say "$1 did not open port $2 within 180 s"; keep_logs=true; return 1
}

s3_port=$(free_port)
metrics_port=$(free_port)
cat > "$out/s3proxy.properties" <<PROPS
s3proxy.endpoint=http://127.0.0.1:$s3_port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench
s3proxy.credential=bench-secret
s3proxy.metrics.enabled=true
s3proxy.metrics.host=127.0.0.1
s3proxy.metrics.port=$metrics_port
jclouds.provider=filesystem
jclouds.filesystem.basedir=$out/s3proxy-data
jclouds.identity=bench
jclouds.credential=bench-secret
PROPS
if [ "$latency" != 0 ]; then
  # S3Proxy's latency middleware: every GET and every listing waits this many ms, as on a network
  printf 's3proxy.latency-blobstore.get.latency=%s\ns3proxy.latency-blobstore.list.latency=%s\n' \
    "$latency" "$latency" >> "$out/s3proxy.properties"
fi
java -Dlogback.configurationFile="$here/s3proxy/logback.xml" -cp "$(cat "$cp_file")" \
  org.gaul.s3proxy.Main --properties "$out/s3proxy.properties" > "$out/logs/s3proxy.log" 2>&1 &
pids+=($!)
wait_port S3Proxy "$s3_port" "${pids[-1]}"
say "S3Proxy on 127.0.0.1:$s3_port (metrics on $metrics_port)"

moto_args=()
if [[ ",$servers," != *,moto,* ]]; then
  :
elif command -v moto_server >/dev/null; then
  moto_port=$(free_port)
  moto_server -H 127.0.0.1 -p "$moto_port" > "$out/logs/moto.log" 2>&1 &
  pids+=($!)
  wait_port moto_server "$moto_port" "${pids[-1]}"
  say "moto_server on 127.0.0.1:$moto_port"
  moto_args=(--moto-endpoint "http://127.0.0.1:$moto_port" --moto-log "$out/logs/moto.log")
else
  say "moto_server not found: the moto cases are skipped"
fi

# --- measure ----------------------------------------------------------------------------------
# in the background and waited for, so that a signal reaches the trap at once
python3 "$here/$script" --repo "$repo" --out "$out" --results "$here/results" \
  --raw-classes "$out/classes" --rclone "$(command -v rclone)" --aws "$aws_bin" \
  --s3proxy-endpoint "http://127.0.0.1:$s3_port" --s3proxy-metrics "http://127.0.0.1:$metrics_port/metrics" \
  --s3proxy-data "$out/s3proxy-data" --access-key bench --secret-key bench-secret \
  "${moto_args[@]}" "${args[@]}" &
bench_pid=$!
set +e
wait "$bench_pid"
rc=$?
set -e
bench_pid=
[ $rc -eq 0 ] || { say "some runs failed or were not verified (exit $rc); logs kept in $out/logs"; keep_logs=true; }
exit $rc
