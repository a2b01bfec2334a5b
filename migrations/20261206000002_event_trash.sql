-- What deleting an event removed, kept a short while so "Undo" puts it back exactly
-- (app/src/ssr/events.rs, `delete_with_undo` and `restore`): the series' rows (the
-- master and its moved or changed occurrences) and the task blocks that pointed at them,
-- as they were, in JSON. Rows older than an hour are pruned at the next delete.
CREATE TABLE event_trash (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    master_id TEXT NOT NULL,
    title TEXT NOT NULL,
    rows_json TEXT NOT NULL,
    blocks_json TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX event_trash_user ON event_trash (user_id, created_at);
