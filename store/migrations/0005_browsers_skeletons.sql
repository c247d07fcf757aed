-- Browser keys get an id, so a person can see each browser that knows their
-- nickname and revoke it (a lost or stolen device). A row is one browser's tie to
-- one nickname; a shared computer's key has a row per nickname.
CREATE TABLE browser_keys_new (
    id           INTEGER PRIMARY KEY,
    key_hash     BLOB    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (key_hash, user_id)
) STRICT;
INSERT INTO browser_keys_new (key_hash, user_id, created_at, last_used_at)
    SELECT key_hash, user_id, created_at, last_used_at FROM browser_keys ORDER BY created_at, user_id;
DROP TABLE browser_keys;
ALTER TABLE browser_keys_new RENAME TO browser_keys;
CREATE INDEX browser_keys_user ON browser_keys (user_id);
CREATE INDEX browser_keys_last_used ON browser_keys (last_used_at);

-- The browser key a session was signed in with: revoking the key ends the
-- sessions it opened. Sessions from before this migration have none.
ALTER TABLE sessions ADD COLUMN browser_key_id INTEGER REFERENCES browser_keys (id) ON DELETE SET NULL;
CREATE INDEX sessions_browser_key ON sessions (browser_key_id);

-- The UTS #39 confusable skeleton of the nickname (case folded): two nicknames
-- that look alike ("Zelda" with a Cyrillic "а") share it, and the unique index
-- keeps the second from being made. The program fills it for existing users at
-- start (it cannot be computed in SQL); a user made before this migration whose
-- skeleton an older user already holds keeps NULL.
ALTER TABLE users ADD COLUMN nickname_skeleton TEXT;
CREATE UNIQUE INDEX users_nickname_skeleton ON users (nickname_skeleton);
