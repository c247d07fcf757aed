-- The PostgreSQL twin of 0010_ballots.sql: a round's votes in one row per
-- issue, slots sorted by user id (see store/ballot.go).
CREATE TABLE ballots (
    issue_id BIGINT PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    votes    BYTEA  NOT NULL CHECK (length(votes) > 0 AND length(votes) % 9 = 0)
);

INSERT INTO ballots (issue_id, votes)
    SELECT issue_id, decode(string_agg(lpad(to_hex(user_id), 16, '0') || lpad(to_hex(
                CASE WHEN special = '?' THEN 101 WHEN special = 'coffee' THEN 102 ELSE COALESCE(value, 0) END), 2, '0'), '' ORDER BY user_id), 'hex')
    FROM estimates GROUP BY issue_id;

DROP TABLE estimates;

-- The reveals whose old row versions a VACUUM has yet to free: written in the
-- reveal's transaction, deleted once the vacuum ran, so a vacuum that is due
-- survives a crash and runs at the next start (SQLite's twin of this marker is
-- the -scrub file beside the database: its own WAL must end empty).
CREATE TABLE scrub_due (
    issue_id BIGINT PRIMARY KEY
);
