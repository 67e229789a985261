-- troth key store schema v1 (PostgreSQL). Kept in its own database so that
-- backups of the data database never contain keys: destroying a subject key here
-- makes that subject's ciphertext unreadable in every data backup too.

-- Tenant keys (kind 'tek') and blind-index keys (kind 'blind') wrapped by the master key.
CREATE TABLE tenant_keys (
    tenant_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    key_version  BIGINT NOT NULL,
    wrapped      BYTEA    NOT NULL,
    created_ns   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, key_version)
);

-- Subject data keys wrapped by the tenant key. Deleting a row crypto-shreds the subject.
CREATE TABLE subject_keys (
    tenant_id    TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    wrapped      BYTEA    NOT NULL,
    created_ns   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);

