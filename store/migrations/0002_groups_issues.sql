CREATE TABLE groups (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    invite_token TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
) STRICT;

-- The owner is the one membership with role 'owner'.
CREATE TABLE memberships (
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT    NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id, group_id);
CREATE UNIQUE INDEX memberships_one_owner ON memberships (group_id) WHERE role = 'owner';

-- result holds the anonymous distribution taken at reveal ("value:count,…"), so a
-- revealed result outlives the estimates it was made from.
CREATE TABLE issues (
    id             INTEGER PRIMARY KEY,
    group_id       INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    key            TEXT    NOT NULL,
    key_fold       TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    state          TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'revealed', 'accepted')),
    round          INTEGER NOT NULL DEFAULT 1,
    result         TEXT,
    final_estimate INTEGER CHECK (final_estimate BETWEEN 1 AND 100),
    created_at     INTEGER NOT NULL,
    UNIQUE (group_id, key_fold)
) STRICT;

-- One estimate per member per issue. After the reveal the values are dropped
-- (value NULL): the anonymous result lives on the issue and nothing at rest ties a
-- value to a person any more; the rows stay to say who took part.
CREATE TABLE estimates (
    issue_id   INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    value      INTEGER CHECK (value BETWEEN 1 AND 100),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (issue_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX estimates_user ON estimates (user_id);
