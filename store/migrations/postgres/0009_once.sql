-- PostgreSQL twin of ../0009_once.sql (IF NOT EXISTS throughout, as there).
CREATE TABLE IF NOT EXISTS once_tokens (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token      TEXT   COLLATE "C" NOT NULL,
    kind       TEXT   COLLATE "C" NOT NULL,
    digest     TEXT   COLLATE "C" NOT NULL,
    target     BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, token)
);
CREATE INDEX IF NOT EXISTS once_tokens_created ON once_tokens (created_at);
