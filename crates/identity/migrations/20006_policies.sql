-- Keystone's policies API (/v3/policies): policy documents stored for clients, each a
-- blob with its media type (Keystone stores them; it does not enforce them either).
CREATE TABLE policies (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    blob       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
