# Shared by scripts/demo and scripts/test: a project virtualenv that is (re)installed only when
# pyproject.toml changes, and Debian packages installed only when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is required" >&2
  return 1
}

# ensure_venv EXTRAS: create .venv and install the project (editable) with the given extras.
ensure_venv() {
  local extras="$1" stamp hash
  if [ ! -x "$VENV/bin/python" ]; then
    log "Creating $VENV"
    "$(pick_python)" -m venv "$VENV"
  fi
  hash="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  stamp="$VENV/.installed-${extras:-runtime}-$hash"
  if [ ! -f "$stamp" ]; then
    log "Installing Python packages (${extras:-runtime})"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ -n "$extras" ]; then
      "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$extras]"
    else
      "$VENV/bin/python" -m pip install --quiet -e "$ROOT"
    fi
    rm -f "$VENV"/.installed-"${extras:-runtime}"-*
    touch "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; return 1; fi
}

# ensure_debs PKG...: install the Debian packages that are not installed yet.
ensure_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  ensure_debs postgresql
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  log "Starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "error: PostgreSQL did not start" >&2; return 1; }
  # Trust auth and a database "test" are what the tests expect (tests create their own DBs).
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "psql -c 'create database test'" >/dev/null 2>&1 || true
  fi
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
  ensure_debs redis-server
  log "Starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0; sleep 0.5; done
  echo "error: Redis did not start" >&2
  return 1
}
