//! Hash-chained, append-only audit log with signed checkpoints.
//!
//! Each [`AuditEntry`] hashes (BLAKE3) a canonical, length-prefixed encoding of its
//! fields and its predecessor's hash. Every N entries [`AuditChain`] signs a
//! [`Checkpoint`] over (seq, hash) with Ed25519. [`AuditVerifier`] walks the entries
//! in order and reports the first violation: an edited entry, a broken link, a gap
//! or reordering in sequence numbers, a forged or mismatched checkpoint, or a tail
//! truncated before the latest signed checkpoint.
//!
//! Entries carry no PI: `actor`, `target` and `detail` hold pseudonymous ids and
//! PI-free facts only. Sequence numbers start at 1; entry 1 links to [`AuditHash::GENESIS`].

use crate::keys::Canon;
use crate::sign::{PublicKey, SIGNATURE_LEN, SigningKeyPair};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::num::NonZeroU64;
use thiserror::Error;

const ENTRY_DOMAIN: &[u8] = b"troth.audit.entry.v1";
const CHECKPOINT_DOMAIN: &str = "troth.audit.checkpoint.v1";

/// A 32-byte BLAKE3 hash of an entry. Serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditHash(pub [u8; 32]);

impl AuditHash {
    /// The `prev_hash` of the first entry of a chain.
    pub const GENESIS: AuditHash = AuditHash([0u8; 32]);

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditHash({})", self.to_hex())
    }
}

impl fmt::Display for AuditHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for AuditHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for AuditHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// What happened, before it is sequenced and hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub time: Timestamp,
    /// Who did it (a pseudonymous user, service or subject id; never an email).
    pub actor: String,
    /// What was done, e.g. `consent.withdrawn`.
    pub action: String,
    /// What it was done to (an id).
    pub target: String,
    /// PI-free detail, typically compact JSON.
    pub detail: String,
}

/// One sequenced, hash-linked audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, starting at 1, no gaps.
    pub seq: u64,
    /// When it happened.
    pub time: Timestamp,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// PI-free detail.
    pub detail: String,
    /// Hash of the previous entry ([`AuditHash::GENESIS`] for seq 1).
    pub prev_hash: AuditHash,
    /// Hash of this entry's canonical encoding.
    pub hash: AuditHash,
}

fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// Appends the canonical encoding of an entry (everything but `hash`) to `buf`:
/// `domain, seq, seconds, nanos, actor, action, target, detail, prev_hash`, every
/// variable-length field prefixed by its u64 big-endian length.
fn encode_into(
    buf: &mut Vec<u8>,
    seq: u64,
    time: Timestamp,
    event: (&str, &str, &str, &str),
    prev: &AuditHash,
) {
    put(buf, ENTRY_DOMAIN);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&time.as_second().to_be_bytes());
    buf.extend_from_slice(&time.subsec_nanosecond().to_be_bytes());
    put(buf, event.0.as_bytes());
    put(buf, event.1.as_bytes());
    put(buf, event.2.as_bytes());
    put(buf, event.3.as_bytes());
    buf.extend_from_slice(&prev.0);
}

fn hash_with(
    buf: &mut Vec<u8>,
    seq: u64,
    time: Timestamp,
    event: (&str, &str, &str, &str),
    prev: &AuditHash,
) -> AuditHash {
    buf.clear();
    encode_into(buf, seq, time, event, prev);
    AuditHash(*blake3::hash(buf).as_bytes())
}

impl AuditEntry {
    fn fields(&self) -> (&str, &str, &str, &str) {
        (&self.actor, &self.action, &self.target, &self.detail)
    }

