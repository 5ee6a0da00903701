#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL server for the store tests, then stop the server.
#
#   scripts/with_postgres.sh pytest -q        # sets MOOSIC_TEST_POSTGRES_URL for the command
#
# Finds initdb/pg_ctl on PATH, in /usr/lib/postgresql/*/bin (Debian) or /usr/local/pgsql/bin;
# when they are missing and we are root with apt-get (CI: a clean Debian), installs the
# distribution's `postgresql` package (without its default cluster). The server lives in a
# temporary directory, listens only on a Unix socket there (no TCP port to collide with), runs
# as `nobody` when we are root (PostgreSQL refuses to run as root), and is stopped and deleted
# when the command ends. Without a server outside CI the command runs without the variable and
# the PostgreSQL tests skip with the reason; in CI (CI=true) that is an error.
set -euo pipefail

log() { echo "with_postgres: $*" >&2; }

find_bin() {
    local dir
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"; return 0
    fi
    for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return 0; fi
    done
    return 1
}

dir=""
run_as=()
stop() {
    [[ -n "$dir" ]] || return 0
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

unavailable() {  # unavailable REASON COMMAND...: run the command without PostgreSQL, or fail in CI
    local reason=$1
    shift
    stop
    dir=""
    if [[ "${CI:-}" == "true" ]]; then
        log "ERROR: no PostgreSQL server for the store tests: $reason"; exit 1
    fi
    log "no PostgreSQL ($reason); the PostgreSQL store tests will be skipped"
    exec "$@"
}

started=$(date +%s%N)
if ! bin=$(find_bin); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing PostgreSQL from the system's packages"
        if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then  # no default cluster
            mkdir -p /etc/postgresql-common
            echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
        fi
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                postgresql; } >&2 || log "apt-get could not install postgresql"
    fi
    bin=$(find_bin) || unavailable "initdb and pg_ctl not found" "$@"
fi

if [[ $(id -u) -eq 0 ]]; then run_as=(runuser -u nobody --); fi
dir=$(mktemp -d /tmp/moosic-pg.XXXXXX)
chmod 0755 "$dir"
mkdir "$dir/data" "$dir/sock"
if [[ $(id -u) -eq 0 ]]; then chown nobody "$dir/data" "$dir/sock"; fi

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; unavailable "initdb failed" "$@"; }
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/sock/server.log" -w -t 60 start \
    -o "-c listen_addresses='' -k $dir/sock -F -c max_connections=200" >/dev/null \
    || { cat "$dir/sock/server.log" >&2; unavailable "the server did not start" "$@"; }
log "PostgreSQL ($("$bin/pg_ctl" --version)) ready on $dir/sock in" \
    "$(( ($(date +%s%N) - started) / 1000000 )) ms (install included, if any)"

export MOOSIC_TEST_POSTGRES_URL="postgresql://postgres@/postgres?host=$dir/sock"
set +e
"$@"
status=$?
set -e
exit $status
