-- Cessation of operations (postgres; seed 003): a service, or the whole operation, stops.
-- From the row's commit every collection decision for the service denies; its
-- vault records are scheduled for the retention sweep (expiry set to the start,
-- action from the pack) and the notices are in the outbox in the same transaction.
-- A service ceases once: the unique index answers a second start with a conflict.
CREATE TABLE cessations (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (tenant_id),
    cessation_id   TEXT    NOT NULL,
    service        TEXT    NOT NULL,
    whole          BIGINT  NOT NULL,
    purposes_json  TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    reason         TEXT,
    announcement   TEXT,
    notice_mode    TEXT    NOT NULL,
    subjects       BIGINT  NOT NULL,
    scheduled      BIGINT  NOT NULL,
    started_ns     BIGINT  NOT NULL,
    deadline_ns    BIGINT  NOT NULL,
    started_by     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, cessation_id)
);
CREATE UNIQUE INDEX cessations_by_service ON cessations (tenant_id, service);
