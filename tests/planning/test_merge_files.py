"""Which stored files a night's windows pipeline reads (planning.nights.plan_merge_files)."""

from datetime import date, timedelta

from planning.nights import plan_merge_files
from schemas.datasets import ENGAGEMENT_DAILY, EVENTS
from storage.warehouse import STREAM_FILE_PREFIX, Warehouse

AS_OF = date(2026, 11, 25)


def plan(wh: Warehouse, touched, recompute_from, daily_final_until, rewritten):
    return plan_merge_files(
        wh.files_by_partition(EVENTS),
        wh.files_by_partition(ENGAGEMENT_DAILY),
        touched,
        rewritten,
        recompute_from,
        AS_OF,
        daily_final_until,
    )


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return str(path)


def test_final_days_give_daily_rows_unless_touched_recent_streamed_or_missing(tmp_path):
    wh = Warehouse.at(tmp_path)
    days = [AS_OF - timedelta(days=i) for i in range(40)]
    for d in days:
        touch(tmp_path / "events" / f"event_date={d}" / "part-run1-a.parquet")
    last_run = AS_OF - timedelta(days=2)  # the previous night's as-of
    streamed, missing, touched = (
        AS_OF - timedelta(days=5),
        AS_OF - timedelta(days=6),
        AS_OF - timedelta(days=4),
    )
    for d in days:
        if d <= last_run and d != missing:
            name = f"{STREAM_FILE_PREFIX}0123.parquet" if d == streamed else "part-run1-b.parquet"
            touch(tmp_path / "engagement_daily" / f"day={d}" / name)

    first_end = AS_OF - timedelta(days=4)
    job = plan(wh, {touched}, first_end, last_run, rewritten={touched})

    day_of = lambda path: date.fromisoformat(path.split("=")[-1].split("/")[0])  # noqa: E731
    context_start = first_end - timedelta(days=27)
    assert {day_of(f) for f in job.touched_event_files} == {touched}
    # Read as events: after the last as-of, rewritten by the stream, or without a daily partition.
    assert {day_of(f) for f in job.context_event_files} == {
        AS_OF,
        AS_OF - timedelta(days=1),
        streamed,
        missing,
    }
    final = {d for d in days if context_start <= d <= last_run} - {touched, streamed, missing}
    assert {day_of(f) for f in job.context_daily_files} == final
    assert {day_of(f) for f in job.context_engager_files} == final
    assert all("/events/" in f for f in job.context_engager_files)


def ten_days(root) -> Warehouse:
    """A warehouse with an events and an engagement_daily partition for each of the last ten days."""
    for i in range(10):
        d = AS_OF - timedelta(days=i)
        touch(root / "events" / f"event_date={d}" / "part-run1-a.parquet")
        touch(root / "engagement_daily" / f"day={d}" / "part-run1-b.parquet")
    return Warehouse.at(root)


def test_without_a_final_day_every_context_day_is_read_as_events(tmp_path):
    wh = ten_days(tmp_path)
    job = plan(wh, set(), AS_OF - timedelta(days=3), None, rewritten=set())
    assert len(job.context_event_files) == 10
    assert job.context_daily_files == [] and job.context_engager_files == []


def test_touched_dates_without_stored_copies_are_context_and_keep_their_files(tmp_path):
    wh = ten_days(tmp_path)
    late, copied = AS_OF - timedelta(days=3), AS_OF - timedelta(days=2)
    job = plan(wh, {late, copied}, late, AS_OF, rewritten={copied})
    day_of = lambda path: date.fromisoformat(path.split("=")[-1].split("/")[0])  # noqa: E731
    assert {day_of(f) for f in job.touched_event_files} == {copied}
    assert {day_of(f) for f in job.context_event_files} == {late}  # its daily rows change: never final
    assert late not in {day_of(f) for f in job.context_daily_files}
    assert job.appended_dates == [late]
