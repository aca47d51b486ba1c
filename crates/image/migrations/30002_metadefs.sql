-- Metadata definitions (Glance metadefs): namespaces of property definitions, objects
-- and tags, and the resource types they apply to. Children hang off the namespace's
-- internal id, so renaming a namespace touches one row.
CREATE TABLE metadef_namespaces (
    id           TEXT PRIMARY KEY,
    namespace    TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    visibility   TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    protected    BIGINT NOT NULL CHECK (protected IN (0, 1)),
    owner        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Properties, objects and tags of a namespace: `body` is the definition's JSON (a
-- property's schema; an object's description, required and properties).
CREATE TABLE metadef_items (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('property', 'object', 'tag')),
    name         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (namespace_id, kind, name)
);

CREATE TABLE metadef_resource_types (
    name       TEXT PRIMARY KEY,
    protected  BIGINT NOT NULL CHECK (protected IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE metadef_associations (
    namespace_id      TEXT NOT NULL REFERENCES metadef_namespaces (id) ON DELETE CASCADE,
    resource_type     TEXT NOT NULL REFERENCES metadef_resource_types (name),
    prefix            TEXT,
    properties_target TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type)
);

-- The resource types Glance knows from the start.
INSERT INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES
    ('OS::Glance::Image', 1, '2026-12-02T00:00:00.000000Z', '2026-12-02T00:00:00.000000Z'),
    ('OS::Cinder::Volume', 1, '2026-12-02T00:00:00.000000Z', '2026-12-02T00:00:00.000000Z'),
    ('OS::Nova::Flavor', 1, '2026-12-02T00:00:00.000000Z', '2026-12-02T00:00:00.000000Z'),
    ('OS::Nova::Aggregate', 1, '2026-12-02T00:00:00.000000Z', '2026-12-02T00:00:00.000000Z'),
    ('OS::Nova::Server', 1, '2026-12-02T00:00:00.000000Z', '2026-12-02T00:00:00.000000Z');
