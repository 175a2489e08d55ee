//! Templates and transforms: `{First Name|ascii|lower}.{Last Name|ascii|lower}`.
//!
//! A placeholder names a source column or a field the mapping defines,
//! with optional transforms after `|`. A placeholder whose value is empty
//! makes the whole template empty (so `{First}.{Last}` never yields
//! `ana.`), unless it ends in `?`: `All Staff;{Department?}`. `{{` and
//! `}}` are literal braces.

use super::MappingError;

/// A transform of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Trim,
    Lower,
    Upper,
    /// Each word capitalised: `ana de SOUSA` → `Ana De Sousa`.
    Title,
    /// Accents and other scripts to plain ASCII: `Zoë Łukasz` → `Zoe Lukasz`.
    Ascii,
    /// Spaces removed.
    NoSpace,
    /// Only letters, digits, `.`, `_` and `-` kept (after spaces become
    /// nothing): what a username may safely hold.
    Slug,
    /// The first word.
    FirstWord,
    /// The first character.
    Initial,
    /// An email address's part before the `@`.
    LocalPart,
    /// Only the digits.
    Digits,
}

impl Transform {
    /// Every transform, by name, for parsing and for messages.
    pub const ALL: [(&'static str, Transform); 11] = [
        ("trim", Transform::Trim),
        ("lower", Transform::Lower),
        ("upper", Transform::Upper),
        ("title", Transform::Title),
        ("ascii", Transform::Ascii),
        ("nospace", Transform::NoSpace),
        ("slug", Transform::Slug),
        ("first-word", Transform::FirstWord),
        ("initial", Transform::Initial),
        ("local-part", Transform::LocalPart),
        ("digits", Transform::Digits),
    ];

    /// The transform called `name`.
    pub fn parse(name: &str) -> Result<Transform, MappingError> {
        let name = name.trim();
        Transform::ALL
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, transform)| *transform)
            .ok_or_else(|| {
                let known: Vec<&str> = Transform::ALL.iter().map(|(n, _)| *n).collect();
                MappingError::Invalid(format!(
                    "'{name}' is not a transform (known: {})",
                    known.join(", ")
                ))
            })
    }

    /// Applies the transform.
    pub fn apply(self, value: &str) -> String {
        match self {
            Transform::Trim => value.trim().to_string(),
            Transform::Lower => value.to_lowercase(),
            Transform::Upper => value.to_uppercase(),
            Transform::Title => title_case(value),
            Transform::Ascii => deunicode::deunicode(value),
            Transform::NoSpace => value.chars().filter(|c| !c.is_whitespace()).collect(),
            Transform::Slug => value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect(),
            Transform::FirstWord => value.split_whitespace().next().unwrap_or("").to_string(),
            Transform::Initial => value
                .trim()
                .chars()
                .next()
                .map(String::from)
                .unwrap_or_default(),
            Transform::LocalPart => value.split('@').next().unwrap_or("").to_string(),
            Transform::Digits => value.chars().filter(char::is_ascii_digit).collect(),
        }
    }
}

fn title_case(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut start = true;
    for c in value.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
        if c.is_whitespace() || c == '-' || c == '\'' {
            start = true;
        }
    }
    out
}

/// Applies `transforms` in order.
pub fn apply_all(value: String, transforms: &[Transform]) -> String {
    transforms.iter().fold(value, |value, t| t.apply(&value))
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Slot {
        /// The column or field named, as written.
        name: String,
        transforms: Vec<Transform>,
        /// Empty is allowed (`?`): it does not empty the template.
        optional: bool,
    },
}

