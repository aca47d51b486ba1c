-- Identity (Keystone v3): domains, projects, users, groups, roles, role assignments,
-- the service catalog, application credentials and token revocation events.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Ids are TEXT (32 hex digits,
-- or 'default' for the default domain); timestamps are fixed-width RFC 3339 TEXT (UTC).
-- Flags are BIGINT 0/1: sqlx's Any driver cannot decode SQLite booleans.

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled     BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- Names compare case-insensitively, as Keystone's MySQL collation makes them.
CREATE UNIQUE INDEX domains_name_key ON domains (lower(name));

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    -- NULL for a top-level project; the API shows the domain id as its parent then.
    parent_id   TEXT REFERENCES projects (id),
    description TEXT NOT NULL DEFAULT '',
    enabled     BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX projects_domain_name_key ON projects (domain_id, lower(name));
CREATE INDEX projects_parent_idx ON projects (parent_id);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    domain_id           TEXT NOT NULL REFERENCES domains (id),
    enabled             BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    default_project_id  TEXT,
    email               TEXT,
    description         TEXT,
    -- argon2id PHC string; NULL for a user who cannot log in with a password.
    password_hash       TEXT,
    password_changed_at TEXT,
    -- Lockout after repeated failed logins.
    failed_auth_count   BIGINT NOT NULL DEFAULT 0,
    failed_auth_at      TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX users_domain_name_key ON users (domain_id, lower(name));

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL REFERENCES domains (id),
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX user_groups_domain_name_key ON user_groups (domain_id, lower(name));

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX roles_name_key ON roles (lower(name));

-- A role granted to a user or group on a project, a domain or the system.
-- Actors and targets are not foreign keys (they point at different tables); the
-- datastore deletes a user's, group's, project's or domain's rows with it.
CREATE TABLE role_assignments (
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'group')),
    actor_id    TEXT NOT NULL,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'domain', 'system')),
    target_id   TEXT NOT NULL,
    role_id     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id)
);
CREATE INDEX role_assignments_target_idx ON role_assignments (target_type, target_id);

CREATE TABLE regions (
    id               TEXT PRIMARY KEY,
    description      TEXT NOT NULL DEFAULT '',
    parent_region_id TEXT REFERENCES regions (id),
    created_at       TEXT NOT NULL
);

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    enabled     BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at  TEXT NOT NULL
);

CREATE TABLE endpoints (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    region_id  TEXT REFERENCES regions (id),
    interface  TEXT NOT NULL CHECK (interface IN ('public', 'internal', 'admin')),
    url        TEXT NOT NULL,
    enabled    BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL
);

CREATE TABLE application_credentials (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- argon2id PHC string of the secret; the secret itself is shown once.
    secret_hash  TEXT NOT NULL,
    -- JSON array of role ids the credential delegates.
    roles        TEXT NOT NULL,
    unrestricted BIGINT NOT NULL DEFAULT 0 CHECK (unrestricted IN (0, 1)),
    expires_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX application_credentials_user_name_key ON application_credentials (user_id, name);

-- Token revocation events (Keystone's model): a token matching every non-NULL field
-- and issued at or before issued_before is refused. Kept until no token that could
-- match is still unexpired (prune_after).
CREATE TABLE revocation_events (
    id                        TEXT PRIMARY KEY,
    audit_id                  TEXT,
    user_id                   TEXT,
    project_id                TEXT,
    domain_id                 TEXT,
    application_credential_id TEXT,
    issued_before             BIGINT NOT NULL,
    prune_after               BIGINT NOT NULL,
    created_at                TEXT NOT NULL
);
