//! The values input may use where the reference gives only an example:
//! countries and user types. Built in, extended by the user, and grown by
//! what the tenant is seen to use, so a value the tenant already holds is
//! never refused on our guess.

use crate::model::country::Countries;
use crate::model::rules::USER_TYPES;

/// Countries and user types input may use, how strictly guesses apply,
/// and how slashed dates are read.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub countries: Countries,
    /// User types known to be accepted (ours, then the tenant's).
    pub user_types: Vec<String>,
    /// Guessed rules (lengths, unknown user types) are errors, not warnings.
    pub strict: bool,
    /// How slashed date cells read (`--date-order`, the mapping's or the
    /// profile's `date_order`); none: only unambiguous ones.
    pub date_order: Option<crate::model::dates::DateOrder>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            countries: Countries::builtin(),
            user_types: USER_TYPES.iter().map(|t| t.to_string()).collect(),
            strict: false,
            date_order: None,
        }
    }
}

impl Vocabulary {
    /// Learns a country and a user type the tenant holds: both are valid
    /// input from now on, sent exactly as the tenant spells them.
    pub fn learn(&mut self, country: Option<&str>, user_type: Option<&str>) {
        if let Some(country) = country.filter(|c| !c.trim().is_empty())
            && self.countries.resolve(country) != Some(country)
        {
            self.countries.add(country, []);
        }
        if let Some(user_type) = user_type.filter(|t| !t.trim().is_empty())
            && !self.user_types.iter().any(|t| t == user_type)
        {
            self.user_types.push(user_type.to_string());
        }
    }

    /// The user type `input` names, as the tenant spells it, if known.
    pub fn user_type(&self, input: &str) -> Option<&str> {
        self.user_types
            .iter()
            .find(|t| t.eq_ignore_ascii_case(input.trim()))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_values_become_valid_as_spelled() {
        let mut vocabulary = Vocabulary::default();
        assert_eq!(vocabulary.user_type("ADMIN"), Some("admin"));
        assert_eq!(vocabulary.user_type("helpdesk"), None);
        vocabulary.learn(Some("Kosovo"), Some("Helpdesk"));
        assert_eq!(vocabulary.user_type("helpdesk"), Some("Helpdesk"));
        assert_eq!(vocabulary.countries.resolve("kosovo"), Some("Kosovo"));
        vocabulary.learn(Some("Germany"), None);
        assert_eq!(vocabulary.countries.resolve("DE"), Some("Germany"));
    }
}
