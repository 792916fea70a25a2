"""``Workspace.watch_slow``: what the GUI bench uses to find UI-thread queries and write waits over 50 ms."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from app.store.workspace import Workspace


def test_slow_statements_and_write_waits_are_caught_on_the_watched_thread_only(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "w.db") as ws:
        ws.write(lambda db: db.execute("create table t(x integer)"))
        ws.write(lambda db: db.execute("insert into t(x) with recursive c(i) as (select 1 union all select i + 1 "
                                       "from c where i < 200000) select i from c"))
        slow_sql = "select sum(a.x) from t a join t b on a.x = b.x"
        watch = ws.watch_slow(limit_ms=1.0)
        assert list(ws.db.query("select 1 as one")) == [{"one": 1}]  # too few steps to be timed at all
        total = list(ws.db.query(slow_sql))[0]
        assert total == {"sum(a.x)": 200000 * 200001 // 2}
        other = threading.Thread(target=lambda: list(ws.db.query(slow_sql)))  # another thread: not watched
        other.start()
        other.join()
        assert [sql for _ms, sql in watch.slow] == [slow_sql]
        assert watch.worst_ms >= watch.slow[0][0] > 1.0

        def busy(db):  # the writer is busy with someone else's work: this thread's write waits
            time.sleep(0.2)

        ws.submit(busy)
        ws.write(lambda db: db.execute("insert into t(x) values (0)"))
        assert len(watch.slow) == 2 and watch.slow[1][1].startswith("write: ") and watch.slow[1][0] >= 150
        watch.stop()
        list(ws.db.query(slow_sql))
        assert len(watch.slow) == 2
