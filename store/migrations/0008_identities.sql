-- Users who sign in through the company's identity provider (OpenID Connect) or
-- a trusted proxy header are linked by issuer and subject, never by name: a
-- nickname can change at the provider, or be taken here by a guest.
-- (IF NOT EXISTS throughout: tests roll the schema back to an older migration
-- and apply every later one again.)
CREATE TABLE IF NOT EXISTS identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identities_user ON identities (user_id);

-- A sign-in in progress, bound to the browser session that started it: an
-- OpenID Connect round trip ('oidc': the state names it, and it holds the nonce
-- and PKCE verifier), or a verified identity waiting for its nickname to be
-- chosen ('choice'). Either way it carries where to go next and the kept form to
-- replay, so neither travels through the provider. Only the token's hash is kept.
CREATE TABLE IF NOT EXISTS signin_flows (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('oidc', 'choice')),
    token_hash BLOB    NOT NULL UNIQUE,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    nonce      TEXT    NOT NULL DEFAULT '',
    verifier   TEXT    NOT NULL DEFAULT '',
    issuer     TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL DEFAULT '',
    proposed   TEXT    NOT NULL DEFAULT '',
    next       TEXT    NOT NULL DEFAULT '/',
    kept       TEXT    NOT NULL DEFAULT '',
    remember   INTEGER NOT NULL DEFAULT 0 CHECK (remember IN (0, 1)),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS signin_flows_session ON signin_flows (session_id);
CREATE INDEX IF NOT EXISTS signin_flows_expires ON signin_flows (expires_at);
