# Shared by ops/run, ops/test and ops/bench: packages, a local PostgreSQL cluster, the roles.
# Source it; it defines functions and sets nothing else.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A failing command inside $(…) fails the script too.
shopt -s inherit_errexit

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Debian packages the build and the database need; installs only what is missing.
ensure_packages() {
  local missing=()
  pkg-config --exists libargon2 2>/dev/null || missing+=(libargon2-dev)
  [ -n "$(pg_bindir 2>/dev/null || true)" ] || missing+=(postgresql-15 postgresql-contrib-15)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v python3 >/dev/null || missing+=(python3)
  command -v curl >/dev/null || missing+=(curl)
  command -v runuser >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; else return 1; fi
}

# PostgreSQL runs as 'postgres' when we are root; it must be able to reach its data directory.
# A checkout under /root is not reachable: then the cluster lives in /var/lib/crm-data and
# $1 becomes a link to it.
reachable_data_dir() {
  local data="$1"
  [ "$(id -u)" -eq 0 ] || return 0
  mkdir -p "$(dirname "$data")"
  if ! runuser -u postgres -- test -x "$(dirname "$data")"; then
    local real="/var/lib/crm-data/$(printf '%s' "$data" | sha1sum | cut -c1-12)"
    mkdir -p "$real"
    chmod 755 /var/lib/crm-data
    [ -L "$data" ] || { rm -rf "$data"; ln -s "$real" "$data"; }
    log "$(dirname "$data") is not reachable by the postgres user: the cluster lives in $real"
  fi
}

# PostgreSQL refuses to run as root: run its programs as the 'postgres' user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A free TCP port on loopback, from $1 upwards.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
p = int(sys.argv[1])
while True:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        p += 1
PY
}

# start_cluster DATADIR PORT [fast]: creates the cluster if missing and starts it. 'fast' turns
# durability off (fsync, synchronous_commit, full_page_writes): for throwaway test clusters only.
start_cluster() {
  local data="$1" port="$2" mode="${3:-}" bin
  bin="$(pg_bindir)"
  reachable_data_dir "$data"
  # Through the link the postgres user may not pass a directory it cannot enter: use the target.
  data="$(readlink -f "$data")"
  mkdir -p "$data/"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data/"; fi
  chmod 700 "$data/"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating PostgreSQL cluster in $data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  local sockdir
  sockdir="$(socket_dir "$data")"
  mkdir -p "$sockdir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$sockdir"; fi
  local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$sockdir -c max_connections=300"
  opts="$opts -c shared_buffers=256MB"
  # For a profile: CRM_PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements".
  [ -n "${CRM_PG_EXTRA_OPTS:-}" ] && opts="$opts $CRM_PG_EXTRA_OPTS"
  if [ "$mode" = fast ]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $data"
  else
    log "starting PostgreSQL on 127.0.0.1:$port"
    as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "$opts" -w -t 60 start >/dev/null
  fi
}

stop_cluster() {
  local data
  data="$(readlink -f "$1")"
  [ -f "$data/PG_VERSION" ] || return 0
  as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# Unix sockets have a short path limit: keep the socket beside the data if it fits, else in /tmp.
socket_dir() {
  local data
  data="$(readlink -f "$1" 2>/dev/null || printf '%s' "$1")"
  if [ ${#data} -lt 80 ]; then
    echo "$data/run"
  else
    echo "/tmp/crm-pg-$(printf '%s' "$data" | sha1sum | cut -c1-12)"
  fi
}

# psql as the cluster's superuser over the local socket.
su_psql() {
  local data="$1" port="$2"; shift 2
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$(socket_dir "$data")" -p "$port" -U postgres "$@"
}

# bootstrap_database DATADIR PORT DBNAME PASSWORD: the owner role (owns schemas, runs DDL,
# creates tenant roles), the application's login role (NOINHERIT: it holds no rights until it
# switches into a role per transaction) and the database. Safe to run again: the attributes and
# grants are enforced every time.
bootstrap_database() {
  local data="$1" port="$2" db="$3" password="$4"
  su_psql "$data" "$port" -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_owner') THEN
    CREATE ROLE crm_owner NOLOGIN CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app') THEN
    CREATE ROLE crm_app LOGIN NOINHERIT;
  END IF;
END \$\$;
ALTER ROLE crm_owner NOLOGIN CREATEROLE NOSUPERUSER NOCREATEDB;
ALTER ROLE crm_app LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$password';
GRANT crm_owner TO crm_app;
SQL
  if ! su_psql "$data" "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    su_psql "$data" "$port" -d postgres -c "CREATE DATABASE \"$db\" OWNER crm_owner"
  fi
  su_psql "$data" "$port" -d "$db" -c "REVOKE ALL ON SCHEMA public FROM PUBLIC; REVOKE ALL ON DATABASE \"$db\" FROM PUBLIC; GRANT CONNECT ON DATABASE \"$db\" TO crm_app;"
  # pg_trgm (a contrib extension) indexes substring search in any language; it lives in its own
  # schema, which no tenant's search_path names, and record indexes name its operator class.
  su_psql "$data" "$port" -d "$db" -c "CREATE SCHEMA IF NOT EXISTS ext; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA ext; GRANT USAGE ON SCHEMA ext TO PUBLIC;"
}

random_secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

# Builds; fails the script when the build fails (the pipe's status is swift's).
build() {
  log "building ($1)"
  (cd "$ROOT" && set -o pipefail && swift build -c "$1" --product crm 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|unhandled; explicitly|CMakeLists' | tail -20) >&2
}
