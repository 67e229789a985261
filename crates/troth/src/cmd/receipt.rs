//! `troth receipt verify`: check a signed consent receipt offline, with nothing but
//! the controller's published public key.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::Outcome;

#[derive(Debug, clap::Subcommand)]
pub enum ReceiptCommand {
    /// Verify a receipt (compact JWS, EdDSA) against a public key (JWK); prints the
    /// receipt's contents when the signature holds.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// The controller's public key as a JWK file.
        #[arg(long)]
        key: PathBuf,
    },
}

pub fn run(cmd: ReceiptCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ReceiptCommand::Verify { file, key } => {
            let jws = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let jwk_text = std::fs::read_to_string(&key)
                .with_context(|| format!("cannot read `{}`", key.display()))?;
            let jwk: troth_crypto::Jwk = serde_json::from_str(&jwk_text)
                .with_context(|| format!("`{}` is not a JWK", key.display()))?;
            let public = troth_crypto::PublicKey::from_jwk(&jwk)
                .with_context(|| format!("`{}` is not an Ed25519 public key", key.display()))?;
            match troth_crypto::verify_receipt(jws.trim(), &public) {
                Ok(payload) => {
                    println!("{}", serde_json::to_string_pretty(&payload)?);
                    eprintln!("valid: signed by the key in `{}`", key.display());
                    Ok(Outcome::Ok)
                }
                Err(e) => {
                    eprintln!("invalid receipt `{}`: {e}", file.display());
                    Ok(Outcome::Invalid)
                }
            }
        }
    }
}
