//! Decision throughput and latency on the S004 (MobTech) pack, and decision-index
//! rebuild time. Run with `cargo bench -p troth-core --bench decide`.
//!
//! Besides the criterion groups, `main` first prints a latency distribution (p50, p99,
//! p99.9 over 1,000,000 single decisions timed with `Instant`) and a one-shot rebuild
//! of a 1,000,000-subject index, because criterion reports means only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use troth_core::*;

#[path = "../tests/support/cedar_model.rs"]
mod cedar_model;

const TENANT: TenantId = TenantId::from_u128(1);

fn policy() -> troth_policy::Policy {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../packs/s004-mobtech");
    troth_policy::load_pack(&dir).unwrap().policy
}

fn t0() -> jiff::Timestamp {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

/// Events for one end user: developer attestations for three SDKs, separate consent for
/// the phone number, and for every 4th subject an opt-out of targeting.
fn subject_events(i: u64, hash: PolicyHash, out: &mut Vec<LedgerEvent>) {
    let subject = SubjectId::from_u128(u128::from(i) + 1);
    let mut n = 0u64;
    let mut push = |fact: Fact| {
        n += 1;
        out.push(LedgerEvent {
            id: EventId::from_parts(i * 8 + n, u128::from(i)),
            tenant: TENANT,
            subject,
            at: t0() + jiff::SignedDuration::from_secs((i * 8 + n) as i64),
            fact,
        });
    };
    for p in ["sdk-moblink", "sdk-smssdk", "sdk-mobpush"] {
        push(Fact::Consent(
            ConsentFact::given(p.parse().unwrap(), hash)
                .with_method(Method::DeveloperAttestation)
                .with_actor(Actor::Developer {
                    tenant: TenantId::from_u128(9),
                }),
        ));
    }
    push(Fact::Consent(
        ConsentFact::given("sdk-smssdk".parse().unwrap(), hash)
            .with_scope(Scope::Category("phone".parse().unwrap())),
    ));
    if i.is_multiple_of(4) {
        push(Fact::TargetingOptOut { opted_out: true });
    }
}

fn index(subjects: u64) -> DecisionIndex {
    let p = policy();
    let v = PolicyVersion::of(&p);
    let hash = v.hash;
    let c = CompiledPolicy::compile(&p, v).unwrap();
    let mut events = Vec::new();
    for i in 0..subjects {
        subject_events(i, hash, &mut events);
    }
    let mut ix = DecisionIndex::new(TENANT, c);
    ix.reserve(subjects as usize);
    for e in &events {
        ix.apply(e).unwrap();
    }
    ix
}

/// A mix of allowed and denied requests touching every kind of check.
fn requests() -> Vec<DecisionRequest> {
    let at: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let r = |p: &str, c: &[&str]| DecisionRequest::try_new(p, c, at).unwrap();
    vec![
        // allowed: attested SDK collection
        r(
            "sdk-moblink",
            &["deep-link-params", "app-info", "device-id", "os-info"],
        ),
        // allowed: sensitive category with separate consent
        r("sdk-smssdk", &["phone", "app-info", "carrier"]),
        // allowed for 3 in 4 subjects; the rest opted out of targeting
        r("sdk-mobpush", &["app-info", "device-id", "idfa"]),
        // allowed: contract basis, sharing with the affiliate (needs attestation: denied)
        r("security-fraud", &["web-log", "device-id"])
            .with_recipient("guangzhou-zhangtao".parse().unwrap()),
        // allowed: legal obligation to authorities
        r("legal-compliance", &["email", "web-log"]).with_recipient("authorities".parse().unwrap()),
        // denied: forbidden category
        r("sdk-ads", &["biometric"]),
        // denied: GPC against advertising
        r("sdk-ads", &["device-id"]).with_signals(Signals {
            gpc: true,
            dnt: false,
        }),
        // denied: undeclared purpose
        r("resell", &["device-id"]),
    ]
}

/// Time this thread has spent on a CPU, from `/proc/thread-self/schedstat` (Linux).
/// The bench machine is shared; on-CPU time separates our cost from waiting.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn on_cpu<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed();
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    (out, wall, cpu)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// p50/p99 over 1M single decisions, each timed on its own.
fn latency_report(ix: &DecisionIndex, subjects: u64) {
    let reqs = requests();
    let n = 1_000_000u64;
    let mut samples = Vec::with_capacity(n as usize);
    let mut allowed = 0u64;
    // Warm-up.
    for i in 0..100_000u64 {
        let s = SubjectId::from_u128(u128::from(i % subjects) + 1);
        black_box(ix.decide(Some(s), &reqs[(i % reqs.len() as u64) as usize]));
    }
    let start = Instant::now();
    for i in 0..n {
        let s = SubjectId::from_u128(u128::from(i.wrapping_mul(2_654_435_761) % subjects) + 1);
        let r = &reqs[(i % reqs.len() as u64) as usize];
        let t = Instant::now();
        let d = black_box(ix.decide(Some(s), r));
        samples.push(t.elapsed().as_nanos() as u64);
        allowed += u64::from(d.allow);
    }
    let total = start.elapsed();
    samples.sort_unstable();
    // Throughput without per-call timing overhead.
    let ((), untimed, cpu) = on_cpu(|| {
        for i in 0..n {
            let s = SubjectId::from_u128(u128::from(i.wrapping_mul(2_654_435_761) % subjects) + 1);
            black_box(ix.decide(Some(s), &reqs[(i % reqs.len() as u64) as usize]));
        }
    });
    println!(
        "latency over {n} decisions ({subjects} subjects, {} request kinds, {allowed} allowed): \
         p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, max {} ns (timed loop {:.2?})",
        reqs.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples[samples.len() - 1],
        total,
    );
    println!(
        "throughput, one thread: {:.0} decisions/s wall ({n} decisions in {untimed:.2?}); \
         {} on-CPU",
        n as f64 / untimed.as_secs_f64(),
        cpu.map_or("n/a".to_owned(), |c| format!(
            "{:.0} decisions/s ({c:.2?})",
            n as f64 / c.as_secs_f64()
        )),
    );
}

fn rebuild_report(subjects: u64) {
    let p = policy();
    let v = PolicyVersion::of(&p);
    let hash = v.hash;
    let c = CompiledPolicy::compile(&p, v).unwrap();
    let mut events = Vec::with_capacity(subjects as usize * 5);
    for i in 0..subjects {
        subject_events(i, hash, &mut events);
    }
    let (ix, took, cpu) = on_cpu(|| DecisionIndex::rebuild(TENANT, c, events.iter()).unwrap());
    println!(
        "rebuild: {} subjects from {} events in {took:.2?} wall, {} on-CPU ({:.0} events/s wall)",
        ix.len(),
        events.len(),
        cpu.map_or("n/a".to_owned(), |c| format!("{c:.2?}")),
        events.len() as f64 / took.as_secs_f64()
    );
    // Dropping a million states is part of a real rebuild's cost too; time it apart.
    let ((), dropped, _) = on_cpu(|| drop(ix));
    println!("rebuild: dropping the index took {dropped:.2?}");
}

fn bench_decide(c: &mut Criterion, ix: &DecisionIndex, subjects: u64) {
    let reqs = requests();
    let mut g = c.benchmark_group("decide_s004");
    g.throughput(Throughput::Elements(1));
    let alice = SubjectId::from_u128(2);
    g.bench_function("allow_sdk_collection", |b| {
        b.iter(|| ix.decide(Some(black_box(alice)), black_box(&reqs[0])))
    });
    g.bench_function("allow_sensitive_separate_consent", |b| {
        b.iter(|| ix.decide(Some(black_box(alice)), black_box(&reqs[1])))
    });
    g.bench_function("deny_forbidden_category", |b| {
        b.iter(|| ix.decide(Some(black_box(alice)), black_box(&reqs[5])))
    });
    g.throughput(Throughput::Elements(reqs.len() as u64));
    let mut i = 0u64;
    g.bench_function("mixed_8_requests", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let s = SubjectId::from_u128(u128::from(i.wrapping_mul(2_654_435_761) % subjects) + 1);
            for r in &reqs {
                black_box(ix.decide(Some(s), r));
            }
        })
    });
    g.finish();
}

