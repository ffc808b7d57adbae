#!/usr/bin/env bash
# The full Temporal server on this machine's PostgreSQL: the production topology
# (docker-compose.yml runs the same server), for the fault tests and the benchmark.
#
#   scripts/temporal-server.sh            build if needed, set up schemas, run in the foreground
#   scripts/temporal-server.sh setup      build and set up schemas only
#
# Settings (environment): PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), PGPASSWORD,
# TEMPORAL_SERVER_PORT (7333: frontend gRPC; the other services use the ports after it),
# TEMPORAL_SERVER_DB (pingback_temporal; visibility gets a _visibility suffix),
# PINGBACK_CACHE_DIR (~/.cache/pingback: binaries and the generated config live there).
set -euo pipefail

VERSION=v1.29.1
CACHE="${PINGBACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pingback}"
BIN="$CACHE/temporal-server/bin"
ROOT="$CACHE/temporal-server/run-${TEMPORAL_SERVER_PORT:-7333}"
PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PGPASSWORD="${PGPASSWORD:-}"
PORT="${TEMPORAL_SERVER_PORT:-7333}"
DB="${TEMPORAL_SERVER_DB:-pingback_temporal}"
export PATH="/usr/local/go/bin:$PATH"

# 1. Binaries, built once from the Go module proxy (a few minutes).
if [ ! -x "$BIN/server" ] || [ ! -x "$BIN/sql" ]; then
  echo "building Temporal server $VERSION into $BIN (once; a few minutes)…" >&2
  mkdir -p "$BIN"
  GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "go.temporal.io/server/cmd/server@$VERSION"
  GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "go.temporal.io/server/cmd/tools/sql@$VERSION"
fi
SRC="$(go env GOMODCACHE)/go.temporal.io/server@$VERSION"
if [ ! -d "$SRC/schema/postgresql/v12" ]; then
  GOFLAGS=-buildvcs=false go mod download "go.temporal.io/server@$VERSION"
fi

# 2. Databases and schemas (idempotent: update-schema only applies what is missing).
sqltool() { "$BIN/sql" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" --pw "$PGPASSWORD" "$@" >/dev/null 2>&1; }
for kind in temporal visibility; do
  name="$DB"; [ "$kind" = visibility ] && name="${DB}_visibility"
  sqltool --db "$name" create-database || true
  if ! sqltool --db "$name" update-schema -d "$SRC/schema/postgresql/v12/$kind/versioned"; then
    sqltool --db "$name" setup-schema -v 0.0
    sqltool --db "$name" update-schema -d "$SRC/schema/postgresql/v12/$kind/versioned"
  fi
done

# 3. Config: the module's development-postgres12.yaml, pointed at our databases and ports.
mkdir -p "$ROOT/config/dynamicconfig"
cp "$SRC/config/dynamicconfig/development-sql.yaml" "$ROOT/config/dynamicconfig/development-sql.yaml"
chmod u+w "$ROOT/config/dynamicconfig/development-sql.yaml"
# A single node: one partition per task queue, so a workflow task is handed straight to a waiting
# poller instead of being written to a partition nobody polls (as for the dev server).
cat >> "$ROOT/config/dynamicconfig/development-sql.yaml" <<'YAML'
matching.numTaskqueueReadPartitions:
  - value: 1
matching.numTaskqueueWritePartitions:
  - value: 1
YAML
sed \
  -e "s/databaseName: \"temporal\"/databaseName: \"$DB\"/" \
  -e "s/databaseName: \"temporal_visibility\"/databaseName: \"${DB}_visibility\"/" \
  -e "s/connectAddr: \"127.0.0.1:5432\"/connectAddr: \"$PGHOST:$PGPORT\"/" \
  -e "s/user: \"temporal\"/user: \"$PGUSER\"/" \
  -e "s/password: \"temporal\"/password: \"$PGPASSWORD\"/" \
  -e "s/level: info/level: warn/" \
  -e "s#filepath: \"config/dynamicconfig/development-sql.yaml\"#filepath: \"$ROOT/config/dynamicconfig/development-sql.yaml\"#" \
  -e "s/grpcPort: 7233/grpcPort: $PORT/" -e "s/rpcAddress: \"localhost:7233\"/rpcAddress: \"localhost:$PORT\"/" \
  -e "s/grpcPort: 7234/grpcPort: $((PORT + 1))/" -e "s/grpcPort: 7235/grpcPort: $((PORT + 2))/" \
  -e "s/grpcPort: 7239/grpcPort: $((PORT + 6))/" -e "s/httpPort: 7243/httpPort: $((PORT + 10))/" \
  -e "s/membershipPort: 6933/membershipPort: $((PORT + 100))/" -e "s/membershipPort: 6934/membershipPort: $((PORT + 101))/" \
  -e "s/membershipPort: 6935/membershipPort: $((PORT + 102))/" -e "s/membershipPort: 6939/membershipPort: $((PORT + 106))/" \
  -e "s/port: 7936/port: $((PORT + 200))/" -e "s/listenAddress: \"127.0.0.1:8000\"/listenAddress: \"127.0.0.1:$((PORT + 201))\"/" \
  "$SRC/config/development-postgres12.yaml" > "$ROOT/config/development.yaml"

[ "${1:-start}" = setup ] && { echo "Temporal server set up in $ROOT (frontend 127.0.0.1:$PORT)"; exit 0; }

# 4. Run it; once it answers, make sure the namespace and PingBack's search attributes exist.
"$BIN/server" --root "$ROOT" --config config --env development --allow-no-auth start &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
CLI="${TEMPORAL_CLI_PATH:-$CACHE/bin/temporal}"
[ -x "$CLI" ] || CLI="$(command -v temporal || true)"
if [ -n "$CLI" ]; then
  for _ in $(seq 1 120); do
    "$CLI" operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || exit 1
    sleep 0.5
  done
  "$CLI" operator namespace describe --namespace default --address "127.0.0.1:$PORT" >/dev/null 2>&1 ||
    "$CLI" operator namespace create --namespace default --retention 72h --address "127.0.0.1:$PORT" >/dev/null
  # A namespace just created takes a moment to accept attributes: retry until all are listed.
  for _ in $(seq 1 30); do
    listed="$("$CLI" operator search-attribute list --namespace default --address "127.0.0.1:$PORT" 2>/dev/null || true)"
    args=()
    for sa in ChannelType ChannelId AccountId ConversationStatus; do
      grep -qw "$sa" <<<"$listed" || args+=(--name "$sa" --type Keyword)
    done
    [ ${#args[@]} -eq 0 ] && break
    "$CLI" operator search-attribute create --namespace default "${args[@]}" --address "127.0.0.1:$PORT" >/dev/null 2>&1 || sleep 1
  done
  echo "Temporal server ready on 127.0.0.1:$PORT (PostgreSQL databases $DB, ${DB}_visibility)"
else
  echo "Temporal server starting on 127.0.0.1:$PORT; no Temporal CLI found to create the default namespace" >&2
fi
wait $server