impl Piece {
    /// The piece as a mapping writes it: `{Work Email|local-part|lower}`,
    /// `{Dept?}`, text with its braces doubled.
    pub fn written(&self) -> String {
        match self {
            Piece::Text(text) => text.replace('{', "{{").replace('}', "}}"),
            Piece::Slot {
                name,
                transforms,
                optional,
            } => {
                let mut out = format!("{{{name}");
                if *optional {
                    out.push('?');
                }
                for transform in transforms {
                    if let Some((written, _)) = Transform::ALL.iter().find(|(_, t)| t == transform)
                    {
                        out.push('|');
                        out.push_str(written);
                    }
                }
                out.push('}');
                out
            }
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, MappingError> {
        let bad = |why: &str| MappingError::Invalid(format!("template '{text}': {why}"));
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(bad("a '}' without its '{' (write '}}' for a brace)")),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') => return Err(bad("a '{' inside a placeholder")),
                            Some(c) => inner.push(c),
                            None => return Err(bad("a '{' is never closed")),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    let mut parts = inner.split('|');
                    let mut name = parts.next().unwrap_or("").trim().to_string();
                    let optional = name.ends_with('?');
                    if optional {
                        name.pop();
                        name = name.trim_end().to_string();
                    }
                    if name.is_empty() {
                        return Err(bad("an empty placeholder"));
                    }
                    let transforms = parts.map(Transform::parse).collect::<Result<_, _>>()?;
                    pieces.push(Piece::Slot {
                        name,
                        transforms,
                        optional,
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The first required placeholder (by position among the
    /// placeholders) that `value` leaves empty: why [`Self::render`]
    /// gives nothing.
    pub fn empty_slot(&self, mut value: impl FnMut(usize) -> String) -> Option<usize> {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Slot {
                    transforms,
                    optional,
                    ..
                } => Some((transforms, *optional)),
                Piece::Text(_) => None,
            })
            .enumerate()
            .find(|(n, (transforms, optional))| {
                !optional && apply_all(value(*n).trim().to_string(), transforms).is_empty()
            })
            .map(|(n, _)| n)
    }

    /// Fills the template, `value` giving each placeholder's value by its
    /// position among the placeholders; empty when a required one is empty.
    pub fn render(&self, mut value: impl FnMut(usize) -> String) -> String {
        let mut out = String::new();
        let mut slot = 0;
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot {
                    transforms,
                    optional,
                    ..
                } => {
                    let filled = apply_all(value(slot).trim().to_string(), transforms);
                    slot += 1;
                    if filled.is_empty() && !optional {
                        return String::new();
                    }
                    out.push_str(&filled);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, values: &[&str]) -> String {
        Template::parse(template)
            .unwrap()
            .render(|i| values[i].to_string())
    }

    #[test]
    fn templates_are_shown_as_written() {
        for text in [
            "{Work Email|local-part|lower}",
            "All Staff;{Dept?}",
            "{{x}} {First Name?|ascii|lower}.{Last}",
        ] {
            let template = Template::parse(text).unwrap();
            let written: String = template.pieces.iter().map(Piece::written).collect();
            assert_eq!(written, text);
        }
    }

    #[test]
    fn templates_fill_and_transform() {
        assert_eq!(
            render(
                "{First Name|ascii|lower}.{Last Name|ascii|lower}",
                &["Zoë", "Łukasz-Ørsted"]
            ),
            "zoe.lukasz-orsted"
        );
        assert_eq!(render("{u}@example.com", &["ana"]), "ana@example.com");
        assert_eq!(
            render("{First}.{Last}", &["ana", " "]),
            "",
            "a missing part empties it"
        );
        assert_eq!(render("All Staff;{Dept?}", &[""]), "All Staff;");
        assert_eq!(render("{{x}} {a}", &["1"]), "{x} 1");
        assert_eq!(
            render("{n|title}", &["ana de SOUSA-lima"]),
            "Ana De Sousa-Lima"
        );
        assert_eq!(
            render("{n|initial|upper}{m|slug}", &["ana", "o'neil smith"]),
            "Aoneilsmith"
        );
        assert!(Template::parse("{a").is_err());
        assert!(Template::parse("a}").is_err());
        assert!(Template::parse("{a|shout}").is_err());
        assert!(Template::parse("{}").is_err());
        let template = Template::parse("{a} {b?|lower}").unwrap();
        assert!(
            matches!(&template.pieces[2], Piece::Slot { name, optional: true, .. } if name == "b")
        );
    }
}
