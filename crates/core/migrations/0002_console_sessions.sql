-- Console sessions (tower-sessions records), kept in the database so that a restart
-- of the server signs nobody out. data is the session's JSON; expires_at is Unix
-- seconds, past which a session is gone.
CREATE TABLE console_sessions (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
