//! The cryptography of the WhatsApp Flows data endpoint, and nothing else.
//!
//! Meta's data API 3.0: RSA-OAEP (SHA-256, MGF1 SHA-256, empty label) unwraps the AES-128
//! key, AES-GCM with the 16-byte IV decrypts the body, and the answer is encrypted with the
//! same key and the bit-flipped IV.
//!
//! RSA is AWS-LC (`aws-lc-rs`), whose OAEP decryption runs in constant time; AES-GCM is
//! the pure-Rust `aes-gcm`, because AWS-LC's AEAD takes 12-byte nonces only. Both build
//! with cargo alone: no system OpenSSL. The private key is read from PEM in the forms a
//! Flows key is found in: PKCS#8 or PKCS#1, plain or protected by a passphrase (PBES2
//! PKCS#8 as OpenSSL 3 writes it, or OpenSSL's traditional `Proc-Type: 4,ENCRYPTED`
//! PKCS#1 with DES-EDE3-CBC or AES-CBC).

use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::{AesGcm, Nonce};
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use md5::{Digest, Md5};

/// The RSA private key whose public half is registered with WhatsApp.
pub struct FlowKey(OaepPrivateDecryptingKey);

impl std::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowKey(***)")
    }
}

const UNREADABLE: &str =
    "the Flows private key is not a readable PEM private key (wrong passphrase?)";
const NOT_RSA: &str = "the Flows private key is not an RSA key";
const NO_PASSPHRASE: &str =
    "the Flows private key is protected by a passphrase: set WAFL_FLOWS_KEY_PASSPHRASE";

/// DER of the AlgorithmIdentifier `rsaEncryption` (1.2.840.113549.1.1.1) with NULL params.
const RSA_ALGORITHM: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// The OID `rsaEncryption`.
const RSA_OID: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl FlowKey {
    /// Reads a PEM key: PKCS#8 or PKCS#1, plain or protected by a passphrase (Meta's
    /// guide has OpenSSL write a passphrase-protected key).
    pub fn from_pem(pem: &[u8], passphrase: Option<&[u8]>) -> Result<FlowKey, String> {
        let block = Pem::parse(pem).ok_or(UNREADABLE)?;
        let pkcs8 = match block.label.as_str() {
            "PRIVATE KEY" => block.der,
            "ENCRYPTED PRIVATE KEY" => {
                let pass = passphrase.ok_or(NO_PASSPHRASE)?;
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(block.der.as_slice())
                    .map_err(|_| UNREADABLE)?;
                info.decrypt(pass)
                    .map_err(|_| UNREADABLE)?
                    .as_bytes()
                    .to_vec()
            }
            "RSA PRIVATE KEY" => {
                let pkcs1 = match block.dek_info {
                    None => block.der,
                    Some(dek) => {
                        let pass = passphrase.ok_or(NO_PASSPHRASE)?;
                        decrypt_traditional(&dek, pass, &block.der).ok_or(UNREADABLE)?
                    }
                };
                pkcs8_of_pkcs1(&pkcs1)
            }
            "EC PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                return Err(NOT_RSA.into());
            }
            _ => return Err(UNREADABLE.into()),
        };
        if !is_rsa_pkcs8(&pkcs8) {
            return Err(NOT_RSA.into());
        }
        let key = PrivateDecryptingKey::from_pkcs8(&pkcs8).map_err(|_| UNREADABLE)?;
        let key = OaepPrivateDecryptingKey::new(key).map_err(|_| UNREADABLE)?;
        Ok(FlowKey(key))
    }

    /// RSA-OAEP with SHA-256 for the digest and MGF1, empty label; the AES-128 key.
    pub fn unwrap_key(&self, wrapped: &[u8]) -> Option<[u8; 16]> {
        let mut out = vec![0u8; self.0.min_output_size()];
        let plain = self
            .0
            .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, None)
            .ok()?;
        plain.try_into().ok()
    }
}

/// AES-128-GCM decryption of `ciphertext || tag`; the IV is 16 bytes (Flows) or 12.
pub fn gcm_open(key: &[u8; 16], iv: &[u8], blob: &[u8]) -> Option<Vec<u8>> {
    match iv.len() {
        16 => AesGcm::<Aes128, U16>::new(key.into())
            .decrypt(&Nonce::<U16>::try_from(iv).ok()?, blob)
            .ok(),
        12 => AesGcm::<Aes128, U12>::new(key.into())
            .decrypt(&Nonce::<U12>::try_from(iv).ok()?, blob)
            .ok(),
        _ => None,
    }
}

