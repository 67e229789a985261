-- The outbox (postgres): notifications written in the same transaction as the change
-- that causes them, delivered at least once by a worker that claims due messages
-- with a lease, backs off exponentially and dead-letters after a number of tries.
-- `message_id` is stable across retries, so receivers can drop duplicates.

CREATE TABLE outbox (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (tenant_id),
    message_id       TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    target           TEXT    NOT NULL,
    payload_json     TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL,
    next_attempt_ns  BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_until_ns   BIGINT,
    last_error       TEXT,
    response_status  BIGINT,
    created_ns       BIGINT  NOT NULL,
    delivered_ns     BIGINT,
    PRIMARY KEY (tenant_id, message_id)
);
-- The worker's scan: pending messages by due time (all tenants).
CREATE INDEX outbox_due ON outbox (status, next_attempt_ns);
CREATE INDEX outbox_by_created ON outbox (tenant_id, created_ns);

-- Where a tenant's notifications go: a webhook URL or a mailbox, optionally bound to
-- one recipient of the policy (deletion notices for data it received). The webhook
-- secret is not stored: it is derived from the server's key, the target and its
-- generation, and shown once when the target is saved.
CREATE TABLE notify_targets (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (tenant_id),
    target_id    TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    address      TEXT    NOT NULL,
    recipient    TEXT,
    events_json  TEXT    NOT NULL,
    generation   BIGINT  NOT NULL,
    updated_ns   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, target_id)
);
