-- Inherited role assignments (OS-INHERIT): a role granted on a domain or a project
-- that applies to every project below it (the domain's projects, or the project's
-- subtree), not to the target itself.
CREATE TABLE inherited_assignments (
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'group')),
    actor_id    TEXT NOT NULL,
    target_type TEXT NOT NULL CHECK (target_type IN ('project', 'domain')),
    target_id   TEXT NOT NULL,
    role_id     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id)
);
CREATE INDEX inherited_assignments_target_idx ON inherited_assignments (target_type, target_id);
CREATE INDEX inherited_assignments_actor_idx ON inherited_assignments (actor_type, actor_id);
