-- The morning ritual's plan for a day (intention, up to three top tasks) and the evening
-- shutdown. One row per user and local day (`YYYY-MM-DD`).
CREATE TABLE daily_plans (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    intention TEXT NOT NULL,
    -- Space-separated task ids, in the order chosen.
    top_task_ids TEXT NOT NULL,
    planned_at BIGINT NOT NULL,
    shutdown_at BIGINT,
    PRIMARY KEY (user_id, day)
);