    /// The canonical byte encoding the hash is computed over.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(128);
        encode_into(
            &mut buf,
            self.seq,
            self.time,
            self.fields(),
            &self.prev_hash,
        );
        buf
    }

    /// Recomputes the hash from the entry's contents (ignores the stored `hash`).
    pub fn compute_hash(&self) -> AuditHash {
        let mut buf = Vec::with_capacity(128);
        hash_with(
            &mut buf,
            self.seq,
            self.time,
            self.fields(),
            &self.prev_hash,
        )
    }
}

/// A signed statement that the chain's entry `seq` has hash `hash`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The entry this checkpoint covers (and, through the chain, all before it).
    pub seq: u64,
    /// That entry's hash.
    pub hash: AuditHash,
    /// Ed25519 signature over the canonical (domain, seq, hash) bytes.
    #[serde(with = "sig_hex")]
    pub signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("seq", &self.seq)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

mod sig_hex {
    use super::SIGNATURE_LEN;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        sig: &[u8; SIGNATURE_LEN],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(sig))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; SIGNATURE_LEN], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; SIGNATURE_LEN];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|_| serde::de::Error::custom("expected 128 hex digits"))?;
        Ok(out)
    }
}

fn checkpoint_message(seq: u64, hash: &AuditHash) -> Vec<u8> {
    let mut c = Canon::new(CHECKPOINT_DOMAIN);
    c.0.extend_from_slice(&seq.to_be_bytes());
    c.field(&hash.0);
    c.0
}

impl Checkpoint {
    fn sign(signer: &SigningKeyPair, seq: u64, hash: AuditHash) -> Self {
        Self {
            seq,
            hash,
            signature: signer.sign(&checkpoint_message(seq, &hash)),
        }
    }

    /// Checks the signature against `key`.
    pub fn verify_signature(&self, key: &PublicKey) -> bool {
        key.verify(&checkpoint_message(self.seq, &self.hash), &self.signature)
            .is_ok()
    }
}

/// Entries and checkpoints produced by one [`AuditChain::append_batch`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendedBatch {
    /// The new entries, in order.
    pub entries: Vec<AuditEntry>,
    /// Checkpoints that fell inside the batch.
    pub checkpoints: Vec<Checkpoint>,
}

/// The appender: assigns sequence numbers, links and hashes entries, and signs a
/// checkpoint every `checkpoint_every` entries. One chain per tenant partition;
/// the caller persists its output in order.
pub struct AuditChain {
    signer: SigningKeyPair,
    checkpoint_every: NonZeroU64,
    next_seq: u64,
    last_hash: AuditHash,
    buf: Vec<u8>,
}

impl fmt::Debug for AuditChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditChain")
            .field("next_seq", &self.next_seq)
            .field("last_hash", &self.last_hash)
            .field("checkpoint_every", &self.checkpoint_every)
            .finish_non_exhaustive()
    }
}

impl AuditChain {
    /// A new, empty chain.
    pub fn new(signer: SigningKeyPair, checkpoint_every: NonZeroU64) -> Self {
        Self::resume(signer, checkpoint_every, 0, AuditHash::GENESIS)
    }

    /// Continues a stored chain whose last entry is `last_seq` with hash `last_hash`
    /// (`0` and [`AuditHash::GENESIS`] for an empty chain).
    pub fn resume(
        signer: SigningKeyPair,
        checkpoint_every: NonZeroU64,
        last_seq: u64,
        last_hash: AuditHash,
    ) -> Self {
        Self {
            signer,
            checkpoint_every,
            next_seq: last_seq.saturating_add(1),
            last_hash,
            buf: Vec::with_capacity(256),
        }
    }

    /// Sequence number the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Hash of the last appended entry (GENESIS when empty).
    pub fn last_hash(&self) -> AuditHash {
        self.last_hash
    }

