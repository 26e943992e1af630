#!/bin/sh
# The compose example's backup service: runs in the PostgreSQL image, so pg_dump is the
# server's own major version. Every BACKUP_INTERVAL_SECONDS (default a day) it dumps the
# database named by libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE into
# BACKUP_DIR (default /backups) as suara-warga-<UTC time>.dump (custom format, without the
# day's address salts), and after a good dump deletes dumps older than BACKUP_KEEP_DAYS
# (default 14). A failed dump deletes nothing. BACKUP_ONCE=1: one dump, then exit with its
# status. Restore a dump with `flask --app app restore FILE` (see the README).
set -u
dir="${BACKUP_DIR:-/backups}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
interval="${BACKUP_INTERVAL_SECONDS:-86400}"
case "$keep_days$interval" in
  *[!0-9]*|'') echo "pg-backup: BACKUP_KEEP_DAYS and BACKUP_INTERVAL_SECONDS must be whole numbers" >&2
        exit 2 ;;
esac

while :; do
  name="$dir/suara-warga-$(date -u +%Y%m%dT%H%M%SZ).dump"
  # Written aside and renamed when complete: a dump cut short never looks like a backup.
  if pg_dump --format=custom --exclude-table-data=daily_salts --file="$name.partial" \
      && mv "$name.partial" "$name"; then
    status=0
    echo "pg-backup: wrote $name ($(wc -c <"$name") bytes)"
    find "$dir" -maxdepth 1 -type f -name 'suara-warga-*.dump' \
      -mmin "+$((keep_days * 1440))" -print -delete | sed 's/^/pg-backup: deleted /'
  else
    status=1
    rm -f "$name.partial"
    echo "pg-backup: FAILED to write $name; older backups kept" >&2
  fi
  if [ "${BACKUP_ONCE:-0}" = 1 ]; then
    exit "$status"
  fi
  sleep "$interval"
done
