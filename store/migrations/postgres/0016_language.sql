-- The PostgreSQL twin of 0016_language.sql.
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT '';
