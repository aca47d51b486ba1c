-- Extra attributes Keystone keeps on users and projects (any JSON a client gives
-- beyond the known fields, returned as given), and an application credential's
-- expires_at as the client wrote it (Keystone returns it so).
ALTER TABLE users ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE projects ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE application_credentials ADD COLUMN expires_at_given TEXT;
