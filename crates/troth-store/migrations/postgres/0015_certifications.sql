-- Developer real-name certifications (PostgreSQL): the workflow's state only. The values
-- (name, ID number, company, credit code, document copies) are in the subject's
-- vault, encrypted under the subject's key; nothing here is personal information.
-- `decided_by` is a pseudonymous actor (`check:<target>`, `key:<id>`), `reason` a
-- PI-free code.

CREATE TABLE certifications (
    tenant_id         TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id        TEXT    NOT NULL,
    certification_id  TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('person', 'company')),
    purpose           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN
                        ('submitted', 'checking', 'certified', 'manual_review', 'rejected')),
    copy_received     BOOLEAN NOT NULL,
    certified_by      TEXT    CHECK (certified_by IN ('check', 'operator')),
    decided_by        TEXT,
    reason            TEXT,
    submitted_ns      BIGINT  NOT NULL,
    updated_ns        BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, certification_id)
);
