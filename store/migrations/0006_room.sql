-- The estimation room: a group's deck and settings, the issue it estimates now,
-- spectators, the special cards, a server-side timer, and the rounds of an issue.

-- deck is a deck spec ("fibonacci", "custom:1,2,4"; see store/deck.go).
-- current_issue_id is the issue the group estimates now: the room follows it.
ALTER TABLE groups ADD COLUMN deck TEXT NOT NULL DEFAULT 'fibonacci';
ALTER TABLE groups ADD COLUMN auto_reveal INTEGER NOT NULL DEFAULT 0 CHECK (auto_reveal IN (0, 1));
ALTER TABLE groups ADD COLUMN timer_seconds INTEGER NOT NULL DEFAULT 0 CHECK (timer_seconds BETWEEN 0 AND 3600);
ALTER TABLE groups ADD COLUMN current_issue_id INTEGER REFERENCES issues (id) ON DELETE SET NULL;

-- A spectator watches the room without voting; counts and auto-reveal ignore them.
ALTER TABLE memberships ADD COLUMN seat TEXT NOT NULL DEFAULT 'voter' CHECK (seat IN ('voter', 'spectator'));

-- The special cards: "?" (unsure) and "coffee" (a break). Like value, special is
-- dropped at the reveal; a row holds a number or a special card, never both.
ALTER TABLE estimates ADD COLUMN special TEXT CHECK (special IS NULL OR special IN ('?', 'coffee') AND value IS NULL);

-- The round's countdown, kept by the server so it reveals with no client
-- connected: timer_ends_at in Unix milliseconds (NULL: no timer), timer_up once
-- time ran out on a round that could not be revealed (fewer than 2 votes).
ALTER TABLE issues ADD COLUMN timer_ends_at INTEGER;
ALTER TABLE issues ADD COLUMN timer_up INTEGER NOT NULL DEFAULT 0 CHECK (timer_up IN (0, 1));
CREATE INDEX issues_timer_due ON issues (timer_ends_at) WHERE timer_ends_at IS NOT NULL AND timer_up = 0;

-- Every revealed round keeps its anonymous result (the same encoding as
-- issues.result, deck included) and nothing else: no names, no order of voting,
-- no times. issues.result stays the latest round's.
CREATE TABLE issue_rounds (
    issue_id INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    round    INTEGER NOT NULL CHECK (round >= 1),
    result   TEXT    NOT NULL,
    PRIMARY KEY (issue_id, round)
) STRICT, WITHOUT ROWID;

INSERT INTO issue_rounds (issue_id, round, result)
    SELECT id, round, result FROM issues WHERE result IS NOT NULL AND result <> '';
