"""A proof anyone can rerun (issue 16): under load, with a gunicorn worker and then the master
killed by ``kill -9`` and the database cut off, every acknowledged submission is stored
exactly once, on SQLite and on PostgreSQL.

Run: ``make proof`` (or ``.venv/bin/python -m bench.proof``; ``make bench`` leaves it out, as
it needs PostgreSQL and kills processes). Settings (environment):

- ``PROOF_ENGINES`` (default ``sqlite,postgresql``);
- ``PROOF_CLIENTS`` (default 50) clients sending submissions one after another for
  ``PROOF_SECONDS`` (default 30), and in any case until every fault below has been done;
- ``PROOF_GRACE`` (default 30): seconds after the load during which a submission not yet
  acknowledged is still retried;
- ``PROOF_PG_URL`` (default ``TEST_DATABASE_URL``, else ``postgres@127.0.0.1:5432/test``):
  the server on which the run creates a database of its own, dropped afterwards.

Per engine, a new database is migrated and given the demo (``bench.throughput.prepare_app``,
which lifts the per-address submission limit, ``RATE_LIMIT_SUBMIT``: every client here comes
from 127.0.0.1, and the limit would turn the proof into a count of 429s). A kiosk is added with
``flask kiosks add`` and paired through ``POST /api/v1/kiosk/pair`` as a tablet is; the service
runs as the container runs it (gunicorn, 2 sync workers, ``APP_ENV=production``). The clients
submit kiosk answers (``POST /api/v1/responses`` with the kiosk's device credential), each
under a new id. A submission that gets no answer, a 5xx or a 429 is sent again, the same body
under the same id, after 0.1 s doubling to 2 s (sooner than a 503's Retry-After asks, to press
the recovery), until a 2xx or the end of the grace time. Every fourth acknowledged submission
is sent once more: a repeat must be answered as a duplicate and never stored again.

Meanwhile, one after the other:

1. at 20% of the time, ``kill -9`` one worker; gunicorn's master starts another;
2. at 45%, ``kill -9`` the master. Its workers serve what is queued and exit once they see
   their parent gone (any still there after 10 s are killed, as a container's end would);
   the same gunicorn command is started again, as a restart policy would, until it serves;
3. at 70%, the database is cut off. PostgreSQL: ``pg_terminate_backend`` on every connection
   to the run's database, three times a second apart. SQLite has no connections to cut; the
   nearest fault is another process holding the write lock (``BEGIN EXCLUSIVE``) for a second
   longer than the busy timeout, so that the workers' writes fail with SQLITE_BUSY.

At the end: acknowledged (ids answered 2xx), stored (rows of the kiosk), lost (acknowledged,
not stored) and doubled (an id stored more than once, a row under an id no client sent, any
other new row). The exit status is 1 on any loss or double, an id answered 201 twice, a
refusal (a 4xx other than 429: the proof no longer measures what it claims), or a fault that
could not be done.
"""
