//! Built-in mappings for the exports people migrate from. Each is a
//! mapping file shipped inside the binary (`presets/*.toml`), printed by
//! `sebulk mapping show NAME` so it can be copied and adapted.

/// The presets, by name.
const PRESETS: [(&str, &str); 6] = [
    ("entra", include_str!("../../../presets/entra.toml")),
    ("google", include_str!("../../../presets/google.toml")),
    ("okta", include_str!("../../../presets/okta.toml")),
    ("jumpcloud", include_str!("../../../presets/jumpcloud.toml")),
    ("ad", include_str!("../../../presets/ad.toml")),
    ("bamboohr", include_str!("../../../presets/bamboohr.toml")),
];

/// The presets' names.
pub const NAMES: [&str; 6] = ["entra", "google", "okta", "jumpcloud", "ad", "bamboohr"];

/// The text of preset `name`.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_reads() {
        for name in NAMES {
            let mapping = super::super::Mapping::preset(name);
            assert!(mapping.is_ok(), "{name}: {:?}", mapping.err());
        }
        assert!(super::super::Mapping::preset("ldif").is_err());
    }
}
