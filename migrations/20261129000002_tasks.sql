-- Tasks and focus: zones (life areas), tasks with nested micro-steps, time blocks on the
-- calendar, focus sessions, energy, and what motivation counts. See docs/ARCHITECTURE.md, "Tasks".

CREATE TABLE zones (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The name lower-cased: one zone per name, whatever the case.
    name_key TEXT NOT NULL,
    color TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX zones_name ON zones (user_id, name_key);

-- A task, or a micro-step of one (parent_id set; root_id names the task at the top, depth
-- counts levels below it). Dates are the user's wall time as written: `do_at`/`due_at` are
-- `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`; `do_day`/`due_day` their dates, for lists;
-- `due_ms` the deadline as an instant (end of the day for a date), for sorting and planning.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES tasks (id) ON DELETE CASCADE,
    root_id TEXT NOT NULL,
    depth INTEGER NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    notes TEXT NOT NULL,
    zone_id TEXT REFERENCES zones (id) ON DELETE SET NULL,
    -- Space-separated and space-padded (" home errands "), so `LIKE '% home %'` finds a tag.
    tags TEXT NOT NULL,
    priority INTEGER NOT NULL,
    do_at TEXT,
    do_day TEXT,
    due_at TEXT,
    due_day TEXT,
    due_ms BIGINT,
    estimate_minutes INTEGER,
    energy TEXT,
    status TEXT NOT NULL,
    rrule TEXT,
    is_template INTEGER NOT NULL DEFAULT 0,
    completed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tasks_user_status ON tasks (user_id, status, do_day);
CREATE INDEX tasks_root ON tasks (root_id, depth, position);

-- A time block: an event on the user's "Task blocks" calendar that stands for work on a task.
CREATE TABLE task_blocks (
    event_id TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX task_blocks_task ON task_blocks (task_id, start_ms);
CREATE INDEX task_blocks_user ON task_blocks (user_id, start_ms);

-- Focus sessions: the timer as instants, so every device computes the same remaining time.
CREATE TABLE focus_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id TEXT REFERENCES tasks (id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    planned_ms BIGINT NOT NULL,
    started_ms BIGINT NOT NULL,
    paused_at_ms BIGINT,
    paused_total_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    -- Set while running or paused: at most one active session per user, on both databases.
    active_key TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX focus_sessions_active ON focus_sessions (active_key);
CREATE INDEX focus_sessions_user ON focus_sessions (user_id, started_ms);

-- "What pulled me away": one line, noted during a session (or outside one).
CREATE TABLE distractions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT REFERENCES focus_sessions (id) ON DELETE SET NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX distractions_user ON distractions (user_id, created_at);

CREATE TABLE energy_logs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level INTEGER NOT NULL,
    note TEXT NOT NULL,
    check_in INTEGER NOT NULL DEFAULT 0,
    at_ms BIGINT NOT NULL
);
CREATE INDEX energy_logs_user ON energy_logs (user_id, at_ms);

-- XP: one award per thing (a step, a task, a session), so redoing it earns nothing more and
-- undoing it takes nothing away. `day` is the user's local date: the streak counts days.
CREATE TABLE xp_awards (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    points BIGINT NOT NULL,
    day TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX xp_awards_subject ON xp_awards (user_id, kind, subject_id);
CREATE INDEX xp_awards_day ON xp_awards (user_id, day);

-- Rewards the user defines and buys with points (XP not yet spent).
CREATE TABLE rewards (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    cost BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE reward_claims (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reward_id TEXT REFERENCES rewards (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    cost BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX reward_claims_user ON reward_claims (user_id, at_ms);

-- Focus lengths, motivation switches, peak hours and planning settings, as one JSON document.
ALTER TABLE users ADD COLUMN task_settings TEXT NOT NULL DEFAULT '{}';
