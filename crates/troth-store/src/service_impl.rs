// `ServiceStore` for one backend; `include!`d after `common.rs` into `sqlite.rs` and
// `postgres.rs` (see the head of `common.rs` for what those files define).

use crate::service::{ApiKeyRecord, IdempotencyStart, IdempotencyWindow, ServiceStore};

type ApiKeyRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);

fn api_key_from_row(r: ApiKeyRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        tenant: TenantId::new(r.0),
        key_id: r.1,
        hash: r.2,
        role: r.3,
        label: r.4,
        subject: r.5.map(SubjectId::new),
        created: ns_ts(r.6)?,
        revoked: r.7.map(ns_ts).transpose()?,
    })
}

impl ServiceStore for This {
    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT tenant_id, name, created_ns FROM tenants ORDER BY tenant_id")
                .fetch_all(&self.inner.shared.data_read)
                .await?;
        rows.into_iter()
            .map(|(id, name, created)| {
                Ok(Tenant {
                    id: TenantId::new(id),
                    name,
                    created: ns_ts(created)?,
                })
            })
            .collect()
    }

    async fn ledger_subjects(&self, tenant: &TenantId) -> Result<Vec<SubjectId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT subject_id FROM consent_events WHERE tenant_id = $1 ORDER BY subject_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        Ok(rows.into_iter().map(|(s,)| SubjectId::new(s)).collect())
    }

    async fn create_api_key(&self, key: &ApiKeyRecord, actor: &str) -> Result<()> {
        let event = audit_event(
            actor,
            "apikey.created",
            format!("apikey:{}", key.key_id),
            serde_json::json!({ "role": key.role }),
        );
        let (res, _) = audited!(&self.inner.shared, &key.tenant, event, |tx| {
            sqlx::query(
                "INSERT INTO api_keys (tenant_id, key_id, key_hash, role, label, subject_id, created_ns, revoked_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
                 ON CONFLICT (tenant_id, key_id) DO NOTHING",
            )
            .bind(key.tenant.as_str())
            .bind(&key.key_id)
            .bind(&key.hash)
            .bind(&key.role)
            .bind(&key.label)
            .bind(key.subject.as_ref().map(|s| s.as_str().to_owned()))
            .bind(ts_ns(key.created)?)
            .execute(&mut *tx)
            .await?
        });
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict("api key"));
        }
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
        let row: Option<ApiKeyRow> = sqlx::query_as(
            "SELECT tenant_id, key_id, key_hash, role, label, subject_id, created_ns, revoked_ns
             FROM api_keys WHERE key_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.inner.shared.data_read)
        .await?;
        row.map(api_key_from_row).transpose()
    }

    async fn api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKeyRecord>> {
        let rows: Vec<ApiKeyRow> = sqlx::query_as(
            "SELECT tenant_id, key_id, key_hash, role, label, subject_id, created_ns, revoked_ns
             FROM api_keys WHERE tenant_id = $1 ORDER BY created_ns, key_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter().map(api_key_from_row).collect()
    }

    async fn revoke_api_key(&self, tenant: &TenantId, key_id: &str, actor: &str) -> Result<bool> {
        let event = audit_event(
            actor,
            "apikey.revoked",
            format!("apikey:{key_id}"),
            serde_json::json!({}),
        );
        let now = ts_ns(jiff::Timestamp::now())?;
        let s = &self.inner.shared;
        let mut tx = begin_data(s).await?;
        let head = require_head(&mut tx, tenant).await?;
        let res = sqlx::query(
            "UPDATE api_keys SET revoked_ns = $3
             WHERE tenant_id = $1 AND key_id = $2 AND revoked_ns IS NULL",
        )
        .bind(tenant.as_str())
        .bind(key_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 0 {
            // Nothing changed: nothing to audit.
            tx.rollback().await?;
            return Ok(false);
        }
        audit_in_tx(s, &mut tx, tenant, &head, vec![event]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn idempotency_begin(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        request_hash: &str,
        window: IdempotencyWindow,
    ) -> Result<IdempotencyStart> {
        let s = &self.inner.shared;
        let now = jiff::Timestamp::now();
        let now_ns = ts_ns(now)?;
        let expired_ns = ts_ns(now - window.keep)?;
        let stale_ns = ts_ns(now - window.stale_pending)?;
        let mut tx = begin_data(s).await?;
        // Forget this key's expired record, and a pending one whose request died.
        sqlx::query(
            "DELETE FROM idempotency WHERE tenant_id = $1 AND scope = $2 AND idem_key = $3
               AND (created_ns < $4 OR (status IS NULL AND created_ns < $5))",
        )
        .bind(tenant.as_str())
        .bind(scope)
        .bind(key)
        .bind(expired_ns)
        .bind(stale_ns)
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency (tenant_id, scope, idem_key, request_hash, status, body, created_ns)
             VALUES ($1, $2, $3, $4, NULL, NULL, $5)
             ON CONFLICT (tenant_id, scope, idem_key) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(now_ns)
        .execute(&mut *tx)
        .await?;
        let outcome = if inserted.rows_affected() == 1 {
            IdempotencyStart::Started
        } else {
            let row: Option<(String, Option<i64>, Option<String>)> = sqlx::query_as(
                "SELECT request_hash, status, body FROM idempotency
                 WHERE tenant_id = $1 AND scope = $2 AND idem_key = $3",
            )
            .bind(tenant.as_str())
            .bind(scope)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                None => IdempotencyStart::InProgress,
                Some((hash, _, _)) if hash != request_hash => IdempotencyStart::Mismatch,
                Some((_, Some(status), Some(body))) => IdempotencyStart::Replay {
                    status: u16::try_from(status)
                        .map_err(|_| StoreError::Corrupt("idempotency status"))?,
                    body,
                },
                Some(_) => IdempotencyStart::InProgress,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn idempotency_finish(
        &self,
        tenant: &TenantId,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency SET status = $4, body = $5
             WHERE tenant_id = $1 AND scope = $2 AND idem_key = $3",
        )
        .bind(tenant.as_str())
        .bind(scope)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(&self.inner.shared.data_write)
        .await?;
        Ok(())
    }

    async fn idempotency_abandon(&self, tenant: &TenantId, scope: &str, key: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency WHERE tenant_id = $1 AND scope = $2 AND idem_key = $3
               AND status IS NULL",
        )
        .bind(tenant.as_str())
        .bind(scope)
        .bind(key)
        .execute(&self.inner.shared.data_write)
        .await?;
        Ok(())
    }
}
