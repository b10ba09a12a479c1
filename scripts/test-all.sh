#!/usr/bin/env bash
# The whole test suite against real PostgreSQL, Redis and brokers (RabbitMQ, NATS, Kafka), from a fresh clone.
#
# Uses TEST_DATABASE_URL / TEST_REDIS_URL when set, else the usual local ports. When nothing answers there it
# starts private servers of its own (own data folder and port, removed afterwards), installing Debian's
# postgresql and redis-server packages first when it runs as root and they are missing. The tests also start
# throwaway redis-server processes (Sentinel, Cluster, TLS) and private brokers, and need openssl, haproxy for
# the drain test and prometheus for the scrape and alert test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '[test-all] %s\n' "$*"; }

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
pnpm_cmd() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    pnpm "$@"
  else
    npx -y "pnpm@$PNPM_VERSION" "$@"
  fi
}

# host:port reachable? (Node is the one tool a fresh machine is guaranteed to have.)
reachable() {
  node -e '
    const [host, port] = [process.argv[1], Number(process.argv[2])]
    const socket = require("node:net").connect({ host, port, timeout: 1500 })
    socket.on("connect", () => process.exit(0)).on("error", () => process.exit(1)).on("timeout", () => process.exit(1))
  ' "$1" "$2"
}

url_host() { node -e 'const u = new URL(process.argv[1]); console.log(u.hostname)' "$1"; }
url_port() { node -e 'const u = new URL(process.argv[1]); console.log(u.port || process.argv[2])' "$1" "$2"; }

