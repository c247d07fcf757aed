-- PostgreSQL twin of ../0004_group_counts.sql: the counts live on the group
-- row, kept by triggers (PL/pgSQL functions here) in the same transaction as
-- every change, cascades included. Re-runnable, as its SQLite twin: tests
-- roll the schema back to before it and migrate again.
ALTER TABLE groups ADD COLUMN IF NOT EXISTS member_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN IF NOT EXISTS open_issues INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET
    member_count = (SELECT COUNT(*) FROM memberships m WHERE m.group_id = groups.id),
    open_issues  = (SELECT COUNT(*) FROM issues i WHERE i.group_id = groups.id AND i.state = 'open');

CREATE OR REPLACE FUNCTION memberships_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.group_id = NEW.group_id THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS memberships_count ON memberships;
CREATE TRIGGER memberships_count AFTER INSERT OR DELETE OR UPDATE OF group_id ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_count();

CREATE OR REPLACE FUNCTION issues_open_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (OLD.state = 'open') = (NEW.state = 'open') AND OLD.group_id = NEW.group_id THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.state = 'open' THEN
            UPDATE groups SET open_issues = open_issues - 1 WHERE id = OLD.group_id;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        IF NEW.state = 'open' THEN
            UPDATE groups SET open_issues = open_issues + 1 WHERE id = NEW.group_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS issues_open_count ON issues;
CREATE TRIGGER issues_open_count AFTER INSERT OR DELETE OR UPDATE OF state, group_id ON issues
    FOR EACH ROW EXECUTE FUNCTION issues_open_count();
