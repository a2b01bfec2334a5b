-- Leases: work that must run in one server process at a time (a connected calendar's sync,
-- a subscription's fetch, the periodic upkeep) takes a named lease first. A lease is held
-- until its holder gives it back or `until_ms` passes (a holder that crashed blocks no one
-- for longer than that). Works the same on SQLite and PostgreSQL (an upsert whose update
-- only happens when the lease is free or already the taker's).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
