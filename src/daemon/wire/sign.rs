//! Every HMAC of the daemon, in one place: the `X-Hub-Signature-256` check of inbound
//! webhooks (and the Flows data endpoint), and the `X-Wafl-Signature` of outbound webhook
//! calls. Checks compare in constant time.

use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the raw body, in constant time.
/// A missing or malformed header is a failure, like a wrong one.
pub fn verify_signature(app_secret: &[u8], raw_body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(raw_body);
    mac.verify_slice(&sig).is_ok()
}

/// The header value WhatsApp would send for this body (used by tests and the load tool).
pub fn sign(app_secret: &[u8], raw_body: &[u8]) -> String {
    match HmacSha256::new_from_slice(app_secret) {
        Ok(mut mac) => {
            mac.update(raw_body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// `X-Wafl-Signature: sha256=HEX(HMAC-SHA256(secret, "<timestamp>.<body>"))`, the
/// signature of outbound webhook calls.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    match HmacSha256::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Checks an `X-Wafl-Signature` in constant time (what receivers do; used by tests).
pub fn verify_webhook_signature(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(sig) = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compares two secrets (admin and verify tokens) in constant time: the HMACs of both
/// values under a fixed key, compared with `verify_slice`.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let key = b"wafl-compare";
    let (Ok(mut ma), Ok(mut mb)) = (
        HmacSha256::new_from_slice(key),
        HmacSha256::new_from_slice(key),
    ) else {
        return false;
    };
    ma.update(a);
    mb.update(b);
    mb.verify_slice(&ma.finalize().into_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_signatures_verify_and_depend_on_the_timestamp() {
        let sig = webhook_signature(b"k", 1700000000, b"{}");
        assert!(verify_webhook_signature(b"k", 1700000000, b"{}", &sig));
        assert!(!verify_webhook_signature(b"k", 1700000001, b"{}", &sig));
        assert!(!verify_webhook_signature(b"other", 1700000000, b"{}", &sig));
    }
}