    /// The public key checkpoints are signed with.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Appends one event; returns the entry and a checkpoint if one is due.
    pub fn append(&mut self, event: AuditEvent) -> (AuditEntry, Option<Checkpoint>) {
        let seq = self.next_seq;
        let hash = hash_with(
            &mut self.buf,
            seq,
            event.time,
            (&event.actor, &event.action, &event.target, &event.detail),
            &self.last_hash,
        );
        let entry = AuditEntry {
            seq,
            time: event.time,
            actor: event.actor,
            action: event.action,
            target: event.target,
            detail: event.detail,
            prev_hash: self.last_hash,
            hash,
        };
        self.last_hash = hash;
        self.next_seq = seq.saturating_add(1);
        let cp = seq
            .is_multiple_of(self.checkpoint_every.get())
            .then(|| Checkpoint::sign(&self.signer, seq, hash));
        (entry, cp)
    }

    /// Appends many events in order (the fast path: one buffer, no per-entry setup).
    pub fn append_batch<I>(&mut self, events: I) -> AppendedBatch
    where
        I: IntoIterator<Item = AuditEvent>,
    {
        let events = events.into_iter();
        let mut out = AppendedBatch {
            entries: Vec::with_capacity(events.size_hint().0),
            checkpoints: Vec::new(),
        };
        for event in events {
            let (entry, cp) = self.append(event);
            out.entries.push(entry);
            out.checkpoints.extend(cp);
        }
        out
    }

    /// Signs a checkpoint at the current tip now (e.g. before shutdown or an export),
    /// so truncation of the newest entries is detectable too. `None` when empty.
    pub fn checkpoint_now(&self) -> Option<Checkpoint> {
        (self.next_seq > 1)
            .then(|| Checkpoint::sign(&self.signer, self.next_seq - 1, self.last_hash))
    }
}

/// What is wrong at the reported entry.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The stored hash does not match the entry's contents (the entry was edited).
    #[error("entry contents do not match its hash")]
    HashMismatch,
    /// `prev_hash` does not equal the preceding entry's hash.
    #[error("link to the previous entry is broken")]
    BrokenLink,
    /// Entries are missing before this one.
    #[error("sequence gap: expected entry `{expected}`")]
    SequenceGap {
        /// The sequence number that should have come next.
        expected: u64,
    },
    /// An entry repeats or goes back in sequence (reordered or duplicated rows).
    #[error("entries out of order: expected entry `{expected}`")]
    OutOfOrder {
        /// The sequence number that should have come next.
        expected: u64,
    },
    /// A checkpoint's signature does not verify with the given key.
    #[error("checkpoint signature is invalid")]
    CheckpointSignatureInvalid,
    /// A validly signed checkpoint names a different hash for this entry.
    #[error("entry hash differs from the signed checkpoint")]
    CheckpointHashMismatch,
    /// A validly signed checkpoint covers this seq, but the log ends before it.
    #[error(
        "log truncated: it ends at entry `{last_seq}` but a signed checkpoint covers this entry"
    )]
    TruncatedTail {
        /// The last entry present (0 if none).
        last_seq: u64,
    },
}

/// The first problem found in an audit chain: entry `seq` and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("audit chain broken at entry `{seq}`: {kind}")]
pub struct AuditViolation {
    /// Sequence number of the offending entry (for truncation: the checkpoint's seq).
    pub seq: u64,
    /// What is wrong.
    pub kind: ViolationKind,
}

/// Summary of a successful verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Last sequence number (0 if none).
    pub last_seq: u64,
    /// Hash of the last entry (the start hash if none).
    pub last_hash: AuditHash,
    /// Checkpoints whose signature and hash were checked.
    pub checkpoints_verified: u64,
    /// Seq of the latest verified checkpoint. Entries after it are chained but not
    /// yet signed, so removing them is detectable only by a later checkpoint.
    pub last_checkpoint_seq: Option<u64>,
}

/// Verifies an audit chain (or a segment of one) against signed checkpoints.
#[derive(Clone, Debug)]
pub struct AuditVerifier {
    key: PublicKey,
    start_seq: u64,
    start_prev: AuditHash,
}

