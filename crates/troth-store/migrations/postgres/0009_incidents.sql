-- Breach incidents (postgres): what happened, as JSON written by the server, its
-- status, how many people it affects once assessed, and a timeline of every step.
-- Notices go through the outbox in the same transaction as the step that sends them.

CREATE TABLE incidents (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    incident_id   TEXT    NOT NULL,
    details_json  TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    affected      BIGINT,
    created_ns    BIGINT  NOT NULL,
    updated_ns    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, incident_id)
);

CREATE TABLE incident_events (
    tenant_id    TEXT    NOT NULL,
    incident_id  TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    at_ns        BIGINT  NOT NULL,
    action       TEXT    NOT NULL,
    detail_json  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, seq)
);

-- Finding the people an incident affects: subjects holding a category in the vault,
-- or an identity of a kind, without scanning every row.
CREATE INDEX vault_by_category ON vault_records (tenant_id, category, subject_id);
CREATE INDEX identities_by_kind ON identities (tenant_id, kind, subject_id);
