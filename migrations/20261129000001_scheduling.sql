-- Scheduling: availability schedules, booking links, bookings, durable jobs and the email
-- outbox. See docs/ARCHITECTURE.md, "Scheduling".

-- Availability: weekly ranges and date overrides, as JSON in the shape of the API
-- (`rules: [{weekday, start, end}]`, `overrides: [{date, ranges: [{start, end}]}]`).
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    rules TEXT NOT NULL,
    overrides TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_user ON schedules (user_id, created_at);

-- Booking links (event types). The public address is /{username}/{slug}. Settings that
-- only the slot rules read (durations, buffers, notice, window, limits, questions,
-- location) are one JSON document; what queries filter on has its own column.
CREATE TABLE booking_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    schedule_id TEXT NOT NULL REFERENCES schedules (id),
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    settings TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    secret INTEGER NOT NULL DEFAULT 0,
    -- A secret (unlisted) link's public URL carries this key; strangers without it get 404.
    link_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX booking_links_slug ON booking_links (user_id, slug);

-- Bookings. `host_id` and the times are copied so a booking outlives its link.
CREATE TABLE bookings (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    link_id TEXT REFERENCES booking_links (id) ON DELETE SET NULL,
    event_id TEXT REFERENCES events (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    -- pending (awaiting the host's approval), confirmed, declined, cancelled
    status TEXT NOT NULL,
    invitee_name TEXT NOT NULL,
    invitee_email TEXT NOT NULL,
    invitee_zone TEXT NOT NULL,
    notes TEXT NOT NULL,
    answers TEXT NOT NULL,
    location TEXT NOT NULL,
    -- The invitee's secret token for cancelling and rescheduling. Kept as is (not hashed):
    -- the same link is in the emails of the outbox, and an idempotent retry returns it again.
    manage_token TEXT NOT NULL,
    idempotency_key TEXT,
    reason TEXT,
    rescheduled_from TEXT,
    -- The invitation's SEQUENCE: raised by every change the invitee is told about.
    sequence BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bookings_host_time ON bookings (host_id, start_ms);
CREATE INDEX bookings_link_time ON bookings (link_id, start_ms);
CREATE UNIQUE INDEX bookings_manage_token ON bookings (manage_token);
CREATE UNIQUE INDEX bookings_idempotency ON bookings (link_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- A booking transaction first bumps its host's counter: that one row write serialises
-- bookings per host on both SQLite and PostgreSQL (docs/ARCHITECTURE.md).
ALTER TABLE users ADD COLUMN booking_seq BIGINT NOT NULL DEFAULT 0;

-- Durable jobs: claimed with a lease, retried with exponential backoff, kept when dead.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- queued, running, done, dead
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    locked_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Every email Calento would send, written in the same transaction as its cause. A job
-- delivers it over SMTP when SMTP is configured; otherwise it stays here, listed in the app.
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    booking_id TEXT,
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    to_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    ics TEXT,
    -- pending, sent, failed
    status TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX emails_user ON emails (user_id, created_at);
