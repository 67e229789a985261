-- Retention sweeps in primary-key order (sqlite; issue #8).
--
-- The vault table is clustered by (tenant, subject, category, record), while records
-- expire in an order unrelated to it. A sweep that deletes in expiry order (through
-- the expiry index of 0007) touches every table page once per record it holds, and
-- every deleted row also costs a random change in the expiry index. Sweeps now walk
-- the table in key order instead, each batch carrying on after the last key the run
-- reached (the cursor columns, so a replica that takes the run over resumes there),
-- and find due rows by their expiry as they pass; each table page is then changed once and
-- `vault_by_category` (tenant, category, subject) is changed in its own order.
-- Without the expiry index a tenant with nothing due costs one scan of its records
-- per sweep (about 0.1 s per million on the benchmark VM). `cursor_expires_ns` is
-- PostgreSQL's cursor (its migration 0014), unused here.
DROP INDEX vault_records_by_expiry;
ALTER TABLE retention_runs ADD COLUMN cursor_subject TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_category TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_record TEXT;
ALTER TABLE retention_runs ADD COLUMN cursor_expires_ns INTEGER;
