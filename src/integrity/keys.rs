//! CloudTrail public keys and SHA256withRSA digest signatures, through RustCrypto's `rsa` crate
//! (RSASSA-PKCS1-v1_5 verification, strict DER `RSAPublicKey` / `SubjectPublicKeyInfo` and
//! RFC 7468 PEM decoding) and the `base64` crate. Nothing here parses DER or does big-number
//! arithmetic by hand.
//!
//! A key is accepted only when all of these hold, so that a hostile key file cannot make a
//! forged signature verify (exponent 1 makes the signature equal the padded message) or stall
//! the run (a huge exponent):
//!
//! - PEM labelled `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1), strict
//!   RFC 7468 grammar; or DER of either; or (list-public-keys, `.b64` files) canonical base64 of
//!   that DER. Certificates, private keys and other labels are refused, and so are trailing
//!   bytes, negative or non-minimally encoded integers, and any algorithm identifier but
//!   `rsaEncryption` with NULL parameters (an EC key, say).
//! - A modulus of 2048 to 4096 bits ([`MIN_MODULUS_BITS`]; CloudTrail's keys are 2048 bits).
//! - An odd public exponent from 3 to 2^32 − 1 ([`MAX_EXPONENT_BITS`]).
//!
//! A signature must be exactly as long as the modulus (RFC 8017 §8.2.2 step 1): a leading zero
//! byte added or dropped makes it invalid.

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

pub use rsa::RsaPublicKey;

/// Smallest modulus accepted, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;

/// Largest public exponent accepted, in bits (an odd `e` with `3 <= e < 2^32`).
pub const MAX_EXPONENT_BITS: usize = 32;

/// Parses a public-key file: PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`), base64 text of DER, or
/// raw DER (PKCS#1 `RSAPublicKey` or X.509 `SubjectPublicKeyInfo`), then checks the key's size
/// and exponent (see the module docs).
///
/// # Errors
/// Why the file is not an acceptable RSA public key.
pub fn parse_public_key(data: &[u8]) -> Result<RsaPublicKey, String> {
    let text = std::str::from_utf8(data).ok();
    let key = match text {
        Some(t) if t.trim_start().starts_with("-----BEGIN") => parse_pem(t)?,
        Some(t) if !t.trim().is_empty() && t.trim().bytes().all(is_base64_text) => {
            parse_der(&decode_base64(t)?)?
        }
        _ => parse_der(data)?,
    };
    check_key(key)
}

/// Decodes base64 text (the `Value` of `list-public-keys`, `.b64` files): the standard alphabet
/// with canonical padding; line breaks and spaces are ignored.
///
/// # Errors
/// Characters outside the alphabet, wrong padding or trailing bits.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| format!("not valid base64: {e}"))
}

/// Parses DER: PKCS#1 `RSAPublicKey`, else `SubjectPublicKeyInfo` (its algorithm must be
/// `rsaEncryption`), without the size and exponent policy (see [`parse_public_key`]).
///
/// # Errors
/// Why neither form decodes.
pub fn parse_der(der: &[u8]) -> Result<RsaPublicKey, String> {
    match RsaPublicKey::from_pkcs1_der(der) {
        Ok(k) => Ok(k),
        Err(pkcs1_err) => RsaPublicKey::from_public_key_der(der).map_err(|spki_err| {
            format!(
                "not a DER RSA public key (as PKCS#1 RSAPublicKey: {pkcs1_err}; as \
                 SubjectPublicKeyInfo: {spki_err})"
            )
        }),
    }
}

fn is_base64_text(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') || c.is_ascii_whitespace()
}

/// PEM by its label: only public keys.
fn parse_pem(text: &str) -> Result<RsaPublicKey, String> {
    let first = text.trim_start().lines().next().unwrap_or("");
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| "malformed PEM header line".to_string())?;
    match label {
        "PUBLIC KEY" => RsaPublicKey::from_public_key_pem(text)
            .map_err(|e| format!("PEM PUBLIC KEY (SubjectPublicKeyInfo) does not decode: {e}")),
        "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_pem(text)
            .map_err(|e| format!("PEM RSA PUBLIC KEY (PKCS#1) does not decode: {e}")),
        other => Err(format!(
            "a PEM {:?}, not a public key (expected PUBLIC KEY or RSA PUBLIC KEY)",
            other.chars().take(40).collect::<String>()
        )),
    }
}

/// The size and exponent policy.
fn check_key(key: RsaPublicKey) -> Result<RsaPublicKey, String> {
    let bits = key.n().bits();
    if bits < MIN_MODULUS_BITS {
        return Err(format!("a {bits}-bit modulus is too small (at least {MIN_MODULUS_BITS})"));
    }
    let e = key.e();
    let e_low = e.to_bytes_be().last().copied().unwrap_or(0);
    if e.bits() > MAX_EXPONENT_BITS || e.bits() < 2 || e_low & 1 == 0 {
        return Err("public exponent must be odd, at least 3 and below 2^32".into());
    }
    Ok(key)
}

/// Verifies a SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256) signature of `msg`.
///
/// # Errors
/// Why it does not verify (wrong length, or not a valid signature with this key).
pub fn verify_sha256_rsa(key: &RsaPublicKey, msg: &[u8], sig: &[u8]) -> Result<(), String> {
    if sig.len() != key.size() {
        return Err(format!(
            "the signature is {} bytes, the key's modulus {} bytes",
            sig.len(),
            key.size()
        ));
    }
    let sig = Signature::try_from(sig).map_err(|e| format!("malformed signature: {e}"))?;
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(msg, &sig)
        .map_err(|_| "SHA256withRSA signature does not verify".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let mut x: u32 = 7;
        for len in 0..300usize {
            let mut data: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            assert!(parse_public_key(&data).is_err());
            if let Some(b) = data.first_mut() {
                *b = 0x30;
            }
            assert!(parse_public_key(&data).is_err());
        }
        assert!(parse_public_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err());
        assert!(decode_base64("aGVsbG8=").is_ok_and(|v| v == b"hello"));
        assert!(decode_base64("aGVsbG8").is_err(), "padding is required");
        assert!(decode_base64("aGVsbG9=").is_err(), "non-canonical trailing bits");
    }
}
