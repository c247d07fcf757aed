-- The PostgreSQL twin of 0011_meeting.sql: the facilitator flag of a
-- membership and the last quick-vote number of a group.
ALTER TABLE memberships ADD COLUMN facilitator SMALLINT NOT NULL DEFAULT 0 CHECK (facilitator IN (0, 1));
ALTER TABLE groups ADD COLUMN quick_seq BIGINT NOT NULL DEFAULT 0;
