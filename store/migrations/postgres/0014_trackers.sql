-- The PostgreSQL twin of 0014_trackers.sql: a group's tracker, an imported
-- issue's reference and link, and the outbox of estimates to write back.
CREATE TABLE group_trackers (
    group_id     BIGINT PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    kind         TEXT   NOT NULL CHECK (kind IN ('jira', 'github', 'gitlab')),
    base_url     TEXT   NOT NULL,
    token        TEXT   NOT NULL,
    project      TEXT   NOT NULL,
    field        TEXT   NOT NULL DEFAULT '',
    connected_at BIGINT NOT NULL
);

ALTER TABLE issues ADD COLUMN tracker_ref TEXT;
ALTER TABLE issues ADD COLUMN tracker_url TEXT;
ALTER TABLE issues ADD COLUMN tracker_from TEXT;

CREATE TABLE tracker_outbox (
    issue_id    BIGINT   PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    value       INTEGER  NOT NULL CHECK (value BETWEEN 1 AND 100),
    seq         BIGINT   NOT NULL DEFAULT 1,
    state       TEXT     NOT NULL CHECK (state IN ('waiting', 'sent', 'failed')),
    attempts    INTEGER  NOT NULL DEFAULT 0,
    next_at     BIGINT   NOT NULL,
    lease_until BIGINT   NOT NULL DEFAULT 0,
    last_error  TEXT     NOT NULL DEFAULT '',
    updated_at  BIGINT   NOT NULL
);
CREATE INDEX tracker_outbox_due ON tracker_outbox (next_at) WHERE state = 'waiting';
