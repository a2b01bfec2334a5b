-- CalDAV (issue 16). A calendar app's copy of an event: the iCalendar text it PUT, under
-- the resource name it chose, kept beside the rows Calento reads (server/src/dav). The
-- text is served back while the event's rows are still as that PUT left them (the
-- fingerprint of their ids, calendar, keys, sequence and update times); once Calento
-- changes them, the text is made from the rows again. A deleted event's row stays (its
-- text dropped) so sync reports can name what is gone; no foreign key to `events` for
-- that reason. Tasks (VTODOs) are kept the same way.
CREATE TABLE dav_objects (
    -- The event's master row, or the task.
    object_id TEXT PRIMARY KEY,
    -- 'event' or 'task'.
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The object's UID as the client wrote it (tasks have none of their own).
    uid TEXT NOT NULL,
    raw TEXT,
    fingerprint TEXT NOT NULL,
    etag TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dav_objects_name ON dav_objects (user_id, name);
CREATE INDEX dav_objects_uid ON dav_objects (user_id, uid);

-- WebDAV properties a client set on a calendar that Calento does not model itself
-- (Apple's calendar-order, a description, a time zone): stored and given back as written.
CREATE TABLE dav_properties (
    calendar_id TEXT NOT NULL REFERENCES calendars (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (calendar_id, name)
);

-- App passwords (Settings → Calendar apps): personal tokens made for one calendar app,
-- listed there and not among the API tokens.
ALTER TABLE api_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'api';
