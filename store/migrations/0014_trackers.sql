-- Issue trackers (issue 27). A group's connection to its tracker: the base
-- URL is one of the operator's list (--trackers), the token is kept as given
-- (the README says so: protect the database and its backups). An imported
-- issue keeps its reference in the tracker (a Jira key, an issue number), its
-- web page, and where it came from (tracker_from: the base URL and project),
-- so that its estimate goes only to that tracker, not to one connected later. The outbox holds the accepted estimate to write back, one row
-- per issue: seq grows with each new value, lease_until (unix ms) is when a
-- sender's claim on the row lapses, next_at (unix ms) when it is next due.
CREATE TABLE group_trackers (
    group_id     INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('jira', 'github', 'gitlab')),
    base_url     TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    project      TEXT    NOT NULL,
    field        TEXT    NOT NULL DEFAULT '',
    connected_at INTEGER NOT NULL
) STRICT;

ALTER TABLE issues ADD COLUMN tracker_ref TEXT;
ALTER TABLE issues ADD COLUMN tracker_url TEXT;
ALTER TABLE issues ADD COLUMN tracker_from TEXT;

CREATE TABLE tracker_outbox (
    issue_id    INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    value       INTEGER NOT NULL CHECK (value BETWEEN 1 AND 100),
    seq         INTEGER NOT NULL DEFAULT 1,
    state       TEXT    NOT NULL CHECK (state IN ('waiting', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX tracker_outbox_due ON tracker_outbox (next_at) WHERE state = 'waiting';
