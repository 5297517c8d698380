//! The attestation CAs an app with "attested only" trusts: the bundled vendor
//! roots (`server/data/attestation`, see its SOURCE) and any the operator adds
//! (`--attestation-ca`). Verification itself is webauthn-rs's.

use webauthn_rs::prelude::AttestationCaList;

/// The bundled roots, as PEM.
const BUNDLED: &[(&str, &str)] = &[(
    "Yubico U2F Root CA Serial 457200631",
    include_str!("../../data/attestation/yubico-u2f-root-ca-serial-457200631.pem"),
)];

/// The names of the bundled roots, for `--help` and the README.
pub fn bundled_names() -> impl Iterator<Item = &'static str> {
    BUNDLED.iter().map(|(name, _)| *name)
}

/// The bundled roots and the certificates in `extra` (PEM, one or more), each
/// trusted for any AAGUID it attests.
pub fn trusted_cas(extra: Option<&str>) -> anyhow::Result<AttestationCaList> {
    let mut list = AttestationCaList::default();
    for (name, pem) in BUNDLED {
        add(&mut list, pem).map_err(|e| anyhow::anyhow!("bundled CA {name}: {e}"))?;
    }
    if let Some(extra) = extra {
        if add(&mut list, extra)? == 0 {
            anyhow::bail!("the attestation CA file holds no PEM certificate");
        }
    }
    Ok(list)
}

/// Adds every certificate of a PEM bundle to `list`; how many there were.
fn add(list: &mut AttestationCaList, pem: &str) -> anyhow::Result<usize> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut added = 0;
    for block in pem.split_inclusive(END).filter(|b| b.contains(END)) {
        let one = AttestationCaList::try_from(block.trim().as_bytes())
            .map_err(|e| anyhow::anyhow!("not a PEM certificate: {e}"))?;
        list.union(&one);
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_roots_parse_and_a_file_without_a_certificate_is_refused() {
        assert_eq!(trusted_cas(None).unwrap().len(), BUNDLED.len());
        assert!(trusted_cas(Some("no certificate here")).is_err());
        assert!(trusted_cas(Some(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"
        ))
        .is_err());
        // The same root twice is one CA.
        let twice = format!("{}\n{}", BUNDLED[0].1, BUNDLED[0].1);
        assert_eq!(trusted_cas(Some(&twice)).unwrap().len(), BUNDLED.len());
    }
}
