-- Audit trail: who did what and when. Never an estimate value.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    nickname   TEXT    NOT NULL DEFAULT '',
    group_id   INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    issue_id   INTEGER REFERENCES issues (id) ON DELETE SET NULL,
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_group ON events (group_id, id);
CREATE INDEX events_user ON events (user_id);
