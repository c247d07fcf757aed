-- A round's votes move from one row per person (estimates) to one row per
-- issue (ballots; see store/ballot.go): slots of 9 bytes sorted by user id, an
-- 8-byte big-endian user id and a 1-byte card (0: took part in a revealed
-- round, 1–100, 101 "?", 102 coffee). Per-person rows sat in the pages in the
-- order people voted, each as large as its value; a reveal that only emptied
-- their values left both behind. The ballot's size and place follow from how
-- many voted, and nothing else.
CREATE TABLE ballots (
    issue_id INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    votes    BLOB    NOT NULL CHECK (length(votes) > 0 AND length(votes) % 9 = 0)
) STRICT;

INSERT INTO ballots (issue_id, votes)
    SELECT issue_id, unhex(group_concat(printf('%016x%02x', user_id,
            CASE WHEN special = '?' THEN 101 WHEN special = 'coffee' THEN 102 ELSE COALESCE(value, 0) END), '' ORDER BY user_id))
    FROM estimates GROUP BY issue_id;

-- secure_delete zeroes the dropped table's pages.
DROP TABLE estimates;
