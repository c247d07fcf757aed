-- The language a person chose for the interface (issue 29): '' follows the
-- browser's Accept-Language; otherwise one of en, de, fr, es, pt-BR.
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT '';
