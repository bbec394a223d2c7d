#!/usr/bin/env bash
# One backup into $BACKUP_ROOT/<UTC date and time>, then backups older than $RETAIN_DAYS
# days removed, only once tonight's is complete (its manifest.json written) and never the
# newest $KEEP_AT_LEAST. Run by cdfmap-backup.service; by hand: deploy/backup-nightly.sh
set -euo pipefail
BACKUP_ROOT="${BACKUP_ROOT:-/var/backups/cdfmap}"
RETAIN_DAYS="${RETAIN_DAYS:-14}"
KEEP_AT_LEAST="${KEEP_AT_LEAST:-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"  # absolute: it is run from anywhere
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
cd "$ROOT"

mkdir -p "$BACKUP_ROOT"
target="$BACKUP_ROOT/$(date -u +%Y-%m-%dT%H%M%SZ)"
# Made here, atomically: a second run in the same second stops here, and never removes
# (below) the first one's backup.
mkdir -- "$target" || { echo "backup not started: $target exists" >&2; exit 1; }
status=0
"$PYTHON" -m app.cli backup --out "$target" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
  rm -rf -- "$target"  # tonight's partial dump: it would fill the disk night after night
  echo "backup failed: $target removed" >&2
  exit 1
fi
[ -f "$target/manifest.json" ] || { echo "backup incomplete: $target" >&2; exit 1; }

# Complete nightly backups (named by their UTC time, as above), newest first; the first
# KEEP_AT_LEAST are always kept, and so are the newest KEEP_AT_LEAST whole ones (no file
# missing from their media): nights whose media lack files (status 3) never push the last
# good backups out, and still age out themselves, so a file lost for good does not fill the
# disk. Backups named otherwise (before-upgrade, manual-1) are a person's: never counted,
# never removed here.
mapfile -t complete < <(
  find "$BACKUP_ROOT" -mindepth 2 -maxdepth 2 -name manifest.json -printf '%h\n' \
    | grep -E '/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z$' | sort -r
)
newest=0
whole=0
for dir in "${complete[@]}"; do
  newest=$((newest + 1))
  # A manifest lists missing files one per line after `"missing_files": [`.
  if ! grep -q '"missing_files": \[$' "$dir/manifest.json" && [ "$whole" -lt "$KEEP_AT_LEAST" ]; then
    whole=$((whole + 1))
    continue
  fi
  [ "$newest" -le "$KEEP_AT_LEAST" ] && continue
  if [ -n "$(find "$dir/manifest.json" -mtime +"$RETAIN_DAYS")" ]; then
    echo "removing backup older than $RETAIN_DAYS days: $dir"
    rm -rf -- "$dir"
  fi
done
if [ "$status" -eq 3 ]; then
  # Written, but files the database names are missing (named above): kept for a person to
  # look at; the unit fails so that somebody does.
  echo "backup incomplete: $target kept; the newest whole backups are kept too" >&2
  exit 1
fi
echo "backup complete: $target"
