#!/usr/bin/env bash
# Make the machine ready: a PostgreSQL server with PostGIS answering, and (for `test`) the
# tools the test suite drives: GDAL, poppler and Chromium.
#   scripts/system-deps.sh run|test
# With DATABASE_URL set, the server is yours: we only check that it answers.
# Without it we use the local server on 127.0.0.1:5432, start the distribution's cluster, or,
# as root on Debian/Ubuntu, install PostgreSQL/PostGIS with apt-get.
set -euo pipefail
purpose="${1:-run}"
PGHOST_LOCAL=127.0.0.1
PGPORT_LOCAL=5432

say() { printf '[system] %s\n' "$*" >&2; }
die() { printf '[system] ERROR: %s\n' "$*" >&2; exit 1; }

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  can_apt || return 1
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Python's venv module (Debian ships it separately).
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_install python3-venv || die "Python's venv is missing: install python3-venv"
fi

# The printed maps' fonts (app/geo/print_layout.py PRINT_FONTS): DejaVu Sans for Vietnamese,
# then fallbacks for names in other scripts: Noto Sans Khmer, Cham, Thai, Lao, Tai Viet,
# Arabic, Hebrew (fonts-noto-core, 12 MB), Chinese (fonts-droid-fallback, 2 MB; Noto CJK is
# 56 MB), monochrome emoji (fonts-symbola; colour emoji fonts do not draw in matplotlib).
# Without them /readyz says print_fonts: missing (and such names print as boxes).
print_fonts=(fonts-dejavu-core fonts-noto-core fonts-droid-fallback fonts-symbola)
missing_fonts=()
for font in "${print_fonts[@]}"; do
  have_pkg "$font" || missing_fonts+=("$font")
done

# Tools the tests use.
if [ "$purpose" = test ]; then
  missing=()
  command -v ogrinfo >/dev/null || missing+=(gdal-bin)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
  command -v osmium >/dev/null || missing+=(osmium-tool)  # OSM extracts for the context tests
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  missing+=("${missing_fonts[@]}")
  missing_fonts=()
  command -v caddy >/dev/null || missing+=(caddy)  # checks deploy/Caddyfile (caddy validate)
  command -v openssl >/dev/null || missing+=(openssl)  # Chromium trusts Caddy's test certificate
  command -v systemd-analyze >/dev/null || missing+=(systemd)  # checks deploy/*.service
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}" || die "missing test tools: install ${missing[*]}"
  fi
fi
if [ ${#missing_fonts[@]} -gt 0 ]; then
  apt_install "${missing_fonts[@]}" \
    || say "install ${missing_fonts[*]} for the printed maps (names in other scripts print as boxes)"
fi
# pg_dump / pg_restore for `app.cli backup` and `restore`.
command -v pg_dump >/dev/null || apt_install postgresql-client || say "install postgresql-client for backups"

if [ -n "${DATABASE_URL:-}" ]; then
  say "using DATABASE_URL (not managing the server)"
  exit 0
fi

ready() { command -v pg_isready >/dev/null && pg_isready -q -h "$PGHOST_LOCAL" -p "$PGPORT_LOCAL"; }

if ! ready; then
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    apt_install postgresql postgresql-postgis \
      || die "no PostgreSQL on 127.0.0.1:5432: install postgresql and postgresql-postgis, or set DATABASE_URL"
  fi
  cluster=$(pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | head -n1)
  [ -n "$cluster" ] || die "PostgreSQL is installed but has no cluster: create one with pg_createcluster"
  say "starting PostgreSQL cluster $cluster"
  # shellcheck disable=SC2086
  pg_ctlcluster --skip-systemctl-redirect $cluster start 2>/dev/null || pg_ctlcluster $cluster start \
    || die "could not start PostgreSQL cluster $cluster"
  for _ in $(seq 1 30); do ready && break; sleep 1; done
  ready || die "PostgreSQL did not start on $PGHOST_LOCAL:$PGPORT_LOCAL"
fi

# PostGIS must be available to the running server (its major version decides the package).
psql_admin() { psql -X -q -h "$PGHOST_LOCAL" -p "$PGPORT_LOCAL" -U postgres -d postgres -tA "$@"; }
has_postgis=$(psql_admin -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'" 2>/dev/null || echo error)
if [ "$has_postgis" = error ]; then
  die "cannot connect as user postgres to $PGHOST_LOCAL:$PGPORT_LOCAL; set DATABASE_URL"
fi
if [ "$has_postgis" = 0 ]; then
  major=$(psql_admin -c "SHOW server_version_num" | cut -c1-2)
  apt_install "postgresql-${major}-postgis-3" \
    || die "PostGIS is not installed for PostgreSQL ${major}: install postgresql-${major}-postgis-3"
fi
say "PostgreSQL with PostGIS is ready on $PGHOST_LOCAL:$PGPORT_LOCAL"
