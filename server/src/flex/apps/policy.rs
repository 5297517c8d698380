//! Which authenticators may register a passkey in an app (README "Authenticator
//! policy"): an allow- or deny-list of AAGUIDs, and "attested only".

use webauthn_rs::prelude::Uuid;

use crate::flex::FlexError;

/// The most AAGUIDs one list holds.
pub const MAX_AAGUIDS: usize = 100;

/// How an app's list of AAGUIDs is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AaguidMode {
    /// Any authenticator (the list is empty).
    #[default]
    None,
    /// Only the authenticators listed.
    Allow,
    /// Any authenticator but those listed.
    Deny,
}

impl AaguidMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "allow" => Some(Self::Allow),
            "deny" => Some(Self::Deny),
            _ => None,
        }
    }
}

/// An app's authenticator policy. The AAGUIDs are lower-case, hyphenated,
/// sorted and distinct; an allow- or deny-list has at least one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticatorPolicy {
    pub mode: AaguidMode,
    pub aaguids: Vec<String>,
    /// Only passkeys whose attestation chains to a trusted CA.
    pub attested_only: bool,
}

impl AuthenticatorPolicy {
    /// From the settings' words: an allow-list, a deny-list (not both), or
    /// neither (any authenticator). Each AAGUID must be a UUID.
    pub fn parse(
        allow: &[String],
        deny: &[String],
        attested_only: bool,
    ) -> Result<Self, FlexError> {
        let (mode, list) = match (allow.is_empty(), deny.is_empty()) {
            (true, true) => (AaguidMode::None, allow),
            (false, true) => (AaguidMode::Allow, allow),
            (true, false) => (AaguidMode::Deny, deny),
            (false, false) => {
                return Err(FlexError::invalid(
                    "an app has an allow-list or a deny-list of AAGUIDs, not both",
                ))
            }
        };
        let mut aaguids = list
            .iter()
            .map(|text| {
                Uuid::parse_str(text.trim())
                    .map(|uuid| uuid.hyphenated().to_string())
                    .map_err(|_| {
                        FlexError::invalid(format!(
                            "AAGUID `{text}` is not a UUID (such as ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        aaguids.sort();
        aaguids.dedup();
        if aaguids.len() > MAX_AAGUIDS {
            return Err(FlexError::invalid(format!(
                "a list holds at most {MAX_AAGUIDS} AAGUIDs, not {}",
                aaguids.len()
            )));
        }
        Ok(Self {
            mode,
            aaguids,
            attested_only,
        })
    }

    /// From a mode named in words (`none`, `allow`, `deny`) and its list, as
    /// the console's form sends them: a list needs allow or deny, and allow
    /// or deny a list.
    pub fn with_mode(
        mode: &str,
        aaguids: &[String],
        attested_only: bool,
    ) -> Result<Self, FlexError> {
        match (AaguidMode::parse(mode.trim()), aaguids.is_empty()) {
            (None, _) => Err(FlexError::invalid(format!(
                "the AAGUID policy is none, allow or deny, not `{mode}`"
            ))),
            (Some(AaguidMode::None), true) => Self::parse(&[], &[], attested_only),
            (Some(AaguidMode::None), false) => Err(FlexError::invalid(
                "a list of AAGUIDs needs the policy allow or deny (none admits any authenticator)",
            )),
            (Some(_), true) => Err(FlexError::invalid(format!(
                "a {mode}-list needs at least one AAGUID"
            ))),
            (Some(AaguidMode::Allow), false) => Self::parse(aaguids, &[], attested_only),
            (Some(AaguidMode::Deny), false) => Self::parse(&[], aaguids, attested_only),
        }
    }

    /// The policy as stored: its mode, its list and the flag, as read back.
    pub fn from_stored(mode: &str, aaguids: Vec<String>, attested_only: bool) -> Option<Self> {
        Some(Self {
            mode: AaguidMode::parse(mode)?,
            aaguids,
            attested_only,
        })
    }

    /// The allow-list (empty unless the mode is allow).
    pub fn allowed(&self) -> &[String] {
        match self.mode {
            AaguidMode::Allow => &self.aaguids,
            _ => &[],
        }
    }

    /// The deny-list (empty unless the mode is deny).
    pub fn denied(&self) -> &[String] {
        match self.mode {
            AaguidMode::Deny => &self.aaguids,
            _ => &[],
        }
    }

    /// Whether an authenticator of this AAGUID (lower-case, hyphenated) may
    /// register a passkey.
    pub fn admits(&self, aaguid: &str) -> bool {
        let listed = self.aaguids.iter().any(|a| a == aaguid);
        match self.mode {
            AaguidMode::None => true,
            AaguidMode::Allow => listed,
            AaguidMode::Deny => !listed,
        }
    }

    /// The policy as the audit log and `--json` show it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "aaguid_policy": self.mode.as_str(),
            "aaguids": self.aaguids,
            "attested_only": self.attested_only,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
    const GOOGLE: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_allow_list_admits_only_its_aaguids_and_a_deny_list_all_but_its() {
        let allow = AuthenticatorPolicy::parse(&list(&[YUBIKEY]), &[], false).unwrap();
        assert!(allow.admits(YUBIKEY));
        assert!(!allow.admits(GOOGLE));
        let deny = AuthenticatorPolicy::parse(&[], &list(&[YUBIKEY]), false).unwrap();
        assert!(!deny.admits(YUBIKEY));
        assert!(deny.admits(GOOGLE));
        let none = AuthenticatorPolicy::parse(&[], &[], false).unwrap();
        assert_eq!(none, AuthenticatorPolicy::default());
        assert!(none.admits(GOOGLE));
    }

    #[test]
    fn aaguids_are_normalised_and_bad_lists_are_refused() {
        let policy = AuthenticatorPolicy::parse(
            &list(&["CB69481E8FF7403993EC0A2729A154A8", YUBIKEY]),
            &[],
            true,
        )
        .unwrap();
        assert_eq!(policy.aaguids, list(&[YUBIKEY]));
        assert!(AuthenticatorPolicy::parse(&list(&["yubikey"]), &[], false).is_err());
        assert!(AuthenticatorPolicy::parse(&list(&[YUBIKEY]), &list(&[GOOGLE]), false).is_err());
        let many: Vec<String> = (0..=MAX_AAGUIDS)
            .map(|n| Uuid::from_u128(n as u128).to_string())
            .collect();
        assert!(AuthenticatorPolicy::parse(&many, &[], false).is_err());
    }

    #[test]
    fn a_mode_in_words_needs_a_list_exactly_when_it_is_allow_or_deny() {
        let deny = AuthenticatorPolicy::with_mode("deny", &list(&[GOOGLE]), false).unwrap();
        assert_eq!(deny.mode, AaguidMode::Deny);
        assert_eq!(deny.denied(), list(&[GOOGLE]));
        assert!(deny.allowed().is_empty());
        assert_eq!(
            AuthenticatorPolicy::with_mode("none", &[], true).unwrap(),
            AuthenticatorPolicy::parse(&[], &[], true).unwrap()
        );
        assert!(AuthenticatorPolicy::with_mode("none", &list(&[GOOGLE]), false).is_err());
        assert!(AuthenticatorPolicy::with_mode("allow", &[], false).is_err());
        assert!(AuthenticatorPolicy::with_mode("block", &list(&[GOOGLE]), false).is_err());
    }
}
