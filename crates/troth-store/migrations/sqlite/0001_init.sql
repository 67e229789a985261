-- troth store schema v1 (SQLite). Every table is keyed by tenant_id first, and by
-- subject_id next where the row belongs to a subject, so it can be sharded later.
-- Times are Unix nanoseconds (INTEGER). Ids are text. WITHOUT ROWID clusters rows by key.

CREATE TABLE tenants (
    tenant_id   TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per tenant: the consent ledger and audit chain heads, locked by every
-- write that appends to them, plus the latest signed tip checkpoint.
CREATE TABLE tenant_heads (
    tenant_id    TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    consent_seq  INTEGER NOT NULL,
    audit_seq    INTEGER NOT NULL,
    audit_hash   BLOB    NOT NULL,
    tip_seq      INTEGER,
    tip_hash     BLOB,
    tip_sig      BLOB
) WITHOUT ROWID;

CREATE TABLE policy_versions (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    content_hash  TEXT    NOT NULL,
    pack_id       TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    published_ns  INTEGER NOT NULL,
    effective_ns  INTEGER NOT NULL,
    significant   INTEGER NOT NULL,
    source_toml   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, content_hash)
) WITHOUT ROWID;

CREATE TABLE subjects (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id   TEXT    NOT NULL,
    age_band     TEXT,
    guardian_id  TEXT,
    status       TEXT    NOT NULL,
    created_ns   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
) WITHOUT ROWID;

-- Blind-index token -> subject; the identity itself only as ciphertext.
CREATE TABLE identities (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    token       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    value_ct    BLOB    NOT NULL,
    created_ns  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token)
) WITHOUT ROWID;
CREATE INDEX identities_by_subject ON identities (tenant_id, subject_id);

-- Append-only consent ledger. seq is the tenant's ledger sequence number.
CREATE TABLE consent_events (
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
) WITHOUT ROWID;

-- ciphertext = format(1) || nonce(24) || AEAD ciphertext || tag(16).
CREATE TABLE vault_records (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id  TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    created_ns  INTEGER NOT NULL,
    expires_ns  INTEGER,
    PRIMARY KEY (tenant_id, subject_id, category, record_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (tenant_id),
    seq        INTEGER NOT NULL,
    time_ns    INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

CREATE TABLE audit_checkpoints (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (tenant_id),
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL,
    signature  BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

CREATE TABLE disclosures (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id     TEXT    NOT NULL,
    disclosure_id  TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    categories     TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,
    basis          TEXT    NOT NULL,
    destination    TEXT,
    time_ns        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, disclosure_id)
) WITHOUT ROWID;
