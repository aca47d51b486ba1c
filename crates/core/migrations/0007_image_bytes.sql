-- Image bytes are a quota'd resource like image counts: an upload reserves bytes as
-- they arrive (in steps, with one conditional update each, so parallel uploads cannot
-- together pass the quota), and what it holds is kept on the image row (`reserved`)
-- so a crash mid-upload gives it back at the next start.
ALTER TABLE images ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;
INSERT INTO quota_usage (project_id, resource, in_use)
SELECT owner, 'image_bytes', CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM images GROUP BY owner;
