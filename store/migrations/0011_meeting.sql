-- Facilitators and quick votes (issue 25). A member with facilitator = 1 runs
-- the meeting with the owner (the room and the backlog); the owner's row keeps
-- 0: the owner runs it anyway. quick_seq is the last number a quick vote took
-- (Q-1, Q-2, …): a key once given is never given again, even after its issue
-- was deleted, since a team may have written it down.
ALTER TABLE memberships ADD COLUMN facilitator INTEGER NOT NULL DEFAULT 0 CHECK (facilitator IN (0, 1));
ALTER TABLE groups ADD COLUMN quick_seq INTEGER NOT NULL DEFAULT 0;
