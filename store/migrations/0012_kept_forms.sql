-- One name for one thing: a form kept while its sender was signed out is a
-- kept form everywhere (the route /kept, the field kept, store.KeptForm), and
-- now in the database too.
ALTER TABLE pending_forms RENAME TO kept_forms;
DROP INDEX pending_forms_session;
DROP INDEX pending_forms_expires;
CREATE INDEX kept_forms_session ON kept_forms (session_id);
CREATE INDEX kept_forms_expires ON kept_forms (expires_at);
