-- Users sign in with a nickname only. nickname_key is the folded form that makes
-- nicknames unique regardless of case and width.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    nickname          TEXT    NOT NULL,
    nickname_key      TEXT    NOT NULL UNIQUE,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    signin_token_hash BLOB UNIQUE,
    created_at        INTEGER NOT NULL
) STRICT;

-- Server-side sessions. The cookie carries a random token; only its hash is kept.
-- The row id is stable while the token rotates (sign-in), so what is bound to the
-- browser session (kept forms) survives the token change.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    remember     INTEGER NOT NULL DEFAULT 0 CHECK (remember IN (0, 1)),
    data         BLOB,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A browser key ties a browser to the nicknames it has used. One key may serve
-- several nicknames (a shared computer); only hashes are stored.
CREATE TABLE browser_keys (
    key_hash     BLOB    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (key_hash, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX browser_keys_user ON browser_keys (user_id);
CREATE INDEX browser_keys_last_used ON browser_keys (last_used_at);

-- Forms that reached a protected endpoint while signed out, replayed after sign-in.
CREATE TABLE pending_forms (
    id         INTEGER PRIMARY KEY,
    ref_hash   BLOB    NOT NULL UNIQUE,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX pending_forms_session ON pending_forms (session_id);
CREATE INDEX pending_forms_expires ON pending_forms (expires_at);
