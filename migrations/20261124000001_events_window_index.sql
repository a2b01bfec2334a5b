-- The rows of an occurrences window (events::rows_in_window) are a user's rows whose span
-- overlaps the window: `span_start_ms < to AND (span_end_ms IS NULL OR span_end_ms > from)`,
-- and for exceptions `master_id IS NOT NULL`. The old index (user_id, span_start_ms) found
-- every row that starts before the window and read each one to test the rest; with the span's
-- end and master_id in the index both databases test those on index entries and read only the
-- rows that match. Figures: docs/BENCHMARKS.md, "Occurrences through storage".
CREATE INDEX events_user_window ON events (user_id, span_start_ms, span_end_ms, master_id);
DROP INDEX events_user_span;
-- events_exception (master_id, recurrence_ms) WHERE master_id IS NOT NULL already finds a
-- series' exceptions (and serves the cascade of deletes). The full index on master_id also
-- matched `master_id IS NULL`, and once SQLite had statistics (ANALYZE, PRAGMA optimize) it
-- read every series through it instead of the user's window: 3 to 4 times slower here.
DROP INDEX events_master;