apt_install() {
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing $*; install it (Debian: sudo apt-get install -y $*) or set TEST_DATABASE_URL / TEST_REDIS_URL"
    exit 1
  fi
  say "installing Debian packages: $*"
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

private_dir="$root/.tapline-test"
cleanup() {
  if [ -n "${PRIVATE_PG_BIN:-}" ]; then
    say "stopping private PostgreSQL"
    run_as_postgres "$PRIVATE_PG_BIN/pg_ctl" -D "$private_dir/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -n "${PRIVATE_REDIS_PORT:-}" ]; then
    say "stopping private Redis"
    redis-cli -p "$PRIVATE_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  rm -rf "$private_dir"
}
trap cleanup EXIT

run_as_postgres() {
  # initdb and postgres refuse to run as root.
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$private_dir" postgres
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}

pg_host=$(url_host "$TEST_DATABASE_URL")
pg_port=$(url_port "$TEST_DATABASE_URL" 5432)
if reachable "$pg_host" "$pg_port"; then
  say "PostgreSQL at $pg_host:$pg_port"
else
  say "no PostgreSQL at $pg_host:$pg_port; starting a private one"
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pg_bin" ]; then
    apt_install postgresql
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  mkdir -p "$private_dir/pg"
  [ "$(id -u)" = "0" ] && { id postgres >/dev/null 2>&1 || useradd --system postgres; chown -R postgres "$private_dir"; }
  run_as_postgres "$pg_bin/initdb" -D "$private_dir/pg" -U postgres -A trust >/dev/null
  PRIVATE_PG_BIN=$pg_bin
  run_as_postgres "$pg_bin/pg_ctl" -D "$private_dir/pg" -l "$private_dir/pg.log" -w \
    -o "-p 55432 -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  export TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres
  say "private PostgreSQL at 127.0.0.1:55432"
fi

command -v redis-server >/dev/null 2>&1 || apt_install redis-server
command -v openssl >/dev/null 2>&1 || apt_install openssl
# The drain test puts two API processes behind a real balancer (Debian's haproxy, in /usr/sbin).
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_install haproxy
# The report and recap tests read their PDFs back with pdftotext (issue 35).
command -v pdftotext >/dev/null 2>&1 || apt_install poppler-utils
# The Prometheus test runs Debian's prometheus against the built server (apps/api/test/Prometheus.test.ts).
if [ -z "${PROMETHEUS_PATH:-}" ]; then
  command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || apt_install prometheus
  PROMETHEUS_PATH=$(command -v prometheus || echo /usr/bin/prometheus)
  export PROMETHEUS_PATH
fi
# The stream tests start private brokers of their own: Debian's rabbitmq-server and nats-server, and an Apache
# Kafka broker whose jars Maven fetches from Maven Central into a cache folder, run with Java 17
# (packages/testing/src/{rabbitServer,natsServer,kafkaBroker}.ts).
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || apt_install rabbitmq-server
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || apt_install nats-server
command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null 2>&1 || apt_install maven
# The passkey tests drive a real browser (playwright-core never downloads one).
if [ -z "${CHROMIUM_PATH:-}" ]; then
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  export CHROMIUM_PATH=$(command -v chromium)
fi
redis_host=$(url_host "$TEST_REDIS_URL")
redis_port=$(url_port "$TEST_REDIS_URL" 6379)
if reachable "$redis_host" "$redis_port"; then
  say "Redis at $redis_host:$redis_port"
else
  say "no Redis at $redis_host:$redis_port; starting a private one"
  mkdir -p "$private_dir/redis"
  PRIVATE_REDIS_PORT=56379
  redis-server --port "$PRIVATE_REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$private_dir/redis" --daemonize yes --logfile "$private_dir/redis.log"
  export TEST_REDIS_URL=redis://127.0.0.1:$PRIVATE_REDIS_PORT
  for _ in $(seq 1 50); do reachable 127.0.0.1 "$PRIVATE_REDIS_PORT" && break; sleep 0.1; done
  say "private Redis at 127.0.0.1:$PRIVATE_REDIS_PORT"
fi

# Databases and key prefixes of this run carry its id, so parallel or leftover runs never collide.
export TAPLINE_TEST_RUN=${TAPLINE_TEST_RUN:-$(date +%s)_$$}
say "run id $TAPLINE_TEST_RUN"

say "installing dependencies"
pnpm_cmd install --frozen-lockfile --reporter=silent
say "building"
pnpm_cmd build --output-style=static >/dev/null

mkdir -p "$private_dir"
status=0
# The console tests' screenshots go to $private_dir/screenshots, which the clean-up removes: not taken here
# (40 full-page captures, a fifth of a browser file's time). TAPLINE_SCREENSHOTS=1 keeps them.
export TAPLINE_SCREENSHOTS=${TAPLINE_SCREENSHOTS:-0}
# TEST_WORKERS: vitest workers for the run (default 2; 1 runs everything in one pass, as vitest's own default
# does on two cores). Most of a file's time is waiting on peers, processes and Chromium. With two or
# more, the files below run afterwards in a pass of their own with one worker: they measure time or CPU
# (FreshStart burns CPU and times answers, EmailSignIn times requests), drive load (the TapLoad users) or wait
# out fault windows (*.faults), so a neighbour would skew them or they would starve it. Test ports are
# partitioned per worker (packages/testing/src/ports.ts) and the shared brokers take any number of files.
solo=(
  "*.faults.test.ts"
  FreshStart.test.ts
  EmailSignIn.test.ts
  Prometheus.test.ts
  Drain.test.ts
  WorkerStop.test.ts
  MetricsIsolation.test.ts
  TapPipeline.test.ts
  TapJournal.test.ts
)
TEST_WORKERS=${TEST_WORKERS:-2}
passes=()
if [ "$TEST_WORKERS" -gt 1 ]; then
  excludes=()
  filters=()
  for file in "${solo[@]}"; do
    excludes+=("--exclude=**/test/$file")
    # A vitest filter matches any file path containing it.
    case "$file" in
      \**) filters+=("${file#\*}") ;;
      *) filters+=("test/$file") ;;
    esac
  done
  passes=("parallel" "solo")
else
  passes=("all")
fi
for pass in "${passes[@]}"; do
  report="$private_dir/vitest-report-$pass.json"
  case "$pass" in
    all) args=() ;;
    parallel) args=("--maxWorkers=$TEST_WORKERS" "--minWorkers=1" "${excludes[@]}") ;;
    solo) args=("--maxWorkers=1" "--minWorkers=1" "${filters[@]}") ;;
  esac
  say "running tests ($pass)"
  pnpm_cmd exec vitest run "${args[@]}" --reporter=default --reporter=json --outputFile.json="$report" ||
    status=$?
done

node -e '
  const Fs = require("node:fs")
  const reports = process.argv.slice(1).filter((file) => Fs.existsSync(file)).map((file) => require(file))
  if (reports.length === 0) process.exit(0)
  const sum = (field) => reports.reduce((total, r) => total + r[field], 0)
  const skipped = sum("numPendingTests") + sum("numTodoTests")
  console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${skipped} skipped`)
' "$private_dir"/vitest-report-*.json
exit "$status"
