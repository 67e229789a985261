-- Cache coherence across replicas (postgres only; SQLite is one process).
-- Every committed consent event and policy publication sends a notification on the
-- `troth_changes` channel; each `troth serve` LISTENs and refreshes (or drops) what
-- its decision index holds for that tenant/subject. NOTIFY is transactional: it is
-- delivered at commit and never for a rolled-back write. The payload names only
-- pseudonymous ids (tenant, subject) or the policy's content hash: no PI.
-- Statement-level triggers with transition tables: one notification per distinct
-- (tenant, subject) of a group-committed batch, not one per row.

CREATE FUNCTION troth_notify_consent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('troth_changes',
        json_build_object('kind', 'consent', 'tenant', d.tenant_id, 'subject', d.subject_id)::text)
    FROM (SELECT DISTINCT tenant_id, subject_id FROM new_rows) AS d;
    RETURN NULL;
END
$$;

CREATE TRIGGER consent_events_notify
    AFTER INSERT ON consent_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION troth_notify_consent();

CREATE FUNCTION troth_notify_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('troth_changes',
        json_build_object('kind', 'policy', 'tenant', d.tenant_id, 'version', d.content_hash)::text)
    FROM (SELECT DISTINCT tenant_id, content_hash FROM new_rows) AS d;
    RETURN NULL;
END
$$;

CREATE TRIGGER policy_versions_notify
    AFTER INSERT ON policy_versions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION troth_notify_policy();
