-- The PostgreSQL twin of 0012_kept_forms.sql: pending_forms is kept_forms.
ALTER TABLE pending_forms RENAME TO kept_forms;
ALTER INDEX pending_forms_session RENAME TO kept_forms_session;
ALTER INDEX pending_forms_expires RENAME TO kept_forms_expires;
ALTER INDEX pending_forms_pkey RENAME TO kept_forms_pkey;
ALTER INDEX pending_forms_ref_hash_key RENAME TO kept_forms_ref_hash_key;
