//! Small text measures shared by input checks, matching and the
//! vocabularies.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A 64-bit fingerprint of `value` as [`match_key`] compares it: what
/// duplicate checks and match-key sets keep instead of the values.
pub fn fingerprint(value: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    match_key(value).hash(&mut hasher);
    hasher.finish()
}

/// Characters that change nothing a person sees: zero-width spaces and
/// joiners, the word joiner, soft hyphen, and the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
    )
}

/// Characters nobody types on purpose in any script (unlike the joiners
/// and direction marks that Persian or Hebrew text may need): dropped from
/// every value the tenant gets.
fn is_stray(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

/// `value` as an identifier (username, email, employee number) is
/// written: invisible characters dropped, so the tenant never holds two
/// keys that look alike but differ. (Compatibility forms such as
/// full-width `Ｅ００４` are written as given, since an export copied to
/// another tenant must arrive exact; [`match_key`] reads them as plain.)
pub fn identifier_form(value: &str) -> std::borrow::Cow<'_, str> {
    dropping(value, is_invisible)
}

/// `value` without the characters `unwanted` picks (borrowed when it has none).
fn dropping(value: &str, unwanted: fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if value.chars().any(unwanted) {
        value
            .chars()
            .filter(|c| !unwanted(*c))
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
}

/// Whether `value` holds compatibility forms (full-width letters, a
/// no-break space) that [`match_key`] reads as plain ones.
pub fn has_compatibility_forms(value: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !value.is_ascii() && value.nfkc().ne(value.nfc())
}

/// `value` without the characters nobody types on purpose (see
/// [`is_stray`]): what any other text field is written as.
pub fn without_strays(value: &str) -> std::borrow::Cow<'_, str> {
    dropping(value, is_stray)
}

/// The characters of `value` that are invisible or that [`match_key`]
/// folds, as `U+XXXX`, the first few once each: what a warning names.
pub fn unusual_characters(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut named: Vec<String> = Vec::new();
    for c in value.chars() {
        let unusual = is_invisible(c) || std::iter::once(c).nfkc().ne(std::iter::once(c));
        let name = format!("U+{:04X}", u32::from(c));
        if unusual && !named.contains(&name) {
            named.push(name);
        }
    }
    let more = named.len().saturating_sub(3);
    named.truncate(3);
    if more > 0 {
        named.push(format!("{more} more"));
    }
    named.join(", ")
}

/// A key (username, email, employee number, protect pattern) as a person
/// means it, so that two spellings that look the same are the same key on
/// both sides, file and tenant: invisible characters dropped, every kind
/// of space (no-break, thin, ideographic) read as one plain space, runs
/// of spaces as one, trimmed, Unicode NFKC (a macOS file's NFD accents
/// equal the tenant's composed ones, full-width letters and digits from
/// an East Asian HR system equal plain ones), and case-folded.
pub fn match_key(value: &str) -> String {
    if is_plain(value) {
        return value.to_ascii_lowercase();
    }
    let mut spaced = String::with_capacity(value.len());
    let mut space = false;
    for c in value.chars().filter(|c| !is_invisible(*c)) {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !spaced.is_empty() {
            spaced.push(' ');
        }
        space = false;
        spaced.push(c);
    }
    use unicode_normalization::UnicodeNormalization;
    spaced.nfkc().collect::<String>().to_lowercase()
}

/// Text whose match key is only itself lowercased: printable ASCII.
fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `value`'s [`match_key`] is `key` (a match key already), plain
/// text compared in place, without making its key.
pub fn has_match_key(value: &str, key: &str) -> bool {
    if is_plain(value) {
        return value.len() == key.len()
            && value
                .bytes()
                .zip(key.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b);
    }
    match_key(value) == key
}

/// `value` with its compatibility forms read as plain ones (full-width
/// `ｊｏｈｎ.ｓｍｉｔｈ` as `john.smith`) and invisible characters dropped,
/// case kept; `None` when that changes nothing. What a name is asked for
/// by when the server, comparing exactly, does not know it as written.
pub fn plain_form(value: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    if value.is_ascii() {
        return None;
    }
    let plain: String = identifier_form(value).nfkc().collect();
    (plain != value).then_some(plain)
}

