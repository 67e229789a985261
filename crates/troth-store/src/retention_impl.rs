// `RetentionStore` for one backend; `include!`d after `common.rs` into `sqlite.rs`
// and `postgres.rs` (see the head of `common.rs` for what those files define).

use crate::retention::{
    BatchOutcome, CategoryCount, DueRecord, HeldCount, Hold, HoldFilter, NewHold,
    NewReportDocument, RecordRetention, ReportDocument, RetentionStore, SweepPreview, SweepRun,
    SweepSummary, TallyRow, WaitingRecord,
};

/// Due, unheld records of tenant `$1` at `$2`, oldest expiry first (alias `v`).
const DUE_UNHELD: &str = "FROM vault_records v
     WHERE v.tenant_id = $1 AND v.expires_ns IS NOT NULL AND v.expires_ns <= $2
       AND NOT EXISTS (SELECT 1 FROM legal_holds h
           WHERE h.tenant_id = v.tenant_id AND h.lifted_ns IS NULL
             AND (h.subject_id IS NULL OR h.subject_id = v.subject_id)
             AND (h.category IS NULL OR h.category = v.category))";

/// Due records per active hold covering them, for tenant `$1` at `$2`.
const HELD_COUNTS: &str = "SELECT h.hold_id, h.reason, COUNT(*)
     FROM vault_records v JOIN legal_holds h
       ON h.tenant_id = v.tenant_id AND h.lifted_ns IS NULL
      AND (h.subject_id IS NULL OR h.subject_id = v.subject_id)
      AND (h.category IS NULL OR h.category = v.category)
     WHERE v.tenant_id = $1 AND v.expires_ns IS NOT NULL AND v.expires_ns <= $2
     GROUP BY h.hold_id, h.reason ORDER BY h.hold_id";

const HOLD_COLUMNS: &str =
    "hold_id, subject_id, category, reason, note, placed_by, placed_ns, lifted_by, lifted_ns";

type HoldRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<i64>,
);

fn hold_from_row(r: HoldRow) -> Result<Hold> {
    Ok(Hold {
        hold_id: r.0,
        subject: r.1,
        category: r.2,
        reason: r.3,
        note: r.4,
        placed_by: r.5,
        placed: ns_ts(r.6)?,
        lifted_by: r.7,
        lifted: r.8.map(ns_ts).transpose()?,
    })
}

type DocRow = (
    String,
    String,
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
);

fn doc_from_row(r: DocRow) -> Result<ReportDocument> {
    Ok(ReportDocument {
        report_id: r.0,
        kind: r.1,
        version: i64_seq(r.2)?,
        created: ns_ts(r.3)?,
        keep_until: ns_ts(r.4)?,
        policy_hash: r.5,
        body_json: r.6,
        html_en: r.7,
        html_zh: r.8,
    })
}

fn count(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt("count"))
}

