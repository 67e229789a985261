-- troth store schema v3 (SQLite): the consent ledger becomes a rowid table.
--
-- As a WITHOUT ROWID table clustered by (tenant_id, subject_id, seq), every ledger row
-- (≈ 450 bytes, mostly event JSON) lived in the primary-key b-tree, whose interior
-- pages then hold whole rows too: few rows per page, frequent splits, and a
-- group-committed batch of 32 events from 32 subjects dirtied ≈ 88 ledger pages
-- (≈ 96 with the audit entries and head: ≈ 400 KB of write-ahead log per commit).
-- As a rowid table the rows are appended in insertion order and the primary key is
-- a separate index of small entries: ≈ 56 pages per batch in all. The primary key,
-- and so every lookup by tenant and subject, is unchanged.

CREATE TABLE consent_events_v3 (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    time_ns     INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    audit_seq   INTEGER NOT NULL,
    event_json  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, seq)
);

INSERT INTO consent_events_v3
    (tenant_id, subject_id, seq, event_id, purpose, action, time_ns, actor, audit_seq, event_json)
SELECT tenant_id, subject_id, seq, event_id, purpose, action, time_ns, actor, audit_seq, event_json
FROM consent_events
ORDER BY tenant_id, seq;

DROP TABLE consent_events;

ALTER TABLE consent_events_v3 RENAME TO consent_events;