/// Whether `value` bears the marks of text garbled on its way here, so
/// that writing it would put a wrong name or address in the tenant:
/// - a U+FFFD anywhere (a character an encoding could not read), or a
///   value of question marks alone (`??`: `王伟` saved in a Western code
///   page), in any field;
/// - a `?` anywhere in a username, an email or a person's name;
/// - in a username, an email or a name of a person or a place, a `?`
///   touching a letter (`?ukasz`, `Gda?sk`: a letter a legacy encoding
///   could not write), a word mixing Latin, Cyrillic or Greek letters
///   (`аmelia` with a Cyrillic а, `MГјller`: a lookalike, or UTF-8 read
///   as Windows-1251), or a direction override;
/// - in a name, a symbol touching a letter that a file read in the wrong
///   code page shows for one (`£ukasz`, `M├╝ller`, `M√ºller`, a soft
///   hyphen), or the `Ã©` marks of UTF-8 read as Windows-1252.
///
/// Other text (a job title ending in a question) may hold them.
pub fn looks_garbled(field: crate::model::Field, value: &str) -> bool {
    use crate::model::Field;
    let name = matches!(
        field,
        Field::FirstName | Field::LastName | Field::City | Field::State | Field::StreetAddress
    );
    let key = matches!(field, Field::Username | Field::Email);
    // A value of question marks alone is a script the file's code page
    // could not hold (`王伟` saved as Windows-1252 is `??`), in any field.
    let only_marks = value.contains('?')
        && value
            .chars()
            .all(|c| c == '?' || c.is_whitespace() || c.is_ascii_punctuation());
    if value.contains('\u{FFFD}') || only_marks {
        return true;
    }
    if !(name || key) || !value.contains('?') && value.is_ascii() {
        // Every other mark is a character outside ASCII.
        return false;
    }
    let chars: Vec<char> = value.chars().collect();
    let touches_letter = |at: usize| {
        at > 0 && chars[at - 1].is_alphabetic()
            || chars.get(at + 1).is_some_and(|next| next.is_alphabetic())
    };
    // No person's name or login has a question mark in it; a place may
    // stand one apart (`1 ? Street`), never against a letter.
    let person = key || matches!(field, Field::FirstName | Field::LastName);
    let stray = person && value.contains('?')
        || chars.iter().enumerate().any(|(at, c)| {
            let mark = *c == '?' || name && mis_decoded_symbol(*c);
            mark && touches_letter(at)
        });
    stray
        || chars
            .iter()
            .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        || mixes_scripts(value)
        || name && looks_mis_decoded(value)
}

/// Whether `text` shows the marks of UTF-8 read as Windows-1252: `Ã`
/// or `Â` followed by a character from the second half of Latin-1
/// (`Ã©`, `Ã¼`, `Â°`), or `â€` (curly quotes and dashes).
pub fn looks_mis_decoded(text: &str) -> bool {
    if text.is_ascii() {
        return false;
    }
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|pair| match pair {
        ['Ã' | 'Â', next] => {
            ('\u{80}'..='\u{BF}').contains(next) || "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ".contains(*next)
        }
        ['â', '€'] => true,
        _ => false,
    }) || utf8_read_as_code_page(text)
}

/// Whether `text` is UTF-8 read as Windows-1250 or 1252, letters only
/// (`MĂĽller` for `Müller`): written back in that code page, its bytes
/// are UTF-8 for other, European letters.
fn utf8_read_as_code_page(text: &str) -> bool {
    [encoding_rs::WINDOWS_1250, encoding_rs::WINDOWS_1252]
        .into_iter()
        .any(|encoding| {
            let (bytes, _, unmappable) = encoding.encode(text);
            match std::str::from_utf8(&bytes) {
                Ok(meant) if !unmappable => {
                    meant != text
                        && meant
                            .chars()
                            .all(|c| c.is_ascii() || ('\u{C0}'..='\u{17F}').contains(&c))
                }
                _ => false,
            }
        })
}

/// Symbols a legacy file read in the wrong code page shows where it had
/// a letter: the Latin-1 supplement's (`£` for `Ł`, `³` for `ł`, `¯` for
/// `Ż`), box drawing (`├╝` for `ü` from code page 437), mathematical
/// operators (`√` from Mac Roman), and the soft hyphen. (Not `·`, `ª`,
/// `º` or `´`: Catalan, Spanish and Italian names use them.)
fn mis_decoded_symbol(c: char) -> bool {
    "¡¢£¤¥¦§¨©«¬®¯°±²³¶¸¹»¼½¾¿\u{AD}".contains(c)
        || ('\u{2200}'..='\u{22FF}').contains(&c)
        || ('\u{2500}'..='\u{259F}').contains(&c)
}

/// Whether a word of `value` has letters of more than one of the Latin,
/// Cyrillic and Greek scripts: no name or address is written so.
pub fn mixes_scripts(value: &str) -> bool {
    value.split(|c: char| !c.is_alphanumeric()).any(|word| {
        let mut seen = [false; 3];
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            let script = match c {
                'a'..='z' | 'A'..='Z' | '\u{C0}'..='\u{24F}' | '\u{1E00}'..='\u{1EFF}' => 0,
                '\u{400}'..='\u{52F}' => 1,
                '\u{370}'..='\u{3FF}' | '\u{1F00}'..='\u{1FFF}' => 2,
                _ => continue,
            };
            seen[script] = true;
        }
        seen.iter().filter(|s| **s).count() > 1
    })
}

