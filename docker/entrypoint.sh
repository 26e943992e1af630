#!/bin/sh
# web: migrate, check the survey versions, then serve with gunicorn. scheduler: run the jobs.
set -e
case "${1:-web}" in
  web)
    flask --app app db upgrade
    flask --app app surveys sync
    exec gunicorn --workers "${WEB_CONCURRENCY:-2}" --bind "0.0.0.0:${PORT:-8000}" \
      --access-logfile - "app:create_app()"
    ;;
  scheduler)
    exec flask --app app scheduler
    ;;
  *)
    exec "$@"
    ;;
esac
