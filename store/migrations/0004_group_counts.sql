-- "My Groups" shows, for every group of the user, its member count and open
-- issues on every visit; counting them group by group was most of that page's
-- cost. The counts live on the group row instead, kept by triggers in the same
-- transaction as every change (foreign-key cascades included), so they cannot
-- drift from the rows they count.
ALTER TABLE groups ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN open_issues INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET
    member_count = (SELECT COUNT(*) FROM memberships m WHERE m.group_id = groups.id),
    open_issues  = (SELECT COUNT(*) FROM issues i WHERE i.group_id = groups.id AND i.state = 'open');

CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships BEGIN
    UPDATE groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships BEGIN
    UPDATE groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
END;
CREATE TRIGGER memberships_count_update AFTER UPDATE OF group_id ON memberships
WHEN OLD.group_id <> NEW.group_id BEGIN
    UPDATE groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
    UPDATE groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;

CREATE TRIGGER issues_open_insert AFTER INSERT ON issues WHEN NEW.state = 'open' BEGIN
    UPDATE groups SET open_issues = open_issues + 1 WHERE id = NEW.group_id;
END;
CREATE TRIGGER issues_open_delete AFTER DELETE ON issues WHEN OLD.state = 'open' BEGIN
    UPDATE groups SET open_issues = open_issues - 1 WHERE id = OLD.group_id;
END;
CREATE TRIGGER issues_open_update AFTER UPDATE OF state, group_id ON issues
WHEN (OLD.state = 'open') <> (NEW.state = 'open') OR OLD.group_id <> NEW.group_id BEGIN
    UPDATE groups SET open_issues = open_issues - 1 WHERE id = OLD.group_id AND OLD.state = 'open';
    UPDATE groups SET open_issues = open_issues + 1 WHERE id = NEW.group_id AND NEW.state = 'open';
END;
