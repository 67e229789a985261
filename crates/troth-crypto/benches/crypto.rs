//! Criterion benchmarks for troth-crypto: vault put+get, audit append and verify,
//! blind-index tokens and receipt signing. See `BENCHMARKS.md` for figures.
// Bench harness code: criterion's macros generate undocumented public items, and a
// failed setup should abort the run loudly.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use std::hint::black_box;
use std::num::NonZeroU64;
use std::sync::Arc;
use troth_crypto::{
    AuditChain, AuditEvent, AuditVerifier, CategoryId, KeyVersion, LocalMasterKey, ReceiptSigner,
    RecordId, SigningKeyPair, SubjectId, TenantId, Vault, verify_receipt,
};

fn vault(c: &mut Criterion) {
    let v = Vault::new(Arc::new(LocalMasterKey::generate(KeyVersion(1)).unwrap()));
    let tenant = TenantId::new("tenant-1");
    let subject = SubjectId::new("subject-1");
    let cat = CategoryId::new("contact.address");
    let rec = RecordId::new("record-0001");
    let (tek, _) = v.create_tenant_key(&tenant).unwrap();
    let (dek, wrapped) = tek.create_subject_key(&subject).unwrap();
    let value = [0x61u8; 200];

    let mut g = c.benchmark_group("vault");
    g.throughput(Throughput::Elements(1));
    g.bench_function("put_get_200B", |b| {
        b.iter(|| {
            let ct = dek.encrypt(&cat, &rec, black_box(&value)).unwrap();
            black_box(dek.decrypt(&cat, &rec, &ct).unwrap());
        })
    });
    g.bench_function("unwrap_dek_put_get_200B", |b| {
        b.iter(|| {
            let dek = tek.open_subject_key(&subject, Some(&wrapped)).unwrap();
            let ct = dek.encrypt(&cat, &rec, black_box(&value)).unwrap();
            black_box(dek.decrypt(&cat, &rec, &ct).unwrap());
        })
    });
    g.finish();
}

fn events(n: u64) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| AuditEvent {
            time: Timestamp::from_second(1_800_000_000 + i as i64).unwrap(),
            actor: format!("service:api-{}", i % 4),
            action: "consent.given".to_owned(),
            target: format!("subject:{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            detail: r#"{"purpose":"marketing","policy_version":"2026-01-01","method":"banner"}"#
                .to_owned(),
        })
        .collect()
}

const N: u64 = 10_000;

fn audit(c: &mut Criterion) {
    let key = SigningKeyPair::from_seed(&[7u8; 32]);
    let every = NonZeroU64::new(1_000).unwrap();
    let evs = events(N);

    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(N));
    g.bench_function("append_batch_10k", |b| {
        b.iter_batched(
            || (AuditChain::new(key.clone(), every), evs.clone()),
            |(mut chain, evs)| black_box(chain.append_batch(evs)),
            BatchSize::LargeInput,
        )
    });

    let mut chain = AuditChain::new(key.clone(), every);
    let batch = chain.append_batch(evs);
    let verifier = AuditVerifier::new(key.public_key());
    g.bench_function("verify_10k", |b| {
        b.iter(|| {
            black_box(verifier.verify(&batch.entries, &batch.checkpoints).unwrap());
        })
    });
    g.finish();
}

fn misc(c: &mut Criterion) {
    let v = Vault::new(Arc::new(LocalMasterKey::generate(KeyVersion(1)).unwrap()));
    let (bi, _) = v.create_blind_index_key(&TenantId::new("t")).unwrap();
    let signer = ReceiptSigner::new(SigningKeyPair::from_seed(&[3u8; 32]));
    let payload = serde_json::json!({"subject":"s1","purpose":"marketing","state":"given"});
    let jws = signer.sign_json(&payload).unwrap();
    let pk = signer.public_key();

    let mut g = c.benchmark_group("misc");
    g.throughput(Throughput::Elements(1));
    g.bench_function("blind_email", |b| {
        b.iter(|| black_box(bi.email(black_box(" Alice.Example@Example.COM ")).unwrap()))
    });
    g.bench_function("blind_phone_cn", |b| {
        b.iter(|| black_box(bi.phone(black_box("138 0013 8000"), "CN").unwrap()))
    });
    g.bench_function("receipt_sign", |b| {
        b.iter(|| black_box(signer.sign_json(&payload).unwrap()))
    });
    g.bench_function("receipt_verify", |b| {
        b.iter(|| black_box(verify_receipt(black_box(&jws), &pk).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, vault, audit, misc);
criterion_main!(benches);
