#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster that the end-to-end tests use as a real destination:
# 127.0.0.1:5432 only, role `ssmtunnel` with password `ssmtunnel`, database `ssmtunnel`.
# Idempotent: safe to run again on a machine where all of this is already set up.
#   CI:         bash .ci/setup-postgres.sh   (as root)
#   Developer:  sudo .ci/setup-postgres.sh
# Then: export SSM_TUNNEL_TEST_PG=postgres://ssmtunnel:ssmtunnel@127.0.0.1:5432/ssmtunnel
set -euo pipefail

readonly PORT=5432
readonly NAME=ssmtunnel
readonly URL="postgres://${NAME}:${NAME}@127.0.0.1:${PORT}/${NAME}"

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-postgres: needs root to manage the system cluster; run: sudo $0" >&2
  exit 1
fi
if ! command -v pg_lsclusters >/dev/null || [[ ! -d /usr/lib/postgresql ]]; then
  echo "setup-postgres: Debian's postgresql packages are not installed (apt-get install postgresql)," >&2
  echo "or point SSM_TUNNEL_TEST_PG at a server of your own with the role and database above." >&2
  exit 1
fi

as_postgres() {
  # From /, so tools run as postgres do not complain that they cannot read the caller's directory.
  (cd / && runuser -u postgres -- "$@")
}

# Use the cluster that owns port 5432 if there is one; otherwise create one with the newest server.
read -r version cluster < <(pg_lsclusters --no-header | awk -v port="$PORT" '$3 == port { print $1, $2; exit }') || true
if [[ -z ${version:-} ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  cluster=main
  if [[ -d /etc/postgresql/$version/main ]]; then cluster=$NAME; fi
  echo "setup-postgres: creating cluster $version/$cluster on port $PORT"
  pg_createcluster --port "$PORT" "$version" "$cluster" >/dev/null
fi

running() {
  pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1
}

# Loopback IPv4 only (the tests connect to 127.0.0.1; nothing else should reach this server). A
# drop-in in conf.d, which Debian's postgresql.conf includes last, leaves the packaged file alone.
conf=/etc/postgresql/$version/$cluster/conf.d/ssm-tunnel.conf
wanted="# Written by ssm-tunnel's .ci/setup-postgres.sh
listen_addresses = '127.0.0.1'"
if [[ ! -f $conf || $(<"$conf") != "$wanted" ]]; then
  printf '%s\n' "$wanted" >"$conf"
  if running; then pg_ctlcluster "$version" "$cluster" restart; fi
fi
if ! running; then
  echo "setup-postgres: starting cluster $version/$cluster"
  pg_ctlcluster "$version" "$cluster" start
fi
pg_isready --quiet --host 127.0.0.1 --port "$PORT" --timeout 30 || {
  echo "setup-postgres: cluster $version/$cluster is not accepting connections on 127.0.0.1:$PORT" >&2
  exit 1
}

as_postgres psql --port "$PORT" --no-psqlrc --quiet --set ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE ${NAME} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${NAME}')\gexec
ALTER ROLE ${NAME} LOGIN PASSWORD '${NAME}';
SELECT 'CREATE DATABASE ${NAME} OWNER ${NAME}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${NAME}')\gexec
SQL

# Prove the URL the tests use works, password authentication over TCP included.
if ! psql "$URL" --no-psqlrc --quiet --tuples-only --command 'select 1' >/dev/null; then
  echo "setup-postgres: cannot log in with $URL; check pg_hba.conf of $version/$cluster (password auth for 127.0.0.1)" >&2
  exit 1
fi
echo "setup-postgres: ready at $URL (cluster $version/$cluster)"
