-- Retention, legal holds and reports (postgres).
--
-- Each vault record remembers the purpose it was collected for, what happens at its
-- end and the event it waits for while its end is unknown; sweeps find due records
-- by the partial index on expiry.
ALTER TABLE vault_records ADD COLUMN purpose TEXT;
ALTER TABLE vault_records ADD COLUMN on_expiry TEXT;
ALTER TABLE vault_records ADD COLUMN waits_for TEXT;
CREATE INDEX vault_records_by_expiry ON vault_records (tenant_id, expires_ns)
    WHERE expires_ns IS NOT NULL;
CREATE INDEX vault_records_waiting ON vault_records (tenant_id, waits_for)
    WHERE waits_for IS NOT NULL;

-- Legal holds: on a subject, a category, or one subject's category. Lifting keeps
-- the row (who lifted it, when): holds are evidence.
CREATE TABLE legal_holds (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    hold_id     TEXT    NOT NULL,
    subject_id  TEXT,
    category    TEXT,
    reason      TEXT    NOT NULL,
    note        TEXT,
    placed_by   TEXT    NOT NULL,
    placed_ns   BIGINT  NOT NULL,
    lifted_by   TEXT,
    lifted_ns   BIGINT,
    PRIMARY KEY (tenant_id, hold_id)
);
CREATE INDEX legal_holds_active ON legal_holds (tenant_id, subject_id) WHERE lifted_ns IS NULL;

-- One sweep lease per tenant: whoever holds an unexpired lease sweeps that tenant.
CREATE TABLE retention_leases (
    tenant_id   TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    owner       TEXT    NOT NULL,
    expires_ns  BIGINT  NOT NULL
);

-- Sweep runs and their progress, moved by every committed batch.
CREATE TABLE retention_runs (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (tenant_id),
    run_id       TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    started_ns   BIGINT  NOT NULL,
    updated_ns   BIGINT  NOT NULL,
    finished_ns  BIGINT,
    batches      BIGINT  NOT NULL,
    deleted      BIGINT  NOT NULL,
    anonymized   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, run_id)
);
CREATE INDEX retention_runs_open ON retention_runs (tenant_id) WHERE finished_ns IS NULL;

-- What anonymized records leave behind: a count per category, purpose and month of
-- collection, identifying nobody.
CREATE TABLE anonymous_tally (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (tenant_id),
    category   TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    month      TEXT    NOT NULL,
    count      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, category, purpose, month)
);

-- Generated PIA and RoPA documents, numbered per kind, kept until keep_until_ns.
CREATE TABLE report_documents (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (tenant_id),
    report_id      TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    created_ns     BIGINT  NOT NULL,
    keep_until_ns  BIGINT  NOT NULL,
    policy_hash    TEXT    NOT NULL,
    body_json      TEXT    NOT NULL,
    html_en        TEXT    NOT NULL,
    html_zh        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, report_id)
);
CREATE UNIQUE INDEX report_documents_version ON report_documents (tenant_id, kind, version);
