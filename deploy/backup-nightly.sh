#!/usr/bin/env bash
# One backup into $BACKUP_ROOT/<UTC date and time>, then backups older than $RETAIN_DAYS
# days removed, only once tonight's is complete (its manifest.json written) and never the
# newest $KEEP_AT_LEAST. Run by cdfmap-backup.service; by hand: deploy/backup-nightly.sh
set -euo pipefail
BACKUP_ROOT="${BACKUP_ROOT:-/var/backups/cdfmap}"
RETAIN_DAYS="${RETAIN_DAYS:-14}"
KEEP_AT_LEAST="${KEEP_AT_LEAST:-3}"
PYTHON="${PYTHON:-$(dirname "$0")/../.venv/bin/python}"
cd "$(dirname "$0")/.."

mkdir -p "$BACKUP_ROOT"
target="$BACKUP_ROOT/$(date -u +%Y-%m-%dT%H%M%SZ)"
"$PYTHON" -m app.cli backup --out "$target"
[ -f "$target/manifest.json" ] || { echo "backup incomplete: $target" >&2; exit 1; }

# Complete backups, newest first; the first KEEP_AT_LEAST are always kept.
mapfile -t complete < <(
  find "$BACKUP_ROOT" -mindepth 2 -maxdepth 2 -name manifest.json -printf '%h\n' | sort -r
)
for dir in "${complete[@]:$KEEP_AT_LEAST}"; do
  if [ -n "$(find "$dir/manifest.json" -mtime +"$RETAIN_DAYS")" ]; then
    echo "removing backup older than $RETAIN_DAYS days: $dir"
    rm -rf -- "$dir"
  fi
done
echo "backup complete: $target"
