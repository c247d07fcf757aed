-- A browser's previous key still proves its nicknames until the browser shows
-- it has the new one: a sign-in gives every browser a fresh key, and when its
-- answer is lost (a double click without JavaScript, a phone losing the
-- network) the browser still holds only the old one. prev_hash is cleared by
-- the browser's first request with its new session (and new key).
ALTER TABLE browser_keys ADD COLUMN prev_hash BLOB;
CREATE INDEX browser_keys_prev ON browser_keys (prev_hash) WHERE prev_hash IS NOT NULL;
