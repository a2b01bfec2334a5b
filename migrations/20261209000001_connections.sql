-- Connected accounts (issue 18): Google Calendar two-way sync, Notion task sync.

-- An account at a provider a person connected (several per person and provider). Tokens
-- are encrypted with the instance's CALENTO_SECRET_KEY (AES-256-GCM); NULL once the
-- person disconnects. `status`: ok, or reconnect (the provider refused the grant).
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    account TEXT NOT NULL,
    -- The service's own id of the account (Notion: the workspace id, which webhooks name).
    external_id TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    refresh_secret TEXT,
    access_secret TEXT,
    access_expires_at BIGINT,
    scopes TEXT NOT NULL,
    -- Google: the remote calendar new bookings and task blocks are written to.
    write_calendar TEXT,
    -- Google: ask Google to email the guests of events we write (sendUpdates=all).
    send_updates INTEGER NOT NULL DEFAULT 0,
    -- When the person was last told by email that the grant was refused.
    told_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX connections_account ON connections (user_id, provider, account);

-- A calendar (Google) or task database (Notion: a data source) of a connection, and how
-- it syncs. `mode`:
-- off, busy (read-only, blocks slots and the planner) or two_way; `calendar_id` is the
-- Calento calendar it mirrors.
CREATE TABLE remote_calendars (
    id TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remote_id TEXT NOT NULL,
    name TEXT NOT NULL,
    color TEXT,
    time_zone TEXT,
    is_primary INTEGER NOT NULL DEFAULT 0,
    organiser_self INTEGER NOT NULL DEFAULT 1,
    mode TEXT NOT NULL,
    calendar_id TEXT REFERENCES calendars (id) ON DELETE SET NULL,
    -- Notion: which property holds what (JSON), guessed from names and types, editable.
    mapping TEXT,
    sync_token TEXT,
    synced_at BIGINT,
    next_sync_at BIGINT,
    created_count BIGINT NOT NULL DEFAULT 0,
    updated_count BIGINT NOT NULL DEFAULT 0,
    deleted_count BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    -- A push channel (events.watch): its id, Google's resource id, the hash of its token.
    channel_id TEXT,
    channel_resource TEXT,
    channel_token_hash TEXT,
    channel_expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX remote_calendars_remote ON remote_calendars (connection_id, remote_id);
CREATE INDEX remote_calendars_due ON remote_calendars (next_sync_at) WHERE mode <> 'off';
CREATE INDEX remote_calendars_calendar ON remote_calendars (calendar_id);
CREATE INDEX remote_calendars_user ON remote_calendars (user_id);

-- Each remote item as last seen (Google's JSON), the Calento series it belongs to (`uid`,
-- the iCalendar UID both sides share), and the fields both sides agreed at the last sync:
-- `remote_base` as the provider wrote them, `local_base` as Calento wrote them. A side
-- changed a field when it differs from its base.
CREATE TABLE remote_items (
    remote_calendar_id TEXT NOT NULL REFERENCES remote_calendars (id) ON DELETE CASCADE,
    remote_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    master_remote_id TEXT,
    etag TEXT,
    raw TEXT NOT NULL,
    remote_base TEXT,
    local_base TEXT,
    -- The Calento event (a series' master) this item was last synced with.
    event_id TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (remote_calendar_id, remote_id)
);
CREATE INDEX remote_items_uid ON remote_items (remote_calendar_id, uid);

-- What sync could not decide alone: field conflicts (logged with the side kept) and
-- questions for the person (a booking's event deleted on the other side).
CREATE TABLE sync_conflicts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remote_calendar_id TEXT REFERENCES remote_calendars (id) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    title TEXT NOT NULL,
    field TEXT NOT NULL,
    kept TEXT NOT NULL,
    detail TEXT NOT NULL,
    booking_id TEXT,
    resolved_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX sync_conflicts_user ON sync_conflicts (user_id, created_at);

-- A calendar Calento keeps for a connected one: 'busy' mirrors are read-only.
ALTER TABLE calendars ADD COLUMN mirror TEXT;
