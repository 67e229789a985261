-- troth store schema v1 (PostgreSQL). Every table is keyed by tenant_id first, and by
-- subject_id next where the row belongs to a subject, so it can be sharded later.
-- Times are Unix nanoseconds (BIGINT). Ids are text.

CREATE TABLE tenants (
    tenant_id   TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_ns  BIGINT NOT NULL
);

-- One row per tenant: the consent ledger and audit chain heads, locked by every
-- write that appends to them, plus the latest signed tip checkpoint.
CREATE TABLE tenant_heads (
    tenant_id    TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (tenant_id),
    consent_seq  BIGINT NOT NULL,
    audit_seq    BIGINT NOT NULL,
    audit_hash   BYTEA    NOT NULL,
    tip_seq      BIGINT,
    tip_hash     BYTEA,
    tip_sig      BYTEA
);

CREATE TABLE policy_versions (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    content_hash  TEXT    NOT NULL,
    pack_id       TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    published_ns  BIGINT NOT NULL,
    effective_ns  BIGINT NOT NULL,
    significant   BOOLEAN NOT NULL,
    source_toml   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, content_hash)
);

CREATE TABLE subjects (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id   TEXT    NOT NULL,
    age_band     TEXT,
    guardian_id  TEXT,
    status       TEXT    NOT NULL,
    created_ns   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

-- Blind-index token -> subject; the identity itself only as ciphertext.
CREATE TABLE identities (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    token       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    value_ct    BYTEA    NOT NULL,
    created_ns  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token)
);
CREATE INDEX identities_by_subject ON identities (tenant_id, subject_id);

-- Append-only consent ledger. seq is the tenant's ledger sequence number.
CREATE TABLE consent_events (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id  TEXT    NOT NULL,
    seq         BIGINT NOT NULL,
    event_id    TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    time_ns     BIGINT NOT NULL,
    actor       TEXT    NOT NULL,
    audit_seq   BIGINT NOT NULL,
    event_json  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, seq)
);

-- ciphertext = format(1) || nonce(24) || AEAD ciphertext || tag(16).
CREATE TABLE vault_records (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id  TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    ciphertext  BYTEA    NOT NULL,
    created_ns  BIGINT NOT NULL,
    expires_ns  BIGINT,
    PRIMARY KEY (tenant_id, subject_id, category, record_id)
);

CREATE TABLE audit_log (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (tenant_id),
    seq        BIGINT NOT NULL,
    time_ns    BIGINT NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    prev_hash  BYTEA    NOT NULL,
    hash       BYTEA    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_checkpoints (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (tenant_id),
    seq        BIGINT NOT NULL,
    hash       BYTEA    NOT NULL,
    signature  BYTEA    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE disclosures (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (tenant_id),
    subject_id     TEXT    NOT NULL,
    disclosure_id  TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    categories     TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,
    basis          TEXT    NOT NULL,
    destination    TEXT,
    time_ns        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id, disclosure_id)
);