/// The confusable skeleton of a key (Unicode TS #39) over its match key,
/// when it has a letter outside ASCII (`None` else): two keys with one
/// skeleton look alike on screen (`јohn.smith` with a Cyrillic ј and
/// `john.smith`). Plain ASCII keys are not skeletonised: TS #39 folds
/// `1` and `l`, which tells different people's usernames apart.
pub fn skeleton(value: &str) -> Option<String> {
    let key = match_key(value);
    if key.is_ascii() {
        return None;
    }
    let skeleton: String = unicode_security::confusable_detection::skeleton(&key).collect();
    Some(skeleton.to_lowercase())
}

/// A key with letters outside ASCII, each such letter replaced by its
/// confusable prototype and ASCII left as it is (`None` for a plain ASCII
/// key): `јohn.smith` with a Cyrillic ј reads `john.smith`, the name it
/// imitates. The whole skeleton would not do for that: TS #39 also folds
/// ASCII (`m` reads `rn`), so it never equals a plain tenant name.
pub fn ascii_lookalike(value: &str) -> Option<String> {
    let key = match_key(value);
    if key.is_ascii() {
        return None;
    }
    let folded: String = key
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                unicode_security::confusable_detection::skeleton(&c.to_string()).collect()
            }
        })
        .collect();
    Some(folded.to_lowercase()).filter(|folded| folded.is_ascii() && *folded != key)
}

/// Optimal string alignment distance: edits, counting a swap of neighbours as one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// [`edit_distance`] when it is at most `limit`, else `None`; fast for the
/// common case of a far-off candidate (a length gap, or a row of the table
/// already beyond the limit, ends it), so a "did you mean" over hundreds
/// of candidates stays cheap on files where every row is wrong.
pub fn edit_distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    chars_within(&a, &b, limit)
}

/// [`edit_distance_within`] on characters already split.
pub fn chars_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    // Three rows: the one before last (for transpositions), last, current.
    let width = b.len() + 1;
    let mut rows = vec![0usize; 3 * width];
    let (mut before, mut last, mut current) = (0, width, 2 * width);
    for (j, cell) in rows[last..last + width].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[current] = i;
        let mut row_best = i;
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[last + j] + 1)
                .min(rows[current + j - 1] + 1)
                .min(rows[last + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[before + j - 2] + 1);
            }
            rows[current + j] = best;
            row_best = row_best.min(best);
        }
        if row_best > limit {
            return None;
        }
        (before, last, current) = (last, current, before);
    }
    let distance = rows[last + b.len()];
    (distance <= limit).then_some(distance)
}

/// Whether `text` matches `pattern`, whose `*` stands for any run of
/// characters, `?` for one and `[a-z]` (or `[!…]`) for one of a set, as
/// shells read them (compare lower-cased text for any case).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p = tokens(pattern);
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi].matches(t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == Token::Star {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|token| *token == Token::Star)
}

/// One piece of a glob pattern.
#[derive(Debug, PartialEq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?`: any one character.
    Any,
    /// A character as written.
    Char(char),
    /// `[abc]`, `[a-z]`, `[!0-9]` (or `[^…]`): one character of a set,
    /// as (negated, ranges).
    Class(bool, Vec<(char, char)>),
}

impl Token {
    /// Whether this token (not `*`) takes the character `c`.
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star => false,
            Token::Any => true,
            Token::Char(want) => *want == c,
            Token::Class(negated, ranges) => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        }
    }
}

/// A pattern's tokens; a `[` with no closing `]` is a character.
fn tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let token = match chars[i] {
            '*' => Token::Star,
            '?' => Token::Any,
            '[' => match class(&chars[i + 1..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used + 1;
                    continue;
                }
                None => Token::Char('['),
            },
            c => Token::Char(c),
        };
        tokens.push(token);
        i += 1;
    }
    tokens
}

