//! TLS material a webhook brings for mutual TLS or a private CA, checked when
//! it is saved and loaded again for every client built to deliver.

/// The client identity from a PEM certificate chain and its key, opened with `password` when encrypted.
pub fn identity(
    cert: &str,
    key: &str,
    password: Option<&str>,
) -> Result<reqwest::Identity, String> {
    let key = plain_key(key, password)?;
    reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes())
        .map_err(|e| format!("the client certificate or key is not usable: {e}"))
}

/// Certificates to trust for one receiver besides the public roots.
pub fn roots(ca: &str) -> Result<Vec<reqwest::Certificate>, String> {
    reqwest::Certificate::from_pem_bundle(ca.as_bytes())
        .map_err(|e| format!("ca_cert is not a PEM certificate: {e}"))
}

/// The private key as unencrypted PEM; an `ENCRYPTED PRIVATE KEY` is opened with the password.
fn plain_key(pem: &str, password: Option<&str>) -> Result<String, String> {
    if !pem.contains("ENCRYPTED PRIVATE KEY") {
        return Ok(pem.to_string());
    }
    let password =
        password.ok_or("the client key is encrypted: client_key_password is required")?;
    let (_, der) = pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| format!("the client key is not PEM: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("the client key is not PKCS#8: {e}"))?;
    let doc = info
        .decrypt(password)
        .map_err(|_| "the client key password is wrong".to_string())?;
    doc.to_pem("PRIVATE KEY", pkcs8::LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| format!("the client key cannot be re-encoded: {e}"))
}
