-- Trusts (OS-TRUST): a trustor delegates some of its roles on a project to a trustee,
-- who gets trust-scoped tokens with them (as the trustor when impersonating).
CREATE TABLE trusts (
    id              TEXT PRIMARY KEY,
    trustor_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    trustee_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id      TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    impersonation   BIGINT NOT NULL CHECK (impersonation IN (0, 1)),
    -- JSON array of the delegated role ids.
    roles           TEXT NOT NULL,
    expires_at      TEXT,
    -- NULL: unlimited; otherwise tokens that may still be issued with the trust.
    remaining_uses  BIGINT CHECK (remaining_uses IS NULL OR remaining_uses >= 0),
    created_at      TEXT NOT NULL
);
CREATE INDEX trusts_trustor_idx ON trusts (trustor_user_id);
CREATE INDEX trusts_trustee_idx ON trusts (trustee_user_id);

-- Implied roles: holding the prior role gives the implied one too (admin implies
-- member, member implies reader, as Keystone's bootstrap makes them).
CREATE TABLE implied_roles (
    prior_role_id   TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    implied_role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- Domain-specific roles: a role with a domain is not a global role and never appears
-- in a token; its name is unique in its domain.
ALTER TABLE roles ADD COLUMN domain_id TEXT REFERENCES domains (id);
DROP INDEX roles_name_key;
CREATE UNIQUE INDEX roles_domain_name_key ON roles (COALESCE(domain_id, ''), lower(name));

-- Credentials (/v3/credentials, EC2 credentials among them). The blob is encrypted at
-- rest under the credential key repository (not the token keys); an EC2 credential's
-- id is the SHA-256 of its access key, as Keystone makes it.
CREATE TABLE credentials (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    blob_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX credentials_user_idx ON credentials (user_id);
