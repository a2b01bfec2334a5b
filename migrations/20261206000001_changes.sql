-- The change feed: one row for every write of a user's data, written in the same
-- transaction as the write (app/src/ssr/changes.rs). `seq` counts per user: a write
-- takes its user's row lock first (users.change_seq), so a user's changes commit in the
-- order of their numbers and a reader who saw `change_seq` = N can never later find a
-- smaller number appear. `revision` is the calendar's revision after the write (for
-- per-calendar sync: CalDAV sync tokens and ctags).

ALTER TABLE users ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
-- The highest seq pruned away: a cursor below it has lost changes (410 cursor_expired).
ALTER TABLE users ADD COLUMN changes_floor BIGINT NOT NULL DEFAULT 0;

CREATE TABLE changes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    op TEXT NOT NULL,
    calendar_id TEXT,
    revision BIGINT,
    at BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX changes_calendar ON changes (calendar_id, revision);
CREATE INDEX changes_at ON changes (at);

-- A job may carry a key: at most one queued job per key is added (re-planning a user's
-- time blocks, the pruning of this feed), so a burst of changes runs the work once.
ALTER TABLE jobs ADD COLUMN job_key TEXT;
CREATE INDEX jobs_key ON jobs (job_key, status);
