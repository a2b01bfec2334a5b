-- Calendars and events. Times are stored as written (wall-clock text plus the IANA zone, or
-- a date) and, for queries, as UTC milliseconds; see docs/ARCHITECTURE.md, "Calendar".

CREATE TABLE calendars (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    counts_as_busy INTEGER NOT NULL DEFAULT 1,
    visible INTEGER NOT NULL DEFAULT 1,
    is_default INTEGER NOT NULL DEFAULT 0,
    -- A private feed: the SHA-256 of its secret token; NULL when no feed is published.
    feed_token_hash TEXT,
    -- A subscription to an external ICS URL (read-only calendar) and its polling state.
    source_url TEXT,
    poll_minutes BIGINT,
    source_etag TEXT,
    source_last_modified TEXT,
    polled_at BIGINT,
    poll_error TEXT,
    -- Bumped on every change to the calendar or its events: feeds' ETag and Last-Modified.
    revision BIGINT NOT NULL DEFAULT 0,
    changed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX calendars_user ON calendars (user_id, created_at);
CREATE UNIQUE INDEX calendars_feed ON calendars (feed_token_hash);

-- Every account has a default calendar; accounts made before calendars existed get one here.
INSERT INTO calendars (id, user_id, name, color, time_zone, is_default, changed_at, created_at)
SELECT 'c' || id, id, 'Personal', '#1a73e8', time_zone, 1, created_at, created_at FROM users;

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    calendar_id TEXT NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    -- An exception (a moved or cancelled instance) points at its series and names the
    -- instance it replaces by its original start.
    master_id TEXT REFERENCES events (id) ON DELETE CASCADE,
    recurrence_id TEXT,
    recurrence_ms BIGINT,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    transparency TEXT NOT NULL,
    color TEXT,
    tags TEXT NOT NULL,
    reminders TEXT NOT NULL,
    attendees TEXT NOT NULL,
    all_day INTEGER NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    -- A DURATION as imported (days on the wall clock); NULL when the end is exact.
    duration TEXT,
    rrule TEXT,
    rdates TEXT NOT NULL,
    exdates TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    -- The whole series on the UTC axis, padded for floating times; NULL end: it never ends.
    span_start_ms BIGINT NOT NULL,
    span_end_ms BIGINT,
    sequence BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX events_calendar_span ON events (calendar_id, span_start_ms);
CREATE INDEX events_user_span ON events (user_id, span_start_ms);
CREATE INDEX events_master ON events (master_id);
CREATE UNIQUE INDEX events_series_uid ON events (calendar_id, uid) WHERE master_id IS NULL;
CREATE UNIQUE INDEX events_exception ON events (master_id, recurrence_ms) WHERE master_id IS NOT NULL;
