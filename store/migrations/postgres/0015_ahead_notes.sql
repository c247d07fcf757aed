-- The PostgreSQL twin of 0015_ahead_notes.sql: the ahead deadline, the open
-- round's notes, the revealed round's notes, and the note key and rights.
ALTER TABLE issues ADD COLUMN ahead_until BIGINT;
ALTER TABLE issues ADD COLUMN ahead_fired SMALLINT NOT NULL DEFAULT 0 CHECK (ahead_fired IN (0, 1));
CREATE TABLE open_notes (
    issue_id BIGINT PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    notes    BYTEA  NOT NULL CHECK (length(notes) > 0 AND length(notes) % 1130 = 0)
);
ALTER TABLE issue_rounds ADD COLUMN notes TEXT NOT NULL DEFAULT '';
CREATE TABLE note_keys (
    issue_id BIGINT PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    key      BYTEA  NOT NULL CHECK (length(key) = 32)
);
CREATE TABLE note_rights (
    issue_id BIGINT PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    rights   BYTEA  NOT NULL CHECK (length(rights) > 0 AND length(rights) % 17 = 0)
);
