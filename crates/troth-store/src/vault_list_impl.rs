// `VaultListStore` for one backend; `include!`d after `common.rs` into `sqlite.rs` and
// `postgres.rs` (see the head of `common.rs` for what those files define).

use crate::vault_list::{Categories, VaultListStore, VaultValue};
use troth_crypto::CategoryId;

impl VaultListStore for This {
    async fn vault_records(
        &self,
        tenant: &TenantId,
        subject: &SubjectId,
        which: Categories<'_>,
        access: &Access,
    ) -> Result<Vec<VaultValue>> {
        let s = &self.inner.shared;
        let keys = tenant_keys(s, tenant).await?;
        let rows: Vec<(String, String, Vec<u8>)> = match which {
            Categories::AllBut(exclude) => {
                let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT category, record_id, ciphertext FROM vault_records
                     WHERE tenant_id = $1 AND subject_id = $2 ORDER BY category, record_id",
                )
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .fetch_all(&s.data_read)
                .await?;
                rows.into_iter()
                    .filter(|r| !exclude.contains(&r.0.as_str()))
                    .collect()
            }
            Categories::Only(category) => {
                sqlx::query_as(
                    "SELECT category, record_id, ciphertext FROM vault_records
                     WHERE tenant_id = $1 AND subject_id = $2 AND category = $3
                     ORDER BY record_id",
                )
                .bind(tenant.as_str())
                .bind(subject.as_str())
                .bind(category)
                .fetch_all(&s.data_read)
                .await?
            }
        };
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut categories: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        categories.dedup();
        // Audit the read before releasing the values: an unaudited read never happens.
        let event = audit_event(
            &access.actor,
            "vault.read",
            subject_target(subject),
            serde_json::json!({ "categories": categories, "records": rows.len(),
                "purpose": access.purpose }),
        );
        audited!(s, tenant, event, |tx| {
            let _ = &mut tx;
        });
        let dek = subject_key_for_read(s, &keys, tenant, subject).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (category, record, ct) in rows {
            let category = CategoryId::new(category);
            let record = RecordId::new(record);
            let plaintext = dek.decrypt(&category, &record, &EncryptedField::from_bytes(ct)?)?;
            out.push(VaultValue {
                category,
                record,
                plaintext,
            });
        }
        Ok(out)
    }
}
