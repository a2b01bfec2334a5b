-- Sessions are now keyed by the SHA-256 of their id, never the id itself (a copy of the
-- database must not let anyone act as a signed-in user). Rows keyed the old way cannot be
-- converted in portable SQL, so everyone signs in once more after this upgrade.
DELETE FROM sessions;