/// `YYYY-MM` (UTC) of an instant in nanoseconds, for the anonymous tally.
fn month_of(ns: i64) -> String {
    ns_ts(ns)
        .map(|t| {
            let d = jiff::tz::Offset::UTC.to_datetime(t).date();
            format!("{:04}-{:02}", d.year(), d.month())
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Whether sweeps walk the vault in primary-key order (SQLite) rather than in expiry
/// order (PostgreSQL); see migration 0014 of each backend for why.
fn sweeps_in_key_order() -> bool {
    <Db as sqlx::Database>::NAME != "PostgreSQL"
}

/// Removes up to `$3` due, unheld records of tenant `$1` at `$2`, returning what
/// went. On PostgreSQL, oldest expiry first through the expiry index (from the run's
/// latest expiry `$4`, when `after` is set): the records are selected `FOR UPDATE
/// SKIP LOCKED` (replicas never wait on each other's rows) and deleted by their row
/// address, which the lock keeps fixed until the delete; joining back on the primary
/// key instead cost an index probe per row, and an `IN (subquery)` was planned as a
/// hash semi-join that scans the whole table per batch. On SQLite, in primary-key
/// order after the run's cursor (`$4`, `$5`, `$6`, when `after` is set): each table
/// page is then changed once per run, and SQLite plans the row-value `IN` as
/// primary-key lookups (one writer: no locking clause).
fn delete_due_sql(after: bool) -> String {
    if !sweeps_in_key_order() {
        let cursor = if after { "AND v.expires_ns >= $4" } else { "" };
        format!(
            "WITH due AS (SELECT v.ctid AS id {DUE_UNHELD} {cursor}
               ORDER BY v.expires_ns LIMIT $3 FOR UPDATE OF v SKIP LOCKED)
             DELETE FROM vault_records r USING due d WHERE r.ctid = d.id
             RETURNING r.subject_id, r.category, r.record_id, r.purpose, r.on_expiry, r.created_ns,
               r.expires_ns"
        )
    } else {
        let cursor = if after {
            "AND (v.subject_id, v.category, v.record_id) > ($4, $5, $6)"
        } else {
            ""
        };
        format!(
            "DELETE FROM vault_records WHERE (tenant_id, subject_id, category, record_id) IN (
               SELECT v.tenant_id, v.subject_id, v.category, v.record_id {DUE_UNHELD} {cursor}
               ORDER BY v.subject_id, v.category, v.record_id LIMIT $3)
             RETURNING subject_id, category, record_id, purpose, on_expiry, created_ns, expires_ns"
        )
    }
}

async fn held_counts(pool: &Pool<Db>, tenant: &TenantId, now: i64) -> Result<Vec<HeldCount>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(HELD_COUNTS)
        .bind(tenant.as_str())
        .bind(now)
        .fetch_all(pool)
        .await?;
    rows.into_iter()
        .map(|(hold_id, reason, n)| {
            Ok(HeldCount {
                hold_id,
                reason,
                records: count(n)?,
            })
        })
        .collect()
}

type RunRow = (String, String, i64, i64, i64);
/// subject, category, record, purpose, action, created, expires.
type GoneRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
);
/// A run's cursor: the last key it reached (subject, category, record), or on
/// PostgreSQL the latest expiry it removed.
type CursorRow = (Option<String>, Option<String>, Option<String>, Option<i64>);

/// Where a run carries on.
enum RunCursor {
    /// After this key (SQLite).
    Key(String, String, String),
    /// From this expiry (PostgreSQL).
    Expiry(i64),
}
/// subject, category, record, purpose, expires, action.
type DueRow = (String, String, String, Option<String>, i64, Option<String>);

impl RetentionStore for This {
    async fn set_record_retention(&self, key: &VaultKey, r: &RecordRetention) -> Result<()> {
        sqlx::query(
            "UPDATE vault_records SET purpose = $5, expires_ns = $6, on_expiry = $7, waits_for = $8
             WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
        )
        .bind(key.tenant.as_str())
        .bind(key.subject.as_str())
        .bind(key.category.as_str())
        .bind(key.record.as_str())
        .bind(&r.purpose)
        .bind(r.expires.map(ts_ns).transpose()?)
        .bind(&r.on_expiry)
        .bind(r.waits_for.as_deref())
        .execute(&self.inner.shared.data_write)
        .await?;
        Ok(())
    }

