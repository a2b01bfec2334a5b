-- CalDAV (issue 16). Properties a calendar app sets on a task list that Calento does not
-- model (Apple Reminders' calendar-order when lists are reordered, a description): kept
-- and given back as written, as `dav_properties` keeps them for calendars. A list is
-- "Tasks" (`tasks`) or a zone, so the list has no foreign key; a zone's go with it
-- (server/src/dav/todo.rs, delete_list).
CREATE TABLE dav_list_properties (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, list_id, name)
);
