-- Retention sweep cursors (PostgreSQL; issue #8).
--
-- A run keeps where it stopped, so each batch carries on from there and a replica
-- that takes the run over resumes there. PostgreSQL sweeps in expiry order through
-- the expiry index of 0007 (its heap is in insertion order, which follows expiry,
-- and a delete leaves index entries for vacuum, so the number of indexes does not
-- weigh on it): its cursor is the latest expiry removed, which spares each batch
-- stepping over every entry the run already deleted. SQLite sweeps in primary-key
-- order and keeps the last key instead (its migration 0014); both backends have all
-- four columns so a run row means the same everywhere.
ALTER TABLE retention_runs ADD COLUMN cursor_subject TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_category TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_record TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_expires_ns BIGINT;
