-- Data-subject rights requests (sqlite). The request's transitions are kept as an
-- append-only list of events (JSON written by troth-core); status and due date are
-- copied out so open and overdue requests can be listed without replaying them.

CREATE TABLE rights_requests (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    request_id    TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    details_json  TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    due_ns        INTEGER,
    received_ns   INTEGER  NOT NULL,
    updated_ns    INTEGER  NOT NULL,
    events        INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
) WITHOUT ROWID;
CREATE INDEX rights_requests_by_status ON rights_requests (tenant_id, status, due_ns);
CREATE INDEX rights_requests_by_subject ON rights_requests (tenant_id, subject_id);

CREATE TABLE rights_request_events (
    tenant_id   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    seq         INTEGER  NOT NULL,
    event_json  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, request_id, seq)
) WITHOUT ROWID;

-- One pending identity-verification code per request: only its keyed hash is kept.
CREATE TABLE verification_codes (
    tenant_id   TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    code_hash   BLOB  NOT NULL,
    expires_ns  INTEGER  NOT NULL,
    attempts    INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, request_id)
) WITHOUT ROWID;
