// `CalendarStore` for one backend; `include!`d after `common.rs` into `sqlite.rs`
// and `postgres.rs`.

use crate::calendar::{CalendarDay, CalendarStore, day_from_row};

impl CalendarStore for This {
    async fn replace_calendar_year(
        &self,
        tenant: &TenantId,
        year: i16,
        days: &[CalendarDay],
        at: jiff::Timestamp,
        actor: &str,
    ) -> Result<()> {
        let count = |k| days.iter().filter(|d| d.kind == k).count();
        let event = audit_event(
            actor,
            "calendar.changed",
            format!("calendar:{year}"),
            serde_json::json!({
                "year": year,
                "holidays": count(crate::calendar::CalendarDayKind::Holiday),
                "working_days": count(crate::calendar::CalendarDayKind::Working),
            }),
        );
        let at_ns = ts_ns(at)?;
        let ((), _) = audited!(&self.inner.shared, tenant, event, |tx| {
            sqlx::query(
                "UPDATE calendar_days SET removed_ns = $3
                 WHERE tenant_id = $1 AND year = $2 AND removed_ns IS NULL",
            )
            .bind(tenant.as_str())
            .bind(i32::from(year))
            .bind(at_ns)
            .execute(&mut *tx)
            .await?;
            for d in days {
                sqlx::query(
                    "INSERT INTO calendar_days
                       (tenant_id, day, added_ns, removed_ns, year, kind, name)
                     VALUES ($1, $2, $3, NULL, $4, $5, $6)",
                )
                .bind(tenant.as_str())
                .bind(d.date.to_string())
                .bind(at_ns)
                .bind(i32::from(year))
                .bind(d.kind.as_str())
                .bind(d.name.as_deref())
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    async fn calendar_days(
        &self,
        tenant: &TenantId,
        year: Option<i16>,
        as_of: Option<jiff::Timestamp>,
    ) -> Result<Vec<CalendarDay>> {
        // `removed_ns IS NULL` alone would do for now; the time bounds answer for
        // any moment, with `i64::MAX` standing for "now and later".
        let t = as_of.map(ts_ns).transpose()?.unwrap_or(i64::MAX);
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT day, kind, name FROM calendar_days
             WHERE tenant_id = $1 AND ($2 IS NULL OR year = $2)
               AND added_ns <= $3 AND (removed_ns IS NULL OR removed_ns > $3)
             ORDER BY day",
        )
        .bind(tenant.as_str())
        .bind(year.map(i32::from))
        .bind(t)
        .fetch_all(&self.inner.shared.data_read)
        .await?;
        rows.into_iter()
            .map(|(day, kind, name)| {
                day_from_row(&day, &kind, name).ok_or(StoreError::Corrupt("calendar day"))
            })
            .collect()
    }
}
