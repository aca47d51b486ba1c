-- A counter every identity write moves (in its transaction where it has one). Each
-- process polls it with the revocation sync (every second) and drops its cached
-- resolutions when another process changed something: a role granted, a project
-- renamed, seen by every process within a second — not only the writes that revoke.
CREATE TABLE identity_generation (
    id BIGINT PRIMARY KEY,
    n  BIGINT NOT NULL
);
INSERT INTO identity_generation (id, n) VALUES (1, 0);