impl AuditVerifier {
    /// A verifier for a whole chain (first entry seq 1, linked to GENESIS).
    pub fn new(key: PublicKey) -> Self {
        Self {
            key,
            start_seq: 1,
            start_prev: AuditHash::GENESIS,
        }
    }

    /// Verifies a segment starting at `first_seq` whose first entry links to `prev_hash`
    /// (taken from an earlier verified run or a signed checkpoint).
    pub fn starting_at(mut self, first_seq: u64, prev_hash: AuditHash) -> Self {
        self.start_seq = first_seq;
        self.start_prev = prev_hash;
        self
    }

    /// Walks `entries` in the order given and checks them against `checkpoints`
    /// (any order). Returns the first violation, by position in the chain.
    pub fn verify<I>(
        &self,
        entries: I,
        checkpoints: &[Checkpoint],
    ) -> Result<VerifyReport, AuditViolation>
    where
        I: IntoIterator,
        I::Item: Borrow<AuditEntry>,
    {
        let mut run = self.begin(checkpoints);
        for item in entries {
            run.push(item.borrow().view())?;
        }
        run.finish()
    }

    /// Starts an incremental verification against `checkpoints` (any order): feed
    /// the entries in chain order with [`Verification::push`], then call
    /// [`Verification::finish`]. Same checks and the same first violation as
    /// [`AuditVerifier::verify`] over all the entries at once, without holding them.
    pub fn begin<'c>(&self, checkpoints: &'c [Checkpoint]) -> Verification<'c> {
        let mut cps: Vec<&'c Checkpoint> = checkpoints
            .iter()
            .filter(|c| c.seq >= self.start_seq)
            .collect();
        cps.sort_by_key(|c| c.seq);
        Verification {
            key: self.key,
            cps,
            next_cp: 0,
            buf: Vec::with_capacity(256),
            expected: self.start_seq,
            prev: self.start_prev,
            count: 0,
            verified: 0,
            last_cp: None,
        }
    }
}

/// A borrowed view of an [`AuditEntry`], e.g. over fields still in a database row
/// buffer, for [`Verification::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditEntryRef<'a> {
    /// Position in the chain.
    pub seq: u64,
    /// When it happened.
    pub time: Timestamp,
    /// Who did it.
    pub actor: &'a str,
    /// What was done.
    pub action: &'a str,
    /// What it was done to.
    pub target: &'a str,
    /// PI-free detail.
    pub detail: &'a str,
    /// Hash of the previous entry, as stored.
    pub prev_hash: AuditHash,
    /// Hash of this entry, as stored.
    pub hash: AuditHash,
}

impl AuditEntry {
    /// This entry as an [`AuditEntryRef`].
    pub fn view(&self) -> AuditEntryRef<'_> {
        AuditEntryRef {
            seq: self.seq,
            time: self.time,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            detail: &self.detail,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// An incremental verification started by [`AuditVerifier::begin`].
pub struct Verification<'c> {
    key: PublicKey,
    /// Checkpoints at or after the start, sorted by seq; `next_cp` is the first not
    /// yet matched against an entry.
    cps: Vec<&'c Checkpoint>,
    next_cp: usize,
    buf: Vec<u8>,
    expected: u64,
    prev: AuditHash,
    count: u64,
    verified: u64,
    last_cp: Option<u64>,
}

impl fmt::Debug for Verification<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verification")
            .field("expected", &self.expected)
            .field("count", &self.count)
            .field("checkpoints_verified", &self.verified)
            .finish_non_exhaustive()
    }
}

/// What the ordered part of a verification needs from one entry: its seq, its
/// stored `prev_hash` and `hash`, and whether that hash is the hash of the entry's
/// own content. The last depends on nothing but the entry, so a verifier can
/// compute it for many entries at once on other threads
/// ([`AuditEntryRef::check_hash`]) and keep only the ordered checks (sequence,
/// links, checkpoints) in its single run ([`Verification::push_checked`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCheck {
    seq: u64,
    prev_hash: AuditHash,
    hash: AuditHash,
    matches: bool,
}

