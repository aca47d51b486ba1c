-- Keystone's per-user option ignore_lockout_failure_attempts: failed logins never lock
-- this user (set on the bootstrap admin, so that nobody can keep the operator out by
-- guessing; guesses are still slowed per client address and by argon2).
ALTER TABLE users ADD COLUMN ignore_lockout BIGINT NOT NULL DEFAULT 0;
