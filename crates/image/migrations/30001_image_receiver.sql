-- Which process is receiving an image's data (an upload in flight, `saving`): its
-- `host/pid/random` name (core::process). At start a process kills only the uploads
-- of processes that are gone, not those of another process sharing the database and
-- data directory.
ALTER TABLE images ADD COLUMN receiver TEXT;
