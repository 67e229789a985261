-- troth store schema v2 (SQLite): what the HTTP service keeps beside the domain.

-- API keys: only the BLAKE3 hash of each token is stored; the token is shown once.
CREATE TABLE api_keys (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    key_id      TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    subject_id  TEXT,
    created_ns  INTEGER NOT NULL,
    revoked_ns  INTEGER,
    PRIMARY KEY (tenant_id, key_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (key_hash);

-- Idempotency records: a write retried with the same key gets the first answer.
-- status and body are NULL while the first attempt is still running.
CREATE TABLE idempotency (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    scope         TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER,
    body          TEXT,
    created_ns    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, scope, idem_key)
) WITHOUT ROWID;