/// AES-128-GCM encryption; returns `ciphertext || tag`. The IV is 16 bytes or 12.
pub fn gcm_seal(key: &[u8; 16], iv: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
    match iv.len() {
        16 => AesGcm::<Aes128, U16>::new(key.into())
            .encrypt(&Nonce::<U16>::try_from(iv).ok()?, plain)
            .ok(),
        12 => AesGcm::<Aes128, U12>::new(key.into())
            .encrypt(&Nonce::<U12>::try_from(iv).ok()?, plain)
            .ok(),
        _ => None,
    }
}

/// The IV of the answer: every bit of the request's IV inverted.
pub fn flip(iv: &[u8; 16]) -> [u8; 16] {
    iv.map(|b| !b)
}

/// One PEM block: its label, the `DEK-Info` header of a traditional encrypted key, and the
/// decoded body.
struct Pem {
    label: String,
    dek_info: Option<String>,
    der: Vec<u8>,
}

impl Pem {
    fn parse(pem: &[u8]) -> Option<Pem> {
        let text = std::str::from_utf8(pem).ok()?;
        let mut lines = text.lines().map(str::trim);
        let label = lines
            .by_ref()
            .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))?
            .to_string();
        let end = format!("-----END {label}-----");
        let mut dek_info = None;
        let mut body = String::new();
        for line in lines {
            if line == end {
                let der = B64.decode(body).ok()?;
                return Some(Pem {
                    label,
                    dek_info,
                    der,
                });
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim() == "DEK-Info" {
                    dek_info = Some(value.trim().to_string());
                }
            } else {
                body.push_str(line);
            }
        }
        None
    }
}

/// Decrypts the body of a traditional OpenSSL PEM key (`DEK-Info: CIPHER,IVHEX`): the key
/// is OpenSSL's `EVP_BytesToKey` with MD5, one round, the first 8 bytes of the IV as salt.
fn decrypt_traditional(dek_info: &str, pass: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let (cipher, iv_hex) = dek_info.split_once(',')?;
    let iv = hex::decode(iv_hex.trim()).ok()?;
    let salt = iv.get(..8)?;
    let key_len = match cipher.trim() {
        "DES-EDE3-CBC" => 24,
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        _ => return None,
    };
    let mut key = Vec::with_capacity(48);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(pass);
        h.update(salt);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(key_len);
    let mut buf = data.to_vec();
    let plain = match cipher.trim() {
        "DES-EDE3-CBC" => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .ok()?
            .to_vec(),
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .ok()?
            .to_vec(),
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .ok()?
            .to_vec(),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .ok()?
            .to_vec(),
    };
    Some(plain)
}

/// A DER length.
fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// Wraps a PKCS#1 `RSAPrivateKey` in a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut octets = vec![0x04];
    der_len(pkcs1.len(), &mut octets);
    octets.extend_from_slice(pkcs1);
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(RSA_ALGORITHM);
    body.extend(octets);
    let mut out = vec![0x30];
    der_len(body.len(), &mut out);
    out.extend(body);
    out
}

