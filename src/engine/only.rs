//! `--only USER…`: a restore or undo acting on some people alone. Each
//! name is a username, email or employee number, compared as keys are
//! (any case, Unicode spelled one way); a name that picks nobody refuses
//! the run before anything is sent, since a typo must not read as "done".

use crate::model::text::match_key;

/// The people a run is limited to (none: everyone).
#[derive(Debug, Clone, Default)]
pub struct Only {
    /// Each name as given, and its key.
    names: Vec<(String, String)>,
    /// Which names picked someone.
    hit: Vec<bool>,
}

impl Only {
    /// The names of `--only`; `None` when none were given.
    pub fn new(names: &[String]) -> Option<Self> {
        let names: Vec<(String, String)> = names
            .iter()
            .map(|name| (name.clone(), match_key(name)))
            .filter(|(_, key)| !key.is_empty())
            .collect();
        (!names.is_empty()).then(|| Only {
            hit: vec![false; names.len()],
            names,
        })
    }

    /// Whether a person known by `identities` (username, email, employee
    /// number...) is one of the names; noted as found when so.
    pub fn picks<'a>(&mut self, identities: impl IntoIterator<Item = &'a str>) -> bool {
        let keys: Vec<String> = identities
            .into_iter()
            .map(match_key)
            .filter(|key| !key.is_empty())
            .collect();
        let mut picked = false;
        for ((_, wanted), hit) in self.names.iter().zip(self.hit.iter_mut()) {
            if keys.contains(wanted) {
                *hit = true;
                picked = true;
            }
        }
        picked
    }

    /// Why the run is refused when a name picked nobody in `what`.
    pub fn unmatched(&self, what: &str) -> Option<String> {
        let missing: Vec<&str> = self
            .names
            .iter()
            .zip(&self.hit)
            .filter(|(_, hit)| !**hit)
            .map(|((name, _), _)| name.as_str())
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "--only {}: nobody in {what} is known by that username, email or employee number; nothing was sent",
                missing.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pick_people_by_any_key_and_a_name_that_picks_nobody_is_said() {
        let mut only =
            Only::new(&["ANA@example.com".into(), " 1002".into(), "zed".into()]).expect("names");
        assert!(only.picks(["ana", "ana@example.com", "1001"]));
        assert!(only.picks(["bob", "", "1002"]));
        assert!(!only.picks(["cara", "cara@example.com", "1003"]));
        let why = only.unmatched("s.jsonl").expect("zed picked nobody");
        assert!(why.starts_with("--only zed:"), "{why}");
        assert!(Only::new(&[" ".into()]).is_none());
    }
}
