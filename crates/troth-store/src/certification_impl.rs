// `CertificationStore` for one backend; `include!`d after `common.rs` into `sqlite.rs`
// and `postgres.rs`.

use crate::certification::{CertificationChange, CertificationRecord, CertificationStore};

type CertificationRow = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

fn certified_by_code(c: troth_core::CertifiedBy) -> &'static str {
    match c {
        troth_core::CertifiedBy::Check => "check",
        troth_core::CertifiedBy::Operator => "operator",
    }
}

fn certification_from_row(
    tenant: &TenantId,
    subject: &SubjectId,
    row: CertificationRow,
) -> Result<CertificationRecord> {
    let (
        id,
        kind,
        purpose,
        state,
        copy_received,
        certified_by,
        decided_by,
        reason,
        submitted,
        updated,
    ) = row;
    let corrupt = || StoreError::Corrupt("certification");
    let certified_by = match certified_by.as_deref() {
        None => None,
        Some("check") => Some(troth_core::CertifiedBy::Check),
        Some("operator") => Some(troth_core::CertifiedBy::Operator),
        Some(_) => return Err(corrupt()),
    };
    Ok(CertificationRecord {
        tenant: tenant.clone(),
        subject: subject.clone(),
        certification_id: id,
        purpose,
        workflow: troth_core::Certification {
            kind: troth_core::CertificationKind::parse(&kind).ok_or_else(corrupt)?,
            state: troth_core::CertificationState::parse(&state).ok_or_else(corrupt)?,
            copy_received,
            certified_by,
            reason: reason
                .map(|r| troth_core::ReasonCode::parse(&r).map_err(|_| corrupt()))
                .transpose()?,
        },
        decided_by,
        submitted: ns_ts(submitted)?,
        updated: ns_ts(updated)?,
    })
}

impl CertificationStore for This {
    async fn save_certification(&self, change: CertificationChange<'_>) -> Result<bool> {
        let s = &self.inner.shared;
        let r = change.record;
        // Encrypt before the transaction: the subject's key may have to be made first.
        let mut sealed = Vec::with_capacity(change.values.len());
        for v in change.values {
            let key = VaultKey::new(
                r.tenant.clone(),
                r.subject.clone(),
                v.category.as_str(),
                v.record.as_str(),
            );
            let ct = seal_value(s, &key, &v.plaintext).await?;
            let expires = v.expires.map(ts_ns).transpose()?;
            sealed.push((key, ct, expires));
        }
        let w = &r.workflow;
        let mut events: Vec<AuditEvent> = sealed
            .iter()
            .map(|(key, _, _)| vault_event(key, "vault.write", change.access))
            .collect();
        // Ids and codes only: never a name or a number.
        events.push(audit_event(
            &change.access.actor,
            change.action,
            subject_target(&r.subject),
            serde_json::json!({
                "certification_id": r.certification_id,
                "kind": w.kind.as_str(),
                "purpose": r.purpose,
                "from": change.expected.map(|st| st.as_str()),
                "to": w.state.as_str(),
                "copy_received": w.copy_received,
                "certified_by": w.certified_by.map(certified_by_code),
                "reason": w.reason.as_ref().map(|c| c.as_str()),
            }),
        ));
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, &r.tenant).await?;
        let (submitted, updated) = (ts_ns(r.submitted)?, ts_ns(r.updated)?);
        // The twelve columns, bound the same way for the insert and the update.
        macro_rules! bind_row {
            ($q:expr) => {
                $q.bind(r.tenant.as_str())
                    .bind(r.subject.as_str())
                    .bind(r.certification_id.as_str())
                    .bind(w.kind.as_str())
                    .bind(r.purpose.as_str())
                    .bind(w.state.as_str())
                    .bind(w.copy_received)
                    .bind(w.certified_by.map(certified_by_code))
                    .bind(r.decided_by.as_deref())
                    .bind(w.reason.as_ref().map(|c| c.as_str()))
                    .bind(submitted)
                    .bind(updated)
            };
        }
        let written = match change.expected {
            None => bind_row!(sqlx::query(
                "INSERT INTO certifications
                   (tenant_id, subject_id, certification_id, kind, purpose, state,
                    copy_received, certified_by, decided_by, reason, submitted_ns, updated_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (tenant_id, subject_id, certification_id) DO NOTHING",
            ))
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Some(expected) => bind_row!(sqlx::query(
                "UPDATE certifications SET kind = $4, purpose = $5, state = $6,
                   copy_received = $7, certified_by = $8, decided_by = $9, reason = $10,
                   submitted_ns = $11, updated_ns = $12
                 WHERE tenant_id = $1 AND subject_id = $2 AND certification_id = $3
                   AND state = $13",
            ))
            .bind(expected.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        if written == 0 {
            // Dropping the transaction rolls it back.
            return Ok(false);
        }
        for (key, ct, expires) in sealed {
            upsert_vault_record(&mut tx, &key, ct.into_bytes(), updated, expires).await?;
        }
        for category in change.remove {
            let deleted = sqlx::query(
                "DELETE FROM vault_records
                 WHERE tenant_id = $1 AND subject_id = $2 AND category = $3 AND record_id = $4",
            )
            .bind(r.tenant.as_str())
            .bind(r.subject.as_str())
            .bind(*category)
            .bind(r.certification_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted > 0 {
                let key = VaultKey::new(
                    r.tenant.clone(),
                    r.subject.clone(),
                    *category,
                    r.certification_id.as_str(),
                );
                // Before the change's own entry, which stays last.
                let at = events.len().saturating_sub(1);
                events.insert(at, vault_event(&key, "vault.delete", change.access));
            }
        }
        audit_in_tx(s, &mut tx, &r.tenant, &head, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn certifications(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
    ) -> Result<Vec<CertificationRecord>> {
        let rows: Vec<CertificationRow> = sqlx::query_as(
            "SELECT certification_id, kind, purpose, state, copy_received, certified_by, decided_by,
                    reason, submitted_ns, updated_ns
             FROM certifications
             WHERE tenant_id = $1 AND subject_id = $2
             ORDER BY submitted_ns DESC, certification_id DESC",
        )
        .bind(tenant.as_str())
        .bind(subject.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|row| certification_from_row(tenant, subject, row))
            .collect()
    }
}
