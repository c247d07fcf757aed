-- A creating form's one-time field (once): the first request that carries it
-- acts, and records here what it made; the same form sent again by the same
-- person (a double click, a retry after a timeout) finds the row and answers
-- with what the first made. digest is a hash of what the form asked (its kind,
-- address and fields), so a token seen again with other content acts anew.
-- target is what was made: a group's or an issue's id, or an import's count.
-- Rows go after a day (Purge). (IF NOT EXISTS throughout: tests roll the
-- schema back and apply every later migration again.)
CREATE TABLE IF NOT EXISTS once_tokens (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token      TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    target     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, token)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS once_tokens_created ON once_tokens (created_at);
