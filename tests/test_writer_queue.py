"""The SQLite writer queue: short writers hand the write lock over without sleeping."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.db import Database, WriterQueue
from app.models import DailySalt

ROOT = Path(__file__).resolve().parent.parent

# Each process writes ROWS daily salts through Database.writing() with no busy timeout at
# all: a writer that found SQLite's lock taken would fail at once with "database is locked".
WRITER = textwrap.dedent("""
    import sys
    from datetime import date, timedelta
    from sqlalchemy import insert
    from app.db import Database
    from app.models import DailySalt
    url, first, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    database = Database(url, busy_timeout_ms=0)
    for n in range(first, first + rows):
        with database.writing() as connection:
            connection.execute(insert(DailySalt).values(
                day=date(2000, 1, 1) + timedelta(days=n), salt=f"{n:064d}"))
    database.dispose()
""")


def test_writers_in_two_processes_take_turns_instead_of_failing(sqlite_url: str) -> None:
    rows = 300
    writers = [
        subprocess.Popen(  # noqa: S603 (our interpreter and script)
            [sys.executable, "-c", WRITER, sqlite_url, str(i * rows), str(rows)],
            cwd=ROOT, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    errors = [writer.communicate(timeout=120)[1].decode() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    database = Database(sqlite_url)
    with database.reading() as connection:
        assert connection.scalar(select(func.count()).select_from(DailySalt)) == 2 * rows
    database.dispose()


def test_a_writer_waits_while_another_process_has_the_turn(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    assert database.writer_queue is not None
    # Another process takes the turn, says so, and keeps it until told to go.
    with subprocess.Popen(  # noqa: S603 (our interpreter and script)
        [sys.executable, "-c", textwrap.dedent("""
            import sys
            from app.db import WriterQueue
            with WriterQueue(sys.argv[1]).turn():
                print("holding", flush=True)
                sys.stdin.readline()
        """), database.writer_queue.path],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        entered = threading.Event()

        def write_one() -> None:
            with database.writing() as connection:
                entered.set()
                connection.execute(insert(DailySalt).values(day=date(1999, 1, 1),
                                                            salt="0" * 64))

        writer = threading.Thread(target=write_one)
        writer.start()
        try:
            assert not entered.wait(0.5), "the writer did not wait for its turn"
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert entered.wait(30)
        finally:
            holder.stdin.close()  # also lets the holder go when an assertion failed
            writer.join(30)
    with database.reading() as connection:
        assert connection.scalar(select(func.count()).select_from(DailySalt)) == 1
    database.dispose()


def test_a_forked_process_queues_behind_its_parent(tmp_path: Path) -> None:
    """A descriptor inherited across fork would share the parent's lock: it is reopened."""
    queue = WriterQueue(str(tmp_path / "db.writers"))
    context = multiprocessing.get_context("fork")
    entered = context.Event()

    def child() -> None:
        with queue.turn():
            entered.set()

    with queue.turn():  # the parent opens its descriptor and holds the turn
        process = context.Process(target=child)
        process.start()
        assert not entered.wait(0.5), "the child took the turn its parent holds"
    assert entered.wait(30)
    process.join(30)
    assert process.exitcode == 0
    queue.close()


def test_only_a_file_backed_sqlite_database_has_a_queue(database_url: str) -> None:
    database = Database(database_url)
    if database_url.startswith("sqlite"):
        assert database.writer_queue is not None
        assert database.writer_queue.path == database_url.removeprefix("sqlite:///") + ".writers"
    else:
        assert database.writer_queue is None
    database.dispose()
    assert Database("sqlite://").writer_queue is None
    assert Database("sqlite:///:memory:").writer_queue is None


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database of this test's own."""
    path = tmp_path / "queue.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"



def test_a_nested_write_is_an_error_not_a_wait_for_itself(sqlite_url: str) -> None:
    database, same_file = Database(sqlite_url), Database(sqlite_url)
    with (database.writing(), pytest.raises(RuntimeError, match="nested write transaction"),
          same_file.writing()):
        pass
    with same_file.writing() as connection:  # both turns were given back
        connection.execute(insert(DailySalt).values(day=date(1999, 1, 2), salt="2" * 64))
    database.dispose()
    same_file.dispose()


def test_a_failed_write_gives_its_turn_back(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    assert database.writer_queue is not None
    with pytest.raises(ZeroDivisionError), database.writing() as connection:
        connection.execute(insert(DailySalt).values(day=date(1999, 1, 3), salt="3" * 64))
        1 / 0  # noqa: B018 (fails the block)
    taken = threading.Event()

    def take_turn() -> None:  # another thread of the process: the thread lock and the flock
        assert database.writer_queue is not None
        with database.writer_queue.turn():
            taken.set()

    other = threading.Thread(target=take_turn)
    other.start()
    assert taken.wait(30)
    other.join(30)
    with database.reading() as connection:  # and the failed write was rolled back
        assert connection.scalar(select(func.count()).select_from(DailySalt)) == 0
    database.dispose()


def test_reads_after_a_write_on_the_same_connection_take_no_write_lock(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.reading() as connection:
        connection.execute(select(func.count()).select_from(DailySalt))
        with database.writing(connection) as write:
            write.execute(insert(DailySalt).values(day=date(1999, 1, 4), salt="4" * 64))
        assert connection.get_execution_options()["sqlite_begin"] == "DEFERRED"
        assert connection.scalar(select(func.count()).select_from(DailySalt)) == 1
    database.dispose()


def test_a_lock_file_that_cannot_be_opened_leaves_writes_to_the_busy_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = WriterQueue(str(tmp_path / "no-such-folder" / "db.writers"))
    with caplog.at_level("WARNING", logger="app.db"), queue.turn():
        pass
    assert "writer queue off" in caplog.text
    with queue.turn():  # and again, without another try at the file
        pass