/// The class opening `rest` (just after its `[`), and how many
/// characters it took (its `]` included); `None` when it never closes.
fn class(rest: &[char]) -> Option<(Token, usize)> {
    let negated = matches!(rest.first(), Some('!' | '^'));
    let mut i = usize::from(negated);
    let mut ranges = Vec::new();
    // A `]` first in the class is a member, as in shell globs.
    let mut first = true;
    while i < rest.len() {
        let c = rest[i];
        if c == ']' && !first {
            return Some((Token::Class(negated, ranges), i + 1));
        }
        first = false;
        if rest.get(i + 1) == Some(&'-') && rest.get(i + 2).is_some_and(|end| *end != ']') {
            ranges.push((c, rest[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_as_their_match_keys_do() {
        for (have, value) in [
            ("Ana@Example.com", "ana@EXAMPLE.com"),
            ("ana@example.com", "ana@example.co"),
            ("ｊｏｈｎ.ｓｍｉｔｈ", "john.smith"),
            ("john  smith", "john smith"),
            ("zoë", "ZOË"),
            ("", ""),
        ] {
            assert_eq!(
                has_match_key(have, &match_key(value)),
                match_key(have) == match_key(value),
                "{have} / {value}"
            );
        }
    }

    #[test]
    fn globs_take_classes_as_shells_do() {
        assert!(glob("svc-*", "svc-backup"));
        assert!(glob("admin[12]", "admin2"));
        assert!(!glob("admin[12]", "admin3"));
        assert!(glob("user[0-9][0-9]", "user42"));
        assert!(!glob("user[!0-9]", "user4"));
        assert!(glob("user[^0-9]", "userx"));
        assert!(glob("a[]]b", "a]b"));
        assert!(glob("a[b", "a[b"), "an unclosed class is a character");
        assert!(glob("*[xy]", "tony"));
        assert!(glob("j?doe", "j.doe"));
    }

    #[test]
    fn a_lookalike_reads_as_the_name_it_imitates() {
        assert_eq!(
            ascii_lookalike("\u{458}ohn.smith").as_deref(),
            Some("john.smith")
        );
        assert_eq!(ascii_lookalike("\u{430}dam").as_deref(), Some("adam"));
        assert_eq!(ascii_lookalike("john.smith"), None, "plain ASCII");
        assert_eq!(
            ascii_lookalike("zo\u{eb}"),
            None,
            "an accented name imitates nothing"
        );
    }

    #[test]
    fn keys_compare_as_people_read_them() {
        let plain = match_key("jdoe@example.com");
        for spelling in [
            "JDoe@Example.com",
            " jdoe@example.com ",
            "jdoe\u{200B}@example.com",
            "\u{FEFF}jdoe@example.com",
            "jdoe@example.com\u{00A0}",
        ] {
            assert_eq!(match_key(spelling), plain, "{spelling:?}");
            assert_eq!(fingerprint(spelling), fingerprint("jdoe@example.com"));
        }
        assert_eq!(match_key("Zoe\u{0308}"), match_key("Zoë"), "NFD is NFC");
        assert_eq!(match_key("Jean\u{00A0}\u{00A0}Pierre"), "jean pierre");
        assert_ne!(match_key("jdoe"), match_key("jdoe2"));
        assert_eq!(
            match_key("\u{FF25}\u{FF10}04"),
            "e004",
            "full-width is plain"
        );
    }

    #[test]
    fn identifiers_are_written_without_lookalikes() {
        assert_eq!(identifier_form("E001\u{200B}"), "E001");
        assert_eq!(
            identifier_form("\u{FF25}004"),
            "\u{FF25}004",
            "written as given"
        );
        assert!(has_compatibility_forms("\u{FF25}004"));
        assert!(has_compatibility_forms("10\u{A0}04"));
        assert!(
            !has_compatibility_forms("zoe\u{0308}"),
            "NFD is not a compatibility form"
        );
        assert!(!has_compatibility_forms("Zoë"));
        assert!(matches!(
            identifier_form("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            unusual_characters("\u{FF25}0\u{200B}4\u{200B}"),
            "U+FF25, U+200B"
        );
        // Other text keeps joiners a script may need; strays go.
        assert_eq!(without_strays("Sales\u{200B}"), "Sales");
        assert_eq!(
            without_strays("\u{0645}\u{06CC}\u{200C}\u{062E}"),
            "\u{0645}\u{06CC}\u{200C}\u{062E}"
        );
    }

    #[test]
    fn utf8_read_as_a_code_page_is_told_from_real_names() {
        for garbled in ["MĂĽller", "Ã‰lodie", "ZoÃ«", "BĂ©la"] {
            assert!(looks_mis_decoded(garbled), "{garbled}");
        }
        for name in [
            "Müller",
            "Łukasz",
            "GÓŁKOWSKI",
            "Ărădulescu",
            "Þórunn",
            "Åsa",
            "Ñúñez",
            "Dvořák",
        ] {
            assert!(!looks_mis_decoded(name), "{name}");
        }
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("fristname", "firstname"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
        for (a, b) in [
            ("fristname", "firstname"),
            ("germnay", "germany"),
            ("atlantis", "austria"),
            ("", "ab"),
            ("united kingdon", "united kingdom"),
            ("abcdef", "badcfe"),
            ("é", "e"),
        ] {
            for limit in 0..4 {
                let full = edit_distance(a, b);
                assert_eq!(
                    edit_distance_within(a, b, limit),
                    (full <= limit).then_some(full),
                    "{a} {b} {limit}"
                );
            }
        }
    }
}
