-- Notifications: what reaches a person whose tab is closed.

-- Per account: which kinds go to which channel, quiet hours, and when the digests go out.
-- `channels` is JSON: {"event_reminder": {"email": true, "push": true, "urgent": false}, …};
-- a kind missing from it has its defaults. Times are minutes after local midnight in the
-- account's zone; NULL quiet hours: none; NULL agenda/review: not sent.
CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    channels TEXT NOT NULL,
    quiet_start INTEGER,
    quiet_end INTEGER,
    all_day_at INTEGER NOT NULL,
    agenda_at INTEGER,
    agenda_when_empty INTEGER NOT NULL,
    review_day INTEGER,
    review_at INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A browser's push subscription (one per device and browser profile): where its push
-- service takes messages and the keys the payload is encrypted to (RFC 8291).
CREATE TABLE push_subscriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_sent_at BIGINT,
    last_error TEXT
);
CREATE UNIQUE INDEX push_subscriptions_endpoint ON push_subscriptions (endpoint);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

-- One row per notification and channel sent (or deliberately not sent): its key names the
-- cause, e.g. `reminder:{event}:{occurrence start}:{minutes}:email`, so a reminder goes
-- once whatever the number of server processes, restarts or retries. Pruned after 60 days.
CREATE TABLE notifications_sent (
    key TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at BIGINT NOT NULL
);
CREATE INDEX notifications_sent_at ON notifications_sent (sent_at);
CREATE INDEX notifications_sent_user ON notifications_sent (user_id);

-- What the minute scan looks for, without reading every event and task: events that
-- remind, and tasks with a do-time (not only a day).
CREATE INDEX events_reminding ON events (user_id) WHERE reminders <> '[]' AND reminders <> '';
CREATE INDEX tasks_do_time ON tasks (do_day, user_id) WHERE do_at LIKE '%T%';

-- Keys the instance makes for itself on first start (the VAPID key pair, the key that
-- signs unsubscribe links). Every server process reads the same ones.
CREATE TABLE instance_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The one-click unsubscribe address of an email (RFC 8058), sent as List-Unsubscribe.
ALTER TABLE emails ADD COLUMN unsubscribe_url TEXT;

-- Quick capture made offline is sent again until it gets through: each capture carries an
-- idempotency key (made on the device), and a key seen before answers with the tasks it
-- made then instead of making them twice. Pruned after 30 days.
CREATE TABLE capture_keys (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    task_ids TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX capture_keys_created ON capture_keys (created_at);

-- A calendar's default reminders (minutes before, JSON), given to events made in it from
-- the pages or the API without reminders of their own.
ALTER TABLE calendars ADD COLUMN default_reminders TEXT NOT NULL DEFAULT '[]';
