//! Browser sessions as signed cookies, and CSRF tokens derived from them.
//!
//! A session is a small JSON document, base64url-encoded and followed by a keyed
//! BLAKE3 MAC over the cookie's name and the document: the server keeps no session
//! table, and a cookie edited by the browser is simply ignored. The MAC key is
//! derived from the server's code key (the one that hashes one-time codes), so it
//! survives restarts without a new secret to manage.
//!
//! Every page visit has a session, signed in or not, so every form can carry a CSRF
//! token: the MAC of the session's random nonce. A POST whose `_csrf` field does not
//! match its cookie's token is refused (403). Signing in replaces the nonce, so a
//! token seen before sign-in is useless after it (no session fixation).

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The MAC key for cookies and CSRF tokens.
#[derive(Clone)]
pub struct Keys {
    mac: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    /// Derives the web keys from the server's code key.
    pub fn derive(code_key: &[u8; 32]) -> Self {
        Self {
            mac: blake3::derive_key("troth web session cookie v1", code_key),
        }
    }

    fn tag(&self, parts: &[&[u8]]) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.mac);
        for p in parts {
            h.update(&(p.len() as u64).to_be_bytes());
            h.update(p);
        }
        h.finalize()
    }

    /// A keyed hash for other derived values (banner subject ids).
    pub fn derive_bytes(&self, context: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut all: Vec<&[u8]> = vec![context.as_bytes()];
        all.extend_from_slice(parts);
        *self.tag(&all).as_bytes()
    }
}

/// A pending sign-in: a code was (or, for unknown addresses, seemingly was) sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The attempt id the code is stored under.
    pub id: String,
    /// The subject it signs in, when the address was known.
    pub subject: Option<String>,
}

/// What a session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random nonce; the CSRF token is derived from it.
    pub n: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Signed-in subject (privacy center).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Sign-in in progress (privacy center).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pend: Option<Pending>,
    /// Hash of the API key an operator signed in with (console). The key itself is
    /// never stored; its hash is useless as a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    // A failing OS generator leaves zeros only if getrandom errs; fall back to the
    // clock so two sessions still differ, and log it.
    if getrandom::fill(&mut b).is_err() {
        tracing::error!("random generator failed; session nonce from clock");
        b[..16].copy_from_slice(&Timestamp::now().as_nanosecond().to_be_bytes());
    }
    B64.encode(b)
}

impl Session {
    /// A new anonymous session valid for `secs`.
    pub fn new(secs: i64) -> Self {
        Self {
            n: nonce(),
            exp: Timestamp::now().as_second() + secs,
            sub: None,
            pend: None,
            key: None,
        }
    }

    /// Gives the session a new nonce and lifetime (after signing in or out).
    pub fn renew(&mut self, secs: i64) {
        self.n = nonce();
        self.exp = Timestamp::now().as_second() + secs;
    }

    /// This session's CSRF token.
    pub fn csrf(&self, keys: &Keys) -> String {
        B64.encode(keys.tag(&[b"csrf", self.n.as_bytes()]).as_bytes())
    }

    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub fn csrf_ok(&self, keys: &Keys, token: &str) -> bool {
        let want = keys.tag(&[b"csrf", self.n.as_bytes()]);
        let got = B64
            .decode(token.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(blake3::Hash::from_bytes);
        got.is_some_and(|g| g == want)
    }

    /// The signed cookie value.
    pub fn encode(&self, keys: &Keys, name: &str) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mac = keys.tag(&[name.as_bytes(), &json]);
        format!("{}.{}", B64.encode(&json), B64.encode(mac.as_bytes()))
    }

    /// Reads and checks a cookie value; `None` when forged, malformed or expired.
    pub fn decode(keys: &Keys, name: &str, value: &str) -> Option<Self> {
        let (body, mac) = value.split_once('.')?;
        let json = B64.decode(body).ok()?;
        let mac: [u8; 32] = B64.decode(mac).ok()?.try_into().ok()?;
        // blake3::Hash compares in constant time.
        if keys.tag(&[name.as_bytes(), &json]) != blake3::Hash::from_bytes(mac) {
            return None;
        }
        let s: Session = serde_json::from_slice(&json).ok()?;
        (s.exp > Timestamp::now().as_second()).then_some(s)
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// How cookies are set.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Add `Secure` (the server listens with TLS).
    pub secure: bool,
}

impl CookiePolicy {
    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure under TLS.
    pub fn set(&self, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("troth_invalid=; Max-Age=0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_and_reject_tampering() {
        let keys = Keys::derive(&[7; 32]);
        let mut s = Session::new(60);
        s.sub = Some("0194f0a0-0000-7000-8000-000000000001".into());
        let v = s.encode(&keys, "troth_pc");
        let back = Session::decode(&keys, "troth_pc", &v).unwrap();
        assert_eq!(back.sub, s.sub);
        assert!(
            Session::decode(&keys, "troth_console", &v).is_none(),
            "bound to its name"
        );
        let (body, mac) = v.split_once('.').unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&B64.decode(body).unwrap()).unwrap();
        json["sub"] = "someone-else".into();
        let forged = format!("{}.{mac}", B64.encode(serde_json::to_vec(&json).unwrap()));
        assert!(Session::decode(&keys, "troth_pc", &forged).is_none());
        let other = Keys::derive(&[8; 32]);
        assert!(Session::decode(&other, "troth_pc", &v).is_none());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let keys = Keys::derive(&[7; 32]);
        let a = Session::new(60);
        let b = Session::new(60);
        assert!(a.csrf_ok(&keys, &a.csrf(&keys)));
        assert!(!a.csrf_ok(&keys, &b.csrf(&keys)));
        assert!(!a.csrf_ok(&keys, ""));
    }

    #[test]
    fn expired_sessions_are_ignored() {
        let keys = Keys::derive(&[7; 32]);
        let s = Session::new(-1);
        assert!(Session::decode(&keys, "x", &s.encode(&keys, "x")).is_none());
    }
}