fn bench_rebuild(c: &mut Criterion) {
    let p = policy();
    let v = PolicyVersion::of(&p);
    let hash = v.hash;
    let compiled = CompiledPolicy::compile(&p, v).unwrap();
    let subjects = 100_000u64;
    let mut events = Vec::new();
    for i in 0..subjects {
        subject_events(i, hash, &mut events);
    }
    let mut g = c.benchmark_group("rebuild");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(subjects));
    g.bench_function("100k_subjects", |b| {
        b.iter_batched(
            || compiled.clone(),
            |c| DecisionIndex::rebuild(TENANT, c, events.iter()).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// troth and Cedar side by side on the same generated subjects and requests
/// (the rules of `tests/support/cedar_model.rs`, checked equal by
/// `tests/cedar_differential.rs`). Requests and entities are built before timing, so
/// both sides are timed on the decision alone.
fn bench_vs_cedar(c: &mut Criterion) {
    use cedar_model::*;
    let p = policy();
    let model = CedarModel::new(&p).unwrap();
    let version = PolicyVersion::of(&p);
    let compiled = CompiledPolicy::compile(&p, version.clone()).unwrap();
    let at: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let mut rng = Rng(0xbe_4c);
    let subjects = 10_000u64;
    let mut events = Vec::new();
    for i in 0..subjects {
        subject_events(
            &mut rng,
            &p,
            version.hash,
            SubjectId::from_u128(u128::from(i) + 1),
            &mut events,
        );
    }
    let ix = DecisionIndex::rebuild(cedar_model::TENANT, compiled.clone(), events.iter()).unwrap();
    let empty = SubjectState::new(cedar_model::TENANT, SubjectId::from_u128(0));
    let entities = model.entities(
        (0..subjects)
            .map(|i| {
                let s = SubjectId::from_u128(u128::from(i) + 1);
                CedarModel::subject_entity(
                    &s.to_string(),
                    ix.state(s).unwrap_or(&empty),
                    &compiled,
                    at,
                )
            })
            .collect(),
    );
    let reqs: Vec<(SubjectId, DecisionRequest)> = (0..1000)
        .map(|_| {
            let s = SubjectId::from_u128(rng.below(subjects as usize) as u128 + 1);
            (s, request(&mut rng, &p, at))
        })
        .collect();
    let cedar_reqs: Vec<cedar_policy::Request> = reqs
        .iter()
        .map(|(s, r)| CedarModel::request(&s.to_string(), r))
        .collect();
    let authorizer = cedar_policy::Authorizer::new();
    let allowed = reqs
        .iter()
        .filter(|(s, r)| ix.decide(Some(*s), r).allow)
        .count();
    println!(
        "troth vs cedar: {} policies in the Cedar set, {allowed} of 1000 requests allowed",
        model.policies.policies().count()
    );
    let mut g = c.benchmark_group("troth_vs_cedar_s004");
    g.throughput(Throughput::Elements(reqs.len() as u64));
    g.bench_function("troth_1000_requests", |b| {
        b.iter(|| {
            for (s, r) in &reqs {
                black_box(ix.decide(Some(*s), r));
            }
        })
    });
    g.bench_function("cedar_1000_requests", |b| {
        b.iter(|| {
            for r in &cedar_reqs {
                black_box(model.allows(&authorizer, r, &entities));
            }
        })
    });
    g.finish();
}

fn main() {
    let subjects = 100_000u64;
    let ix = index(subjects);
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    if !quick {
        latency_report(&ix, subjects);
        rebuild_report(1_000_000);
    }
    let mut c = Criterion::default().configure_from_args();
    bench_decide(&mut c, &ix, subjects);
    bench_rebuild(&mut c);
    bench_vs_cedar(&mut c);
    c.final_summary();
}
