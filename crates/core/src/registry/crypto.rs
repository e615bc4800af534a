//! Encryption of ownership TXT values (`--txt-encrypt-enabled`, `--txt-encrypt-aes-key`), the
//! scheme of upstream's `endpoint/crypto.go`: AES-256-GCM with a 12-byte nonce and no
//! additional data, over the gzip (best compression) of the plain-text value; the stored text is
//! `base64std(nonce ‖ ciphertext ‖ tag)`.
//!
//! Reading is compatible both ways. Writing gives a valid value that upstream reads, but not the
//! same bytes as upstream for the same nonce: Go's and Rust's deflate pick different encodings
//! (both standard). The registry therefore reuses the text already in the zone whenever the
//! labels it would encrypt are those the zone's value holds.

use std::fmt;
use std::io::{Read, Write};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::Error;
use crate::secret::Secret;

/// Length of the AES-GCM nonce upstream uses.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-256 key.
pub const KEY_LEN: usize = 32;
/// Decrypted values larger than this are refused (a gzip bomb would otherwise expand).
const MAX_PLAIN_LEN: u64 = 64 * 1024;

/// Go's `base64.StdEncoding`: standard alphabet, padding required, stray bits after the last
/// character tolerated.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// An AES-256 key, ready to use. Its `Debug` never shows the key, and it has no `Display`.
#[derive(Clone)]
pub struct AesKey {
    cipher: Aes256Gcm,
}

impl AesKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        AesKey { cipher: Aes256Gcm::new(&bytes.into()) }
    }

    /// The key as upstream reads `--txt-encrypt-aes-key`: 32 bytes taken as they are, or
    /// standard base64 (with padding) of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || {
            Error::config(
                "--txt-encrypt-aes-key",
                "the AES encryption key must be 32 bytes long, in either plain text or base64-encoded format",
            )
        };
        if let Ok(raw) = <[u8; KEY_LEN]>::try_from(text.as_bytes()) {
            return Ok(AesKey::from_bytes(raw));
        }
        let decoded = GO_STD.decode(text).map_err(|_| bad())?;
        let raw = <[u8; KEY_LEN]>::try_from(decoded.as_slice()).map_err(|_| bad())?;
        Ok(AesKey::from_bytes(raw))
    }
}

impl TryFrom<&Secret> for AesKey {
    type Error = Error;
    fn try_from(secret: &Secret) -> Result<Self, Error> {
        AesKey::parse(secret.expose())
    }
}

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

/// Encryption failed (in practice never: gzip into memory and AES-GCM over a short value do not
/// fail). Says nothing about the key or the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("encrypting the ownership TXT value failed")]
pub struct EncryptError;

/// A fresh random nonce.
pub fn random_nonce() -> [u8; NONCE_LEN] {
    rand::random()
}

/// The nonce as the hidden `txt-encryption-nonce` label holds it: standard base64.
pub fn nonce_to_label(nonce: &[u8; NONCE_LEN]) -> String {
    GO_STD.encode(nonce)
}

/// The nonce from the hidden label; `None` unless it is base64 of exactly 12 bytes.
pub fn nonce_from_label(text: &str) -> Option<[u8; NONCE_LEN]> {
    let bytes = GO_STD.decode(text).ok()?;
    <[u8; NONCE_LEN]>::try_from(bytes.as_slice()).ok()
}

/// Encrypts a plain-text value: `base64std(nonce ‖ AES-GCM(gzip(plain)))`, without quotes.
pub fn encrypt(plain: &str, key: &AesKey, nonce: &[u8; NONCE_LEN]) -> Result<String, EncryptError> {
    let mut sealed = Vec::with_capacity(NONCE_LEN + plain.len() + 48);
    sealed.extend_from_slice(nonce);
    let mut gz = flate2::GzBuilder::new().operating_system(255).write(sealed, flate2::Compression::best());
    gz.write_all(plain.as_bytes()).map_err(|_| EncryptError)?;
    let mut sealed = gz.finish().map_err(|_| EncryptError)?;
    let tag = key
        .cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", &mut sealed[NONCE_LEN..])
        .map_err(|_| EncryptError)?;
    sealed.extend_from_slice(&tag);
    Ok(GO_STD.encode(&sealed))
}

/// Decrypts a value written by [`encrypt`] or by upstream (without quotes): the plain text and
/// the nonce. `None` when it is not base64, too short, not sealed with this key, or not gzip.
pub fn decrypt(text: &str, key: &AesKey) -> Option<(String, [u8; NONCE_LEN])> {
    // Go's decoder skips line breaks.
    let text: std::borrow::Cow<'_, str> =
        if text.contains(['\r', '\n']) { text.replace(['\r', '\n'], "").into() } else { text.into() };
    let data = GO_STD.decode(text.as_bytes()).ok()?;
    if data.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = data.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let mut buf = sealed.to_vec();
    key.cipher.decrypt_in_place(Nonce::from_slice(&nonce), b"", &mut buf).ok()?;
    let mut plain = Vec::with_capacity(buf.len() * 3);
    flate2::read::MultiGzDecoder::new(buf.as_slice()).take(MAX_PLAIN_LEN + 1).read_to_end(&mut plain).ok()?;
    if plain.len() as u64 > MAX_PLAIN_LEN {
        return None;
    }
    let plain = String::from_utf8(plain).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Some((plain, nonce))
}