/// Whether a PKCS#8 `PrivateKeyInfo` holds an RSA key (its algorithm OID is rsaEncryption).
fn is_rsa_pkcs8(der: &[u8]) -> bool {
    pkcs8::PrivateKeyInfoRef::try_from(der).is_ok_and(|info| info.algorithm.oid == RSA_OID)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey};

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/flows-keys/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{name}")).expect("fixture")
    }

    /// Wraps `aes` for the public half of the fixture keys, as the WhatsApp client does.
    fn wrap(aes: &[u8]) -> Vec<u8> {
        let pem = Pem::parse(&fixture("rsa-pkcs1.pub.pem")).expect("pem");
        let public = PublicEncryptingKey::from_der(&pem.der).expect("public key");
        let public = OaepPublicEncryptingKey::new(public).expect("oaep");
        let mut out = vec![0u8; public.ciphertext_size()];
        let n = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, aes, &mut out, None)
            .expect("wrap")
            .len();
        out.truncate(n);
        out
    }

    const AES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn every_form_of_the_key_unwraps_what_openssl_wrapped() {
        let wrapped = B64
            .decode(fixture("oaep-sha256-wrapped-000102.b64"))
            .expect("b64");
        for (name, pass) in [
            ("rsa-pkcs1.pem", None),
            ("rsa-pkcs1-des3.pem", Some(&b"s3cret"[..])),
            ("rsa-pkcs1-aes128.pem", Some(b"s3cret")),
            ("rsa-pkcs8.pem", None),
            // A passphrase given for a plain key is not needed and does no harm.
            ("rsa-pkcs8.pem", Some(b"s3cret")),
        ] {
            let key = FlowKey::from_pem(&fixture(name), pass).expect(name);
            assert_eq!(key.unwrap_key(&wrapped), Some(AES), "{name}");
            assert_eq!(key.unwrap_key(&wrap(&AES)), Some(AES), "{name}");
        }
    }

    #[test]
    fn passphrase_protected_pkcs8_keys_are_read_like_openssl_3_writes_them() {
        for name in ["rsa-pkcs8-des3.pem", "rsa-pkcs8-aes256.pem"] {
            let pem = fixture(name);
            assert!(FlowKey::from_pem(&pem, Some(b"s3cret")).is_ok(), "{name}");
            assert_eq!(
                FlowKey::from_pem(&pem, Some(b"wrong")).err().as_deref(),
                Some(UNREADABLE)
            );
            assert_eq!(
                FlowKey::from_pem(&pem, None).err().as_deref(),
                Some(NO_PASSPHRASE)
            );
        }
    }

    #[test]
    fn passphrase_protected_pkcs1_keys_are_read_like_metas_generator_writes_them() {
        let pem = fixture("rsa-pkcs1-des3.pem");
        assert!(String::from_utf8_lossy(&pem).contains("Proc-Type: 4,ENCRYPTED"));
        let key = FlowKey::from_pem(&pem, Some(b"s3cret")).expect("reads");
        assert!(FlowKey::from_pem(&pem, Some(b"wrong")).is_err());
        assert_eq!(
            FlowKey::from_pem(&pem, None).err().as_deref(),
            Some(NO_PASSPHRASE)
        );
        assert_eq!(
            FlowKey::from_pem(b"not a key", None).err().as_deref(),
            Some(UNREADABLE)
        );
        assert_eq!(key.unwrap_key(&wrap(&AES)), Some(AES));
        // A wrapped value of another length is not an AES-128 key.
        assert_eq!(key.unwrap_key(&wrap(&[1u8; 24])), None);
        assert_eq!(key.unwrap_key(b"garbage"), None);
        assert_eq!(format!("{key:?}"), "FlowKey(***)");
    }

    #[test]
    fn ec_keys_are_refused() {
        assert_eq!(
            FlowKey::from_pem(&fixture("ec-pkcs8.pem"), None)
                .err()
                .as_deref(),
            Some(NOT_RSA)
        );
    }

    #[test]
    fn truncated_or_altered_pem_is_unreadable_not_a_panic() {
        let pem = String::from_utf8(fixture("rsa-pkcs8.pem")).expect("utf8");
        let cut = &pem[..pem.len() / 2];
        assert_eq!(
            FlowKey::from_pem(cut.as_bytes(), None).err().as_deref(),
            Some(UNREADABLE)
        );
        let altered = pem.replacen("MII", "AII", 1);
        assert!(FlowKey::from_pem(altered.as_bytes(), None).is_err());
    }

    #[test]
    fn gcm_takes_the_16_byte_iv_and_detects_tampering() {
        let iv = [9u8; 16];
        let sealed = gcm_seal(&AES, &iv, b"hello").expect("seal");
        assert_eq!(sealed.len(), 5 + 16);
        assert_eq!(gcm_open(&AES, &iv, &sealed).as_deref(), Some(&b"hello"[..]));
        let mut bad = sealed.clone();
        bad[0] ^= 1;
        assert_eq!(gcm_open(&AES, &iv, &bad), None);
        assert_eq!(gcm_open(&AES, &flip(&iv), &sealed), None);
        assert_eq!(gcm_open(&AES, &iv, &sealed[..10]), None);
        assert_eq!(gcm_open(&AES, &[0u8; 7], &sealed), None);
    }
}
