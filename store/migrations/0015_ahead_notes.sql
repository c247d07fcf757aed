-- Estimating ahead and anonymous notes (issue 28; see store/ahead.go and
-- store/notes.go).
--
-- ahead_until is the deadline (Unix milliseconds) until which an open issue
-- takes votes ahead of the meeting; ahead_fired is set once the deadline was
-- handled (revealed, or left open with too few numeric votes).
ALTER TABLE issues ADD COLUMN ahead_until INTEGER;
ALTER TABLE issues ADD COLUMN ahead_fired INTEGER NOT NULL DEFAULT 0 CHECK (ahead_fired IN (0, 1));

-- The notes of an open round, one row per issue like its ballot: slots of
-- 1130 bytes sorted by user id (8-byte user id, 2-byte length, the note's
-- UTF-8 padded with zeros to 1120 bytes), so the row's size follows from how
-- many wrote a note and nothing else. Deleted at the reveal (secure_delete
-- zeroes it), when the notes move, without a person, into the round.
CREATE TABLE open_notes (
    issue_id INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    notes    BLOB    NOT NULL CHECK (length(notes) > 0 AND length(notes) % 1130 = 0)
) STRICT;

-- A revealed round's notes: a JSON list of [card, text] sorted by card and
-- text, no person, no time, no order.
ALTER TABLE issue_rounds ADD COLUMN notes TEXT NOT NULL DEFAULT '';

-- The open round's note key (32 random bytes): a voter's browser holds
-- HMAC(key, user, round), set with the answer to their vote. At the reveal the
-- key is deleted, and only the hashes of the tokens of the voters invited to
-- add a note (the lowest and the highest number) are kept, sorted by hash,
-- with the card they came with (note_rights: 16-byte hash, 1-byte card; card
-- 0 once used). Nobody, the operator included, can tell whose token a hash is
-- once the key is gone.
CREATE TABLE note_keys (
    issue_id INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    key      BLOB    NOT NULL CHECK (length(key) = 32)
) STRICT;
CREATE TABLE note_rights (
    issue_id INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    rights   BLOB    NOT NULL CHECK (length(rights) > 0 AND length(rights) % 17 = 0)
) STRICT;
