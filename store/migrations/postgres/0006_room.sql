-- PostgreSQL twin of ../0006_room.sql: a group's deck and settings, the issue
-- it estimates now, spectators, the special cards, the server-side timer, and
-- the rounds of an issue.
ALTER TABLE groups ADD COLUMN deck TEXT COLLATE "C" NOT NULL DEFAULT 'fibonacci';
ALTER TABLE groups ADD COLUMN auto_reveal INTEGER NOT NULL DEFAULT 0 CHECK (auto_reveal IN (0, 1));
ALTER TABLE groups ADD COLUMN timer_seconds INTEGER NOT NULL DEFAULT 0 CHECK (timer_seconds BETWEEN 0 AND 3600);
ALTER TABLE groups ADD COLUMN current_issue_id BIGINT REFERENCES issues (id) ON DELETE SET NULL;

ALTER TABLE memberships ADD COLUMN seat TEXT COLLATE "C" NOT NULL DEFAULT 'voter' CHECK (seat IN ('voter', 'spectator'));

ALTER TABLE estimates ADD COLUMN special TEXT COLLATE "C" CHECK (special IS NULL OR special IN ('?', 'coffee') AND value IS NULL);

-- timer_ends_at in Unix milliseconds, as on SQLite.
ALTER TABLE issues ADD COLUMN timer_ends_at BIGINT;
ALTER TABLE issues ADD COLUMN timer_up INTEGER NOT NULL DEFAULT 0 CHECK (timer_up IN (0, 1));
CREATE INDEX issues_timer_due ON issues (timer_ends_at) WHERE timer_ends_at IS NOT NULL AND timer_up = 0;

CREATE TABLE issue_rounds (
    issue_id BIGINT  NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    round    INTEGER NOT NULL CHECK (round >= 1),
    result   TEXT    COLLATE "C" NOT NULL,
    PRIMARY KEY (issue_id, round)
);

INSERT INTO issue_rounds (issue_id, round, result)
    SELECT id, round, result FROM issues WHERE result IS NOT NULL AND result <> '';