    async fn waiting_records(
        &self,
        tenant: &TenantId,
        event: &str,
        limit: u32,
    ) -> Result<Vec<WaitingRecord>> {
        let rows: Vec<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT subject_id, category, record_id, purpose, created_ns FROM vault_records
             WHERE tenant_id = $1 AND waits_for = $2 ORDER BY subject_id LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(event)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(WaitingRecord {
                    subject: SubjectId::new(r.0),
                    category: r.1,
                    record: r.2,
                    purpose: r.3.unwrap_or_default(),
                    created: ns_ts(r.4)?,
                })
            })
            .collect()
    }

    async fn resolve_waiting(
        &self,
        tenant: &TenantId,
        expiries: &[(WaitingRecord, jiff::Timestamp)],
    ) -> Result<u64> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let mut n = 0;
        for (w, at) in expiries {
            n += sqlx::query(
                "UPDATE vault_records SET expires_ns = $5, waits_for = NULL
                 WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
            )
            .bind(tenant.as_str())
            .bind(w.subject.as_str())
            .bind(&w.category)
            .bind(&w.record)
            .bind(ts_ns(*at)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn live_records(
        &self,
        tenant: &TenantId,
        subjects: &[SubjectId],
        now: jiff::Timestamp,
    ) -> Result<Vec<WaitingRecord>> {
        let pool = &self.inner.shared.data_read;
        let now_ns = ts_ns(now)?;
        let mut out = Vec::new();
        // One primary-key range per subject: the candidates are the few children the
        // decision index names, not a scan of the vault.
        for subject in subjects {
            let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
                "SELECT category, record_id, purpose, created_ns FROM vault_records
                 WHERE tenant_id = $1 AND subject_id = $2
                   AND (expires_ns IS NULL OR expires_ns > $3)
                 ORDER BY category, record_id",
            )
            .bind(tenant.as_str())
            .bind(subject.as_str())
            .bind(now_ns)
            .fetch_all(pool)
            .await?;
            for (category, record, purpose, created) in rows {
                out.push(WaitingRecord {
                    subject: subject.clone(),
                    category,
                    record,
                    purpose: purpose.unwrap_or_default(),
                    created: ns_ts(created)?,
                });
            }
        }
        Ok(out)
    }

    async fn expire_child_records(
        &self,
        run: &SweepRun,
        now: jiff::Timestamp,
        records: &[(WaitingRecord, String)],
        lease_until: jiff::Timestamp,
        actor: &str,
    ) -> Result<u64> {
        if records.is_empty() {
            return Ok(0);
        }
        let s = &self.inner.shared;
        let tenant = &run.tenant;
        let now_ns = ts_ns(now)?;
        let mut tx = begin_data(s).await?;
        let renewed = sqlx::query(
            "UPDATE retention_leases SET expires_ns = $3 WHERE tenant_id = $1 AND owner = $2",
        )
        .bind(tenant.as_str())
        .bind(&run.owner)
        .bind(ts_ns(lease_until)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if renewed == 0 {
            return Err(StoreError::Conflict("retention lease"));
        }
        let mut n = 0;
        let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
        let mut subjects: Vec<&str> = Vec::new();
        for (r, reason) in records {
            // Not yet due: another replica's pass, or an expiry that came meanwhile,
            // is left as it is (and not audited twice).
            let changed = sqlx::query(
                "UPDATE vault_records SET expires_ns = $5, on_expiry = 'delete', waits_for = NULL
                 WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4
                   AND (expires_ns IS NULL OR expires_ns > $5)",
            )
            .bind(tenant.as_str())
            .bind(r.subject.as_str())
            .bind(&r.category)
            .bind(&r.record)
            .bind(now_ns)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                n += changed;
                *reasons.entry(reason.as_str()).or_default() += changed;
                subjects.push(r.subject.as_str());
            }
        }
        if n == 0 {
            tx.commit().await?;
            return Ok(0);
        }
        subjects.sort_unstable();
        subjects.dedup();
        let event = audit_event(
            actor,
            "retention.child_data_due",
            format!("retention:{}", run.run_id),
            serde_json::json!({ "records": n, "reasons": reasons, "subjects": subjects }),
        );
        let head = require_head(&mut tx, tenant).await?;
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn tenants_with_due(&self, now: jiff::Timestamp) -> Result<Vec<TenantId>> {
        // Not a hot path: one probe of the expiry index per tenant.
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT t.tenant_id FROM tenants t WHERE EXISTS (SELECT 1 FROM vault_records v
               WHERE v.tenant_id = t.tenant_id AND v.expires_ns IS NOT NULL AND v.expires_ns <= $1)
             ORDER BY t.tenant_id",
        )
        .bind(ts_ns(now)?)
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        Ok(rows.into_iter().map(|(t,)| TenantId::new(t)).collect())
    }

    async fn begin_sweep(
        &self,
        tenant: &TenantId,
        owner: &str,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> Result<Option<SweepRun>> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let took = sqlx::query(
            "INSERT INTO retention_leases (tenant_id, owner, expires_ns) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE SET owner = excluded.owner, expires_ns = excluded.expires_ns
             WHERE retention_leases.owner = excluded.owner OR retention_leases.expires_ns <= $4",
        )
        .bind(tenant.as_str())
        .bind(owner)
        .bind(ts_ns(lease_until)?)
        .bind(ts_ns(now)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if took == 0 {
            return Ok(None);
        }
        let open: Option<RunRow> = sqlx::query_as(
            "SELECT run_id, owner, batches, deleted, anonymized FROM retention_runs
             WHERE tenant_id = $1 AND finished_ns IS NULL ORDER BY started_ns LIMIT 1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let run = match open {
            Some((run_id, _, batches, deleted, anonymized)) => {
                sqlx::query(
                    "UPDATE retention_runs SET owner = $3, updated_ns = $4
                     WHERE tenant_id = $1 AND run_id = $2",
                )
                .bind(tenant.as_str())
                .bind(&run_id)
                .bind(owner)
                .bind(ts_ns(now)?)
                .execute(&mut *tx)
                .await?;
                SweepRun {
                    tenant: tenant.clone(),
                    run_id,
                    owner: owner.to_owned(),
                    resumed: true,
                    deleted: count(deleted)?,
                    anonymized: count(anonymized)?,
                    batches: count(batches)?,
                }
            }
            None => {
                let run_id = format!("{}-{}", ts_ns(now)?, owner);
                sqlx::query(
                    "INSERT INTO retention_runs (tenant_id, run_id, owner, started_ns, updated_ns,
                       finished_ns, batches, deleted, anonymized)
                     VALUES ($1, $2, $3, $4, $4, NULL, 0, 0, 0)",
                )
                .bind(tenant.as_str())
                .bind(&run_id)
                .bind(owner)
                .bind(ts_ns(now)?)
                .execute(&mut *tx)
                .await?;
                SweepRun {
                    tenant: tenant.clone(),
                    run_id,
                    owner: owner.to_owned(),
                    resumed: false,
                    deleted: 0,
                    anonymized: 0,
                    batches: 0,
                }
            }
        };
        tx.commit().await?;
        Ok(Some(run))
    }

    async fn sweep_batch(
        &self,
        run: &SweepRun,
        now: jiff::Timestamp,
        limit: u32,
        lease_until: jiff::Timestamp,
        actor: &str,
    ) -> Result<BatchOutcome> {
        let s = &self.inner.shared;
        let tenant = &run.tenant;
        let now_ns = ts_ns(now)?;
        let mut tx = begin_data(s).await?;
        // The lease first: a replica whose lease ran out and was taken over stops
        // here instead of sweeping beside the new owner.
        let renewed = sqlx::query(
            "UPDATE retention_leases SET expires_ns = $3 WHERE tenant_id = $1 AND owner = $2",
        )
        .bind(tenant.as_str())
        .bind(&run.owner)
        .bind(ts_ns(lease_until)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if renewed == 0 {
            return Err(StoreError::Conflict("retention lease"));
        }
        let row: Option<CursorRow> = sqlx::query_as(
            "SELECT cursor_subject, cursor_category, cursor_record, cursor_expires_ns
             FROM retention_runs WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.as_str())
        .bind(&run.run_id)
        .fetch_optional(&mut *tx)
        .await?;
        let cursor = row.and_then(|(a, b, c, e)| {
            if sweeps_in_key_order() {
                Some(RunCursor::Key(a?, b?, c?))
            } else {
                e.map(RunCursor::Expiry)
            }
        });
        let sql = delete_due_sql(cursor.is_some());
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(now_ns)
            .bind(i64::from(limit));
        match &cursor {
            Some(RunCursor::Key(subject, category, record)) => {
                q = q.bind(subject).bind(category).bind(record);
            }
            Some(RunCursor::Expiry(e)) => q = q.bind(*e),
            None => {}
        }
        let gone: Vec<GoneRow> = q.fetch_all(&mut *tx).await?;
        if gone.is_empty() {
            tx.commit().await?;
            return Ok(BatchOutcome::default());
        }
        let mut out = BatchOutcome::default();
        let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
        let mut tally: BTreeMap<(&str, &str, String), i64> = BTreeMap::new();
        let mut subjects: Vec<&str> = Vec::with_capacity(gone.len());
        for (subject, category, _, purpose, action, created, _) in &gone {
            *by_category.entry(category.as_str()).or_default() += 1;
            subjects.push(subject.as_str());
            if action.as_deref() == Some("anonymize") {
                out.anonymized += 1;
                *tally
                    .entry((
                        category.as_str(),
                        purpose.as_deref().unwrap_or(""),
                        month_of(*created),
                    ))
                    .or_default() += 1;
            } else {
                out.deleted += 1;
            }
        }
        subjects.sort_unstable();
        subjects.dedup();
        for ((category, purpose, month), n) in &tally {
            sqlx::query(
                "INSERT INTO anonymous_tally (tenant_id, category, purpose, month, count)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, category, purpose, month)
                 DO UPDATE SET count = anonymous_tally.count + excluded.count",
            )
            .bind(tenant.as_str())
            .bind(*category)
            .bind(*purpose)
            .bind(month)
            .bind(*n)
            .execute(&mut *tx)
            .await?;
        }
        // The next batch of a key-order run carries on after the last key this one
        // removed (RETURNING gives no order).
        let last = sweeps_in_key_order()
            .then(|| gone.iter().map(|g| (&g.0, &g.1, &g.2)).max())
            .flatten();
        // A PostgreSQL run carries on from the latest expiry it removed: the expiry
        // index keeps deleted entries until vacuum, and starting each batch at the
        // oldest would step over all of them again.
        let latest = (!sweeps_in_key_order())
            .then(|| gone.iter().filter_map(|g| g.6).max())
            .flatten();
        sqlx::query(
            "UPDATE retention_runs SET batches = batches + 1, deleted = deleted + $3,
               anonymized = anonymized + $4, updated_ns = $5,
               cursor_subject = $6, cursor_category = $7, cursor_record = $8,
               cursor_expires_ns = $9
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.as_str())
        .bind(&run.run_id)
        .bind(seq_i64(out.deleted)?)
        .bind(seq_i64(out.anonymized)?)
        .bind(now_ns)
        .bind(last.map(|l| l.0.as_str()))
        .bind(last.map(|l| l.1.as_str()))
        .bind(last.map(|l| l.2.as_str()))
        .bind(latest)
        .execute(&mut *tx)
        .await?;
        // One entry per batch: the run, the counts per category and the subjects
        // whose records went (ids only), so a subject's audit trail finds it.
        let event = audit_event(
            actor,
            "retention.swept",
            format!("retention:{}", run.run_id),
            serde_json::json!({ "deleted": out.deleted, "anonymized": out.anonymized,
                "categories": by_category, "subjects": subjects }),
        );
        let head = require_head(&mut tx, tenant).await?;
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn finish_sweep(
        &self,
        run: &SweepRun,
        now: jiff::Timestamp,
        actor: &str,
    ) -> Result<SweepSummary> {
        let s = &self.inner.shared;
        let tenant = &run.tenant;
        let now_ns = ts_ns(now)?;
        let held = held_counts(&s.data_write, tenant, now_ns).await?;
        let mut tx = begin_data(s).await?;
        let row: Option<RunRow> = sqlx::query_as(
            "SELECT run_id, owner, batches, deleted, anonymized FROM retention_runs
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.as_str())
        .bind(&run.run_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (run_id, _, batches, deleted, anonymized) =
            row.ok_or(StoreError::NotFound("retention run"))?;
        sqlx::query(
            "UPDATE retention_runs SET finished_ns = $3, updated_ns = $3
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.as_str())
        .bind(&run_id)
        .bind(now_ns)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM retention_leases WHERE tenant_id = $1 AND owner = $2")
            .bind(tenant.as_str())
            .bind(&run.owner)
            .execute(&mut *tx)
            .await?;
        let summary = SweepSummary {
            run_id,
            deleted: count(deleted)?,
            anonymized: count(anonymized)?,
            batches: count(batches)?,
            held,
        };
        let event = audit_event(
            actor,
            "retention.sweep_finished",
            format!("retention:{}", summary.run_id),
            serde_json::json!({ "deleted": summary.deleted, "anonymized": summary.anonymized,
                "batches": summary.batches, "held": summary.held }),
        );
        let head = require_head(&mut tx, tenant).await?;
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn sweep_preview(
        &self,
        tenant: &TenantId,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<SweepPreview> {
        let pool = &self.inner.shared.data_read;
        let now_ns = ts_ns(now)?;
        let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT v.subject_id, v.category, v.record_id, v.purpose, v.expires_ns, v.on_expiry
                 {DUE_UNHELD} ORDER BY v.expires_ns, v.subject_id LIMIT $3"
        )))
        .bind(tenant.as_str())
        .bind(now_ns)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        let (total,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {DUE_UNHELD}")))
                .bind(tenant.as_str())
                .bind(now_ns)
                .fetch_one(pool)
                .await?;
        let due = rows
            .into_iter()
            .map(|r| {
                Ok(DueRecord {
                    subject: r.0,
                    category: r.1,
                    record: r.2,
                    purpose: r.3,
                    expires: ns_ts(r.4)?,
                    action: r.5.unwrap_or_else(|| "delete".to_owned()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SweepPreview {
            due,
            due_total: count(total)?,
            held: held_counts(pool, tenant, now_ns).await?,
        })
    }

    async fn place_hold(&self, h: &NewHold, actor: &str) -> Result<Hold> {
        let target = match &h.subject {
            Some(s) => subject_target(s),
            None => format!("category:{}", h.category.as_deref().unwrap_or("")),
        };
        let event = audit_event(
            actor,
            "hold.placed",
            target,
            serde_json::json!({ "hold": h.hold_id, "reason": h.reason,
                "category": h.category, "subject": h.subject.as_ref().map(|s| s.as_str()) }),
        );
        audited!(&self.inner.shared, &h.tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO legal_holds (tenant_id, hold_id, subject_id, category, reason, note,
                   placed_by, placed_ns, lifted_by, lifted_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
            )
            .bind(h.tenant.as_str())
            .bind(&h.hold_id)
            .bind(h.subject.as_ref().map(|s| s.as_str().to_owned()))
            .bind(h.category.as_deref())
            .bind(&h.reason)
            .bind(h.note.as_deref())
            .bind(actor)
            .bind(ts_ns(h.placed)?)
            .execute(&mut *tx)
            .await?;
        });
        Ok(Hold {
            hold_id: h.hold_id.clone(),
            subject: h.subject.as_ref().map(|s| s.as_str().to_owned()),
            category: h.category.clone(),
            reason: h.reason.clone(),
            note: h.note.clone(),
            placed_by: actor.to_owned(),
            placed: h.placed,
            lifted_by: None,
            lifted: None,
        })
    }

    async fn lift_hold(
        &self,
        tenant: &TenantId,
        hold_id: &str,
        at: jiff::Timestamp,
        actor: &str,
    ) -> Result<Option<Hold>> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let lifted = sqlx::query(
            "UPDATE legal_holds SET lifted_by = $3, lifted_ns = $4
             WHERE tenant_id = $1 AND hold_id = $2 AND lifted_ns IS NULL",
        )
        .bind(tenant.as_str())
        .bind(hold_id)
        .bind(actor)
        .bind(ts_ns(at)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if lifted == 0 {
            return Ok(None);
        }
        let event = audit_event(
            actor,
            "hold.lifted",
            format!("hold:{hold_id}"),
            serde_json::json!({ "hold": hold_id }),
        );
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        self.hold(tenant, hold_id).await
    }

    async fn hold(&self, tenant: &TenantId, hold_id: &str) -> Result<Option<Hold>> {
        let row: Option<HoldRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE tenant_id = $1 AND hold_id = $2"
        )))
        .bind(tenant.as_str())
        .bind(hold_id)
        .fetch_optional(&self.inner.shared.data_write)
        .await?;
        row.map(hold_from_row).transpose()
    }

    async fn holds(&self, tenant: &TenantId, filter: &HoldFilter) -> Result<Vec<Hold>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE tenant_id = "
        ));
        qb.push_bind(tenant.as_str().to_owned());
        if filter.active_only {
            qb.push(" AND lifted_ns IS NULL");
        }
        if let Some(s) = &filter.subject {
            qb.push(" AND subject_id = ")
                .push_bind(s.as_str().to_owned());
        }
        qb.push(" ORDER BY placed_ns, hold_id");
        let rows: Vec<HoldRow> = qb
            .build_query_as()
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        rows.into_iter().map(hold_from_row).collect()
    }

    async fn holds_covering(&self, tenant: &TenantId, subject: &SubjectId) -> Result<Vec<Hold>> {
        let rows: Vec<HoldRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds h
             WHERE h.tenant_id = $1 AND h.lifted_ns IS NULL AND (
               (h.subject_id = $2)
               OR (h.subject_id IS NULL AND EXISTS (SELECT 1 FROM vault_records v
                     WHERE v.tenant_id = h.tenant_id AND v.subject_id = $2 AND v.category = h.category)))
             ORDER BY h.placed_ns, h.hold_id"
        )))
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(hold_from_row).collect()
    }

    async fn category_counts(&self, tenant: &TenantId) -> Result<Vec<CategoryCount>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT category, COUNT(DISTINCT subject_id), COUNT(*) FROM vault_records
             WHERE tenant_id = $1 GROUP BY category ORDER BY category",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|(category, s, r)| {
                Ok(CategoryCount {
                    category,
                    subjects: count(s)?,
                    records: count(r)?,
                })
            })
            .collect()
    }

    async fn anonymous_tally(&self, tenant: &TenantId) -> Result<Vec<TallyRow>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT category, purpose, month, count FROM anonymous_tally
             WHERE tenant_id = $1 ORDER BY category, purpose, month",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|(category, purpose, month, n)| {
                Ok(TallyRow {
                    category,
                    purpose,
                    month,
                    count: count(n)?,
                })
            })
            .collect()
    }

    async fn put_report_document(
        &self,
        d: &NewReportDocument,
        actor: &str,
    ) -> Result<ReportDocument> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        // The head lock serialises writers, so the next version number is safe to
        // read here.
        let head = require_head(&mut tx, &d.tenant).await?;
        let (max,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(version) FROM report_documents WHERE tenant_id = $1 AND kind = $2",
        )
        .bind(d.tenant.as_str())
        .bind(&d.kind)
        .fetch_one(&mut *tx)
        .await?;
        let version = max.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO report_documents (tenant_id, report_id, kind, version, created_ns,
               keep_until_ns, policy_hash, body_json, html_en, html_zh)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.tenant.as_str())
        .bind(&d.report_id)
        .bind(&d.kind)
        .bind(version)
        .bind(ts_ns(d.created)?)
        .bind(ts_ns(d.keep_until)?)
        .bind(&d.policy_hash)
        .bind(&d.body_json)
        .bind(&d.html_en)
        .bind(&d.html_zh)
        .execute(&mut *tx)
        .await?;
        let event = audit_event(
            actor,
            "report.generated",
            format!("report:{}", d.report_id),
            serde_json::json!({ "kind": d.kind, "version": version, "policy": d.policy_hash }),
        );
        audit_in_tx(s, &mut tx, &d.tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(ReportDocument {
            report_id: d.report_id.clone(),
            kind: d.kind.clone(),
            version: i64_seq(version)?,
            created: d.created,
            keep_until: d.keep_until,
            policy_hash: d.policy_hash.clone(),
            body_json: d.body_json.clone(),
            html_en: d.html_en.clone(),
            html_zh: d.html_zh.clone(),
        })
    }

    async fn report_documents(
        &self,
        tenant: &TenantId,
        kind: Option<&str>,
    ) -> Result<Vec<ReportDocument>> {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "SELECT report_id, kind, version, created_ns, keep_until_ns, policy_hash, '', '', ''
             FROM report_documents WHERE tenant_id = ",
        );
        qb.push_bind(tenant.as_str().to_owned());
        if let Some(k) = kind {
            qb.push(" AND kind = ").push_bind(k.to_owned());
        }
        qb.push(" ORDER BY created_ns DESC, version DESC");
        let rows: Vec<DocRow> = qb
            .build_query_as()
            .fetch_all(&self.inner.shared.data_read)
            .await?;
        rows.into_iter().map(doc_from_row).collect()
    }

    async fn report_document(
        &self,
        tenant: &TenantId,
        report_id: &str,
    ) -> Result<Option<ReportDocument>> {
        let row: Option<DocRow> = sqlx::query_as(
            "SELECT report_id, kind, version, created_ns, keep_until_ns, policy_hash, body_json,
               html_en, html_zh
             FROM report_documents WHERE tenant_id = $1 AND report_id = $2",
        )
        .bind(tenant.as_str())
        .bind(report_id)
        .fetch_optional(&self.inner.shared.data_read)
        .await?;
        row.map(doc_from_row).transpose()
    }

    async fn purge_report_documents(
        &self,
        tenant: &TenantId,
        now: jiff::Timestamp,
        actor: &str,
    ) -> Result<u64> {
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let gone =
            sqlx::query("DELETE FROM report_documents WHERE tenant_id = $1 AND keep_until_ns < $2")
                .bind(tenant.as_str())
                .bind(ts_ns(now)?)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if gone == 0 {
            return Ok(0);
        }
        let event = audit_event(
            actor,
            "report.purged",
            "reports".to_owned(),
            serde_json::json!({ "documents": gone }),
        );
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(gone)
    }
}
