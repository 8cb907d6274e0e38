//! Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, where each
//! `v1` is HMAC-SHA256 over `"{t}.{raw body}"` keyed with the whole `whsec_…` string. Checked
//! on the raw bytes before anything is parsed; any matching `v1` is accepted (secret rotation).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header")]
    Malformed,
    #[error("no signature matches the payload")]
    Mismatch,
    #[error("signature timestamp outside the tolerance")]
    Expired,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value Stripe would send for `body` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Verifies `header` for `body` at time `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                )
            }
            "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {} // v0 and future schemes are ignored
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, timestamp, body).finalize().into_bytes();
    let matched = candidates.iter().fold(false, |any, c| {
        any | bool::from(c.as_slice().ct_eq(expected.as_slice()))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    // A timestamp from the header is any i64: no overflow on the way to the distance.
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The header and body come from anyone on the internet.
        #[test]
        fn verify_never_panics(
            header in proptest::option::of(proptest::prelude::any::<String>()),
            t in proptest::prelude::any::<i64>(),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            now in proptest::prelude::any::<i64>(),
        ) {
            let _ = verify(header.as_deref(), &body, SECRET, now, 300);
            let forged = format!("t={t},v1={}", "00".repeat(32));
            let _ = verify(Some(&forged), &body, SECRET, now, 300);
        }
    }

    #[test]
    fn an_extreme_timestamp_is_expired_not_an_overflow() {
        let body = b"{}";
        let header = sign(SECRET, i64::MIN, body);
        assert!(matches!(
            verify(Some(&header), body, SECRET, i64::MAX, 300),
            Err(SignatureError::Expired)
        ));
    }

    // Test vector computed independently with python3 hmac and `openssl dgst -sha256 -hmac`.
    const SECRET: &str = "whsec_test_inboxgrove";
    const T: i64 = 1767225600;
    const BODY: &str = r#"{"id":"evt_test_1","object":"event","api_version":"2026-09-30.endive","created":1767225600,"data":{"object":{"id":"sub_test_1","object":"subscription","status":"trialing"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"customer.subscription.created"}"#;
    const V1: &str = "d73c1bfa168ad4f055524c4fbb12e1992d3b9b3bd4885c35bae114e31f61ba9f";
    const V1_OLD_SECRET: &str = "b5c61165c28c01fdcb34e9e133ded128f6848395a9d16c492a8cb59495d91cf4";

    fn check(header: &str, body: &str, secret: &str, now: i64) -> Result<(), SignatureError> {
        verify(Some(header), body.as_bytes(), secret, now, 300)
    }

    #[test]
    fn signing_matches_the_independently_computed_vector() {
        assert_eq!(sign(SECRET, T, BODY.as_bytes()), format!("t={T},v1={V1}"));
        assert_eq!(
            sign("whsec_test", 1700000000, b"{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }

    #[test]
    fn a_valid_signature_is_accepted() {
        assert_eq!(
            check(&format!("t={T},v1={V1}"), BODY, SECRET, T + 10),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let tampered = BODY.replace("trialing", "active");
        assert_eq!(
            check(&format!("t={T},v1={V1}"), &tampered, SECRET, T + 10),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_wrong_secret_is_refused() {
        assert_eq!(
            check(&format!("t={T},v1={V1}"), BODY, "whsec_other", T + 10),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_changed_timestamp_breaks_the_signature() {
        assert_eq!(
            check(&format!("t={},v1={V1}", T + 1), BODY, SECRET, T + 10),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_outside_300_seconds_either_way_is_refused() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(
            check(&header, BODY, SECRET, T + 301),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            check(&header, BODY, SECRET, T - 301),
            Err(SignatureError::Expired)
        );
        assert_eq!(check(&header, BODY, SECRET, T + 300), Ok(()));
    }

    #[test]
    fn any_of_several_v1_values_may_match_during_rotation() {
        let rotated = format!("t={T},v1={V1_OLD_SECRET},v1={V1}");
        assert_eq!(check(&rotated, BODY, SECRET, T), Ok(()));
        assert_eq!(check(&rotated, BODY, "whsec_old_rotated", T), Ok(()));
        let reversed = format!("t={T},v1={V1},v0=abc,v1={V1_OLD_SECRET}");
        assert_eq!(check(&reversed, BODY, SECRET, T), Ok(()));
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        assert_eq!(
            verify(None, BODY.as_bytes(), SECRET, T, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check("v1=abcd", BODY, SECRET, T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&format!("t={T}"), BODY, SECRET, T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check("garbage", BODY, SECRET, T),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&format!("t={T},v1=zz"), BODY, SECRET, T),
            Err(SignatureError::Malformed)
        );
    }
}