impl HashCheck {
    /// The entry's position in the chain.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl AuditEntryRef<'_> {
    /// Recomputes this entry's hash (`buf` is scratch space, reused between calls).
    pub fn check_hash(&self, buf: &mut Vec<u8>) -> HashCheck {
        let fields = (self.actor, self.action, self.target, self.detail);
        HashCheck {
            seq: self.seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            matches: hash_with(buf, self.seq, self.time, fields, &self.prev_hash) == self.hash,
        }
    }
}

impl Verification<'_> {
    /// Checks the next entry in chain order. After an error, stop: the chain is
    /// broken at the entry named.
    pub fn push(&mut self, e: AuditEntryRef<'_>) -> Result<(), AuditViolation> {
        let check = e.check_hash(&mut self.buf);
        self.push_checked(check)
    }

    /// [`Self::push`] for an entry whose hash was already checked by
    /// [`AuditEntryRef::check_hash`]: same checks, same verdicts.
    pub fn push_checked(&mut self, e: HashCheck) -> Result<(), AuditViolation> {
        let fail = |seq, kind| Err(AuditViolation { seq, kind });
        if e.seq != self.expected {
            let kind = if e.seq > self.expected {
                ViolationKind::SequenceGap {
                    expected: self.expected,
                }
            } else {
                ViolationKind::OutOfOrder {
                    expected: self.expected,
                }
            };
            return fail(e.seq, kind);
        }
        if e.prev_hash != self.prev {
            return fail(e.seq, ViolationKind::BrokenLink);
        }
        if !e.matches {
            return fail(e.seq, ViolationKind::HashMismatch);
        }
        while let Some(cp) = self.cps.get(self.next_cp).filter(|c| c.seq == e.seq) {
            if !cp.verify_signature(&self.key) {
                return fail(cp.seq, ViolationKind::CheckpointSignatureInvalid);
            }
            if cp.hash != e.hash {
                return fail(cp.seq, ViolationKind::CheckpointHashMismatch);
            }
            self.verified += 1;
            self.last_cp = Some(cp.seq);
            self.next_cp += 1;
        }
        self.prev = e.hash;
        self.expected = e.seq.saturating_add(1);
        self.count += 1;
        Ok(())
    }

    /// The sequence number the next entry must have.
    pub fn expected_seq(&self) -> u64 {
        self.expected
    }

    /// Ends the run: checkpoints beyond the last entry pushed mean a truncated log.
    pub fn finish(self) -> Result<VerifyReport, AuditViolation> {
        // Checkpoints beyond the end: a forged one proves nothing; a genuine one
        // proves the log once reached that far, so it was truncated.
        let last_seq = self.expected - 1;
        let mut truncated = None;
        for cp in self.cps.iter().skip(self.next_cp) {
            if !cp.verify_signature(&self.key) {
                return Err(AuditViolation {
                    seq: cp.seq,
                    kind: ViolationKind::CheckpointSignatureInvalid,
                });
            }
            truncated.get_or_insert(cp.seq);
        }
        if let Some(seq) = truncated {
            return Err(AuditViolation {
                seq,
                kind: ViolationKind::TruncatedTail { last_seq },
            });
        }
        Ok(VerifyReport {
            entries: self.count,
            last_seq,
            last_hash: self.prev,
            checkpoints_verified: self.verified,
            last_checkpoint_seq: self.last_cp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64, every: u64) -> (AuditChain, Vec<AuditEntry>, Vec<Checkpoint>) {
        let mut c = AuditChain::new(
            SigningKeyPair::from_seed(&[1u8; 32]),
            NonZeroU64::new(every).unwrap(),
        );
        let events = (0..n).map(|i| AuditEvent {
            time: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
            actor: format!("user:{}", i % 3),
            action: "consent.given".into(),
            target: format!("subject:{i}"),
            detail: r#"{"purpose":"marketing"}"#.into(),
        });
        let out = c.append_batch(events);
        (c, out.entries, out.checkpoints)
    }

    fn verifier(c: &AuditChain) -> AuditVerifier {
        AuditVerifier::new(c.public_key())
    }

    /// Hashes checked ahead (as the store's parallel readers do) give the same
    /// verdicts as checking in the run.
    #[test]
    fn hashes_checked_ahead_give_the_same_verdicts() {
        let (c, es, cps) = chain(30, 10);
        let mut buf = Vec::new();
        let ahead = |es: &[AuditEntry], buf: &mut Vec<u8>| {
            let checks: Vec<HashCheck> = es.iter().map(|e| e.view().check_hash(buf)).collect();
            let v = verifier(&c);
            let mut run = v.begin(&cps);
            for check in checks {
                run.push_checked(check)?;
            }
            run.finish()
        };
        assert_eq!(ahead(&es, &mut buf).unwrap().entries, 30);
        let mut tampered = es.clone();
        tampered[17].detail = r#"{"purpose":"ads"}"#.into();
        let mut swapped = es.clone();
        swapped.swap(4, 5);
        let mut cut = es.clone();
        cut.truncate(25);
        for bad in [tampered, swapped, cut] {
            let expected = verifier(&c).verify(&bad, &cps).unwrap_err();
            assert_eq!(ahead(&bad, &mut buf).unwrap_err(), expected);
        }
    }

    #[test]
    fn intact_chain_verifies() {
        let (c, es, cps) = chain(25, 10);
        assert_eq!(cps.len(), 2);
        let r = verifier(&c).verify(&es, &cps).unwrap();
        assert_eq!(r.entries, 25);
        assert_eq!(r.last_seq, 25);
        assert_eq!(r.checkpoints_verified, 2);
        assert_eq!(r.last_checkpoint_seq, Some(20));
        assert_eq!(r.last_hash, c.last_hash());
    }

    #[test]
    fn edited_byte_is_hash_mismatch() {
        let (c, mut es, cps) = chain(25, 10);
        es[6].detail = r#"{"purpose":"marketinG"}"#.into();
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 7,
                kind: ViolationKind::HashMismatch
            }
        );
    }

    #[test]
    fn edited_and_rehashed_is_broken_link() {
        let (c, mut es, cps) = chain(25, 10);
        es[6].actor = "someone-else".into();
        es[6].hash = es[6].compute_hash();
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 8,
                kind: ViolationKind::BrokenLink
            }
        );
    }

    #[test]
    fn rewritten_suffix_is_checkpoint_mismatch() {
        let (c, mut es, cps) = chain(25, 10);
        es[6].actor = "someone-else".into();
        for i in 6..es.len() {
            if i > 0 {
                es[i].prev_hash = es[i - 1].hash;
            }
            es[i].hash = es[i].compute_hash();
        }
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 10,
                kind: ViolationKind::CheckpointHashMismatch
            }
        );
    }

    #[test]
    fn deleted_row_is_gap() {
        let (c, mut es, cps) = chain(25, 10);
        es.remove(4);
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 6,
                kind: ViolationKind::SequenceGap { expected: 5 }
            }
        );
    }

    #[test]
    fn swapped_rows_are_detected() {
        let (c, mut es, cps) = chain(25, 10);
        es.swap(3, 4);
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 5,
                kind: ViolationKind::SequenceGap { expected: 4 }
            }
        );
        // Swap with renumbering: the link breaks instead.
        let (_, mut es2, _) = chain(25, 10);
        es2.swap(3, 4);
        es2[3].seq = 4;
        es2[4].seq = 5;
        let v = verifier(&c).verify(&es2, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 4,
                kind: ViolationKind::BrokenLink
            }
        );
    }

    #[test]
    fn duplicate_is_out_of_order() {
        let (c, mut es, cps) = chain(5, 10);
        let dup = es[2].clone();
        es.insert(3, dup);
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 3,
                kind: ViolationKind::OutOfOrder { expected: 4 }
            }
        );
    }

    #[test]
    fn truncated_tail_is_detected_against_checkpoint() {
        let (c, mut es, cps) = chain(25, 10);
        es.truncate(15);
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 20,
                kind: ViolationKind::TruncatedTail { last_seq: 15 }
            }
        );
        // Truncation after the last checkpoint is undetectable without a new one...
        let (c, mut es, cps) = chain(25, 10);
        es.truncate(22);
        assert!(verifier(&c).verify(&es, &cps).is_ok());
        // ...which `checkpoint_now` provides.
        let mut cps2 = cps.clone();
        cps2.extend(c.checkpoint_now());
        let v = verifier(&c).verify(&es, &cps2).unwrap_err();
        assert_eq!(v.kind, ViolationKind::TruncatedTail { last_seq: 22 });
    }

    #[test]
    fn forged_checkpoints_are_rejected() {
        let (c, es, mut cps) = chain(25, 10);
        cps[0].signature[0] ^= 1;
        let v = verifier(&c).verify(&es, &cps).unwrap_err();
        assert_eq!(
            v,
            AuditViolation {
                seq: 10,
                kind: ViolationKind::CheckpointSignatureInvalid
            }
        );
        // Checkpoints verified with another key.
        let (_, es3, cps3) = chain(25, 10);
        let other = AuditVerifier::new(SigningKeyPair::from_seed(&[2u8; 32]).public_key());
        let v = other.verify(&es3, &cps3).unwrap_err();
        assert_eq!(v.kind, ViolationKind::CheckpointSignatureInvalid);
    }

    #[test]
    fn segment_and_resume() {
        let (c, es, cps) = chain(25, 10);
        let seg = verifier(&c)
            .starting_at(11, es[9].hash)
            .verify(&es[10..], &cps)
            .unwrap();
        assert_eq!(seg.entries, 15);
        let mut resumed = AuditChain::resume(
            SigningKeyPair::from_seed(&[1u8; 32]),
            NonZeroU64::new(10).unwrap(),
            25,
            c.last_hash(),
        );
        let (e, _) = resumed.append(AuditEvent {
            time: Timestamp::UNIX_EPOCH,
            actor: "a".into(),
            action: "b".into(),
            target: "c".into(),
            detail: String::new(),
        });
        let mut all = es;
        all.push(e);
        assert_eq!(verifier(&c).verify(&all, &cps).unwrap().last_seq, 26);
    }

    #[test]
    fn incremental_run_matches_whole_verify() {
        let (c, es, mut cps) = chain(25, 10);
        cps.extend(c.checkpoint_now());
        let whole = verifier(&c).verify(&es, &cps).unwrap();
        let v = verifier(&c);
        let mut run = v.begin(&cps);
        for page in es.chunks(7) {
            for e in page {
                run.push(e.view()).unwrap();
            }
        }
        assert_eq!(run.expected_seq(), 26);
        assert_eq!(run.finish().unwrap(), whole);
        // A truncated run still sees the checkpoints beyond its end.
        let mut run = v.begin(&cps);
        for e in &es[..15] {
            run.push(e.view()).unwrap();
        }
        assert_eq!(
            run.finish().unwrap_err().kind,
            ViolationKind::TruncatedTail { last_seq: 15 }
        );
    }

    #[test]
    fn serde_round_trip() {
        let (_, es, cps) = chain(10, 5);
        let j = serde_json::to_string(&(&es, &cps)).unwrap();
        let (es2, cps2): (Vec<AuditEntry>, Vec<Checkpoint>) = serde_json::from_str(&j).unwrap();
        assert_eq!((es, cps), (es2, cps2));
    }
}
