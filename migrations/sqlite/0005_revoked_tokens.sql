-- Login tokens ended by POST /auth/logout before their exp, by token id
-- (the jti claim). A request with a revoked token is refused as any bad
-- token is; several servers on one database see the same list. A row is
-- of use only until expires_ms (the token's exp), after which the token is
-- refused anyway: each logout drops the rows already past theirs.
CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY,
    expires_ms  INTEGER NOT NULL
);

CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_ms);
