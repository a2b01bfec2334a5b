-- CalDAV moves (issue 16). When a calendar app moves an object to another collection
-- under another name (a MOVE, or the PUT-then-DELETE Thunderbird and Evolution do), the
-- collection it left must still name it as its clients know it: that collection's sync
-- reports the old name as gone, and the app's DELETE of the old name finds it already
-- moved. One row per object and collection it left; dropped when it comes back.
CREATE TABLE dav_departed (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A calendar's id, or a task list's (`tasks` or a zone's id).
    collection_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    name TEXT NOT NULL,
    departed_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, collection_id, object_id)
);
CREATE INDEX dav_departed_name ON dav_departed (user_id, collection_id, name);

-- "Is this event a booking's?" is asked for every object a calendar app writes or lists.
CREATE INDEX bookings_event ON bookings (event_id);
