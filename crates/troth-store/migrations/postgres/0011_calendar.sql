-- Per-tenant holiday calendar (PostgreSQL): public holidays and make-up working days
-- (调休), by the tenant's local date. Rows are never rewritten: replacing a year
-- closes the year's rows (`removed_ns`) and adds the new list, so the calendar as it
-- stood at any moment can be read back — a rights request keeps counting its
-- deadline with the calendar in force when it was received.

CREATE TABLE calendar_days (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    day         TEXT    NOT NULL,
    added_ns    BIGINT  NOT NULL,
    removed_ns  BIGINT,
    year        INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('holiday', 'working')),
    name        TEXT,
    PRIMARY KEY (tenant_id, day, added_ns)
);

CREATE INDEX calendar_days_by_year ON calendar_days (tenant_id, year, removed_ns);
