-- Data-subject rights requests (postgres). The request's transitions are kept as an
-- append-only list of events (JSON written by troth-core); status and due date are
-- copied out so open and overdue requests can be listed without replaying them.

CREATE TABLE rights_requests (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    request_id    TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    details_json  TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    due_ns        BIGINT,
    received_ns   BIGINT  NOT NULL,
    updated_ns    BIGINT  NOT NULL,
    events        BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
CREATE INDEX rights_requests_by_status ON rights_requests (tenant_id, status, due_ns);
CREATE INDEX rights_requests_by_subject ON rights_requests (tenant_id, subject_id);

CREATE TABLE rights_request_events (
    tenant_id   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    event_json  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, request_id, seq)
);

-- One pending identity-verification code per request: only its keyed hash is kept.
CREATE TABLE verification_codes (
    tenant_id   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    code_hash   BYTEA  NOT NULL,
    expires_ns  BIGINT  NOT NULL,
    attempts    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
);
