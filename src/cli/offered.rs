//! Value lists the shell completes and help shows, for flags whose values
//! are checked by sebulk's own rules: a preset name, offboarding actions
//! (comma-separated), an encoding label (any encoding_rs knows; the
//! common ones offered).

use clap::builder::{PossibleValue, TypedValueParser};

/// A string flag whose `offered` values are completed and whose every
/// value `check` judges (so a valid value not offered still passes).
#[derive(Clone)]
pub struct Offered {
    offered: &'static [&'static str],
    check: fn(&str) -> Result<(), String>,
}

impl TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = clap::builder::StringValueParser::new().parse_ref(command, arg, value)?;
        (self.check)(&text).map_err(|why| {
            let mut error =
                clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(command);
            if let Some(arg) = arg {
                error.insert(
                    clap::error::ContextKind::InvalidArg,
                    clap::error::ContextValue::String(arg.to_string()),
                );
            }
            error.insert(
                clap::error::ContextKind::InvalidValue,
                clap::error::ContextValue::String(format!("{text} ({why})")),
            );
            error
        })?;
        Ok(text)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.offered.iter().map(|v| PossibleValue::new(*v)),
        ))
    }
}

/// `--preset`: the built-in mappings.
pub fn preset() -> Offered {
    Offered {
        offered: &crate::input::mapping::presets::NAMES,
        check: |name| {
            crate::input::mapping::presets::NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "the presets are {}",
                        crate::input::mapping::presets::NAMES.join(", ")
                    )
                })
        },
    }
}

/// The offboarding actions, each offered; a comma-separated list checked whole.
pub fn actions() -> Offered {
    Offered {
        offered: &[
            "disable",
            "lock",
            "revoke-access",
            "remove-second-factor",
            "delete",
            "disable,revoke-access",
        ],
        check: |list| crate::engine::leavers::Step::parse_list(list).map(|_| ()),
    }
}

/// `--encoding`: any label encoding_rs knows; the usual ones offered.
pub fn encoding() -> Offered {
    Offered {
        offered: &[
            "utf-8",
            "utf-16le",
            "utf-16be",
            "windows-1252",
            "iso-8859-1",
            "iso-8859-15",
            "windows-1250",
            "macintosh",
            "shift_jis",
            "gbk",
        ],
        check: |label| {
            encoding_rs::Encoding::for_label(label.as_bytes())
                .map(|_| ())
                .ok_or_else(|| {
                    "not an encoding label (utf-8, windows-1252, iso-8859-15, ...)".to_string()
                })
        },
    }
}
