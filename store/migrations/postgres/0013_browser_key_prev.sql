-- The PostgreSQL twin of 0013_browser_key_prev.sql.
ALTER TABLE browser_keys ADD COLUMN prev_hash BYTEA;
CREATE INDEX browser_keys_prev ON browser_keys (prev_hash) WHERE prev_hash IS NOT NULL;
