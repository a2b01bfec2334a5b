-- Scheduled backups (`CALENTO_BACKUP_DIR`): one row a run, the newest shown on the admin
-- page and in /metrics. Instance data: no account owns it.
CREATE TABLE backups (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    ok INTEGER NOT NULL,
    archive TEXT,
    bytes BIGINT,
    row_count BIGINT,
    error TEXT
);
CREATE INDEX backups_finished ON backups (finished_at);
