//! The API's country names and the ISO 3166 codes that map onto them.
//!
//! The reference shows only "Afghanistan" as an example of `country`, which
//! suggests a fixed list of English names. We assume the ISO 3166-1 English
//! short names below (docs/api-assumptions.md); the sandbox accepts exactly
//! these names, and input mapping turns alpha-2/alpha-3 codes into them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// (API name, ISO alpha-2, ISO alpha-3), sorted by name.
pub const COUNTRIES: &[(&str, &str, &str)] = &[
    ("Afghanistan", "AF", "AFG"),
    ("Åland Islands", "AX", "ALA"),
    ("Albania", "AL", "ALB"),
    ("Algeria", "DZ", "DZA"),
    ("American Samoa", "AS", "ASM"),
    ("Andorra", "AD", "AND"),
    ("Angola", "AO", "AGO"),
    ("Anguilla", "AI", "AIA"),
    ("Antarctica", "AQ", "ATA"),
    ("Antigua and Barbuda", "AG", "ATG"),
    ("Argentina", "AR", "ARG"),
    ("Armenia", "AM", "ARM"),
    ("Aruba", "AW", "ABW"),
    ("Australia", "AU", "AUS"),
    ("Austria", "AT", "AUT"),
    ("Azerbaijan", "AZ", "AZE"),
    ("Bahamas", "BS", "BHS"),
    ("Bahrain", "BH", "BHR"),
    ("Bangladesh", "BD", "BGD"),
    ("Barbados", "BB", "BRB"),
    ("Belarus", "BY", "BLR"),
    ("Belgium", "BE", "BEL"),
    ("Belize", "BZ", "BLZ"),
    ("Benin", "BJ", "BEN"),
    ("Bermuda", "BM", "BMU"),
    ("Bhutan", "BT", "BTN"),
    ("Bolivia", "BO", "BOL"),
    ("Bonaire, Sint Eustatius and Saba", "BQ", "BES"),
    ("Bosnia and Herzegovina", "BA", "BIH"),
    ("Botswana", "BW", "BWA"),
    ("Bouvet Island", "BV", "BVT"),
    ("Brazil", "BR", "BRA"),
    ("British Indian Ocean Territory", "IO", "IOT"),
    ("Brunei Darussalam", "BN", "BRN"),
    ("Bulgaria", "BG", "BGR"),
    ("Burkina Faso", "BF", "BFA"),
    ("Burundi", "BI", "BDI"),
    ("Cabo Verde", "CV", "CPV"),
    ("Cambodia", "KH", "KHM"),
    ("Cameroon", "CM", "CMR"),
    ("Canada", "CA", "CAN"),
    ("Cayman Islands", "KY", "CYM"),
    ("Central African Republic", "CF", "CAF"),
    ("Chad", "TD", "TCD"),
    ("Chile", "CL", "CHL"),
    ("China", "CN", "CHN"),
    ("Christmas Island", "CX", "CXR"),
    ("Cocos (Keeling) Islands", "CC", "CCK"),
    ("Colombia", "CO", "COL"),
    ("Comoros", "KM", "COM"),
    ("Congo", "CG", "COG"),
    ("Congo, Democratic Republic of the", "CD", "COD"),
    ("Cook Islands", "CK", "COK"),
    ("Costa Rica", "CR", "CRI"),
    ("Côte d'Ivoire", "CI", "CIV"),
    ("Croatia", "HR", "HRV"),
    ("Cuba", "CU", "CUB"),
    ("Curaçao", "CW", "CUW"),
    ("Cyprus", "CY", "CYP"),
    ("Czechia", "CZ", "CZE"),
    ("Denmark", "DK", "DNK"),
    ("Djibouti", "DJ", "DJI"),
    ("Dominica", "DM", "DMA"),
    ("Dominican Republic", "DO", "DOM"),
    ("Ecuador", "EC", "ECU"),
    ("Egypt", "EG", "EGY"),
    ("El Salvador", "SV", "SLV"),
    ("Equatorial Guinea", "GQ", "GNQ"),
    ("Eritrea", "ER", "ERI"),
    ("Estonia", "EE", "EST"),
    ("Eswatini", "SZ", "SWZ"),
    ("Ethiopia", "ET", "ETH"),
    ("Falkland Islands (Malvinas)", "FK", "FLK"),
    ("Faroe Islands", "FO", "FRO"),
    ("Fiji", "FJ", "FJI"),
    ("Finland", "FI", "FIN"),
    ("France", "FR", "FRA"),
    ("French Guiana", "GF", "GUF"),
    ("French Polynesia", "PF", "PYF"),
    ("French Southern Territories", "TF", "ATF"),
    ("Gabon", "GA", "GAB"),
    ("Gambia", "GM", "GMB"),
    ("Georgia", "GE", "GEO"),
    ("Germany", "DE", "DEU"),
    ("Ghana", "GH", "GHA"),
    ("Gibraltar", "GI", "GIB"),
    ("Greece", "GR", "GRC"),
    ("Greenland", "GL", "GRL"),
    ("Grenada", "GD", "GRD"),
    ("Guadeloupe", "GP", "GLP"),
    ("Guam", "GU", "GUM"),
    ("Guatemala", "GT", "GTM"),
    ("Guernsey", "GG", "GGY"),
    ("Guinea", "GN", "GIN"),
    ("Guinea-Bissau", "GW", "GNB"),
    ("Guyana", "GY", "GUY"),
    ("Haiti", "HT", "HTI"),
    ("Heard Island and McDonald Islands", "HM", "HMD"),
    ("Holy See", "VA", "VAT"),
    ("Honduras", "HN", "HND"),
    ("Hong Kong", "HK", "HKG"),
    ("Hungary", "HU", "HUN"),
    ("Iceland", "IS", "ISL"),
    ("India", "IN", "IND"),
    ("Indonesia", "ID", "IDN"),
    ("Iran", "IR", "IRN"),
    ("Iraq", "IQ", "IRQ"),
    ("Ireland", "IE", "IRL"),
    ("Isle of Man", "IM", "IMN"),
    ("Israel", "IL", "ISR"),
    ("Italy", "IT", "ITA"),
    ("Jamaica", "JM", "JAM"),
    ("Japan", "JP", "JPN"),
    ("Jersey", "JE", "JEY"),
    ("Jordan", "JO", "JOR"),
    ("Kazakhstan", "KZ", "KAZ"),
    ("Kenya", "KE", "KEN"),
    ("Kiribati", "KI", "KIR"),
    ("Korea, Democratic People's Republic of", "KP", "PRK"),
    ("Korea, Republic of", "KR", "KOR"),
    ("Kuwait", "KW", "KWT"),
    ("Kyrgyzstan", "KG", "KGZ"),
    ("Lao People's Democratic Republic", "LA", "LAO"),
    ("Latvia", "LV", "LVA"),
    ("Lebanon", "LB", "LBN"),
    ("Lesotho", "LS", "LSO"),
    ("Liberia", "LR", "LBR"),
    ("Libya", "LY", "LBY"),
    ("Liechtenstein", "LI", "LIE"),
    ("Lithuania", "LT", "LTU"),
    ("Luxembourg", "LU", "LUX"),
    ("Macao", "MO", "MAC"),
    ("Madagascar", "MG", "MDG"),
    ("Malawi", "MW", "MWI"),
    ("Malaysia", "MY", "MYS"),
    ("Maldives", "MV", "MDV"),
    ("Mali", "ML", "MLI"),
    ("Malta", "MT", "MLT"),
    ("Marshall Islands", "MH", "MHL"),
    ("Martinique", "MQ", "MTQ"),
    ("Mauritania", "MR", "MRT"),
    ("Mauritius", "MU", "MUS"),
    ("Mayotte", "YT", "MYT"),
    ("Mexico", "MX", "MEX"),
    ("Micronesia", "FM", "FSM"),
    ("Moldova", "MD", "MDA"),
    ("Monaco", "MC", "MCO"),
    ("Mongolia", "MN", "MNG"),
    ("Montenegro", "ME", "MNE"),
    ("Montserrat", "MS", "MSR"),
    ("Morocco", "MA", "MAR"),
    ("Mozambique", "MZ", "MOZ"),
    ("Myanmar", "MM", "MMR"),
    ("Namibia", "NA", "NAM"),
    ("Nauru", "NR", "NRU"),
    ("Nepal", "NP", "NPL"),
    ("Netherlands", "NL", "NLD"),
    ("New Caledonia", "NC", "NCL"),
    ("New Zealand", "NZ", "NZL"),
    ("Nicaragua", "NI", "NIC"),
    ("Niger", "NE", "NER"),
    ("Nigeria", "NG", "NGA"),
    ("Niue", "NU", "NIU"),
    ("Norfolk Island", "NF", "NFK"),
    ("North Macedonia", "MK", "MKD"),
    ("Northern Mariana Islands", "MP", "MNP"),
    ("Norway", "NO", "NOR"),
    ("Oman", "OM", "OMN"),
    ("Pakistan", "PK", "PAK"),
    ("Palau", "PW", "PLW"),
    ("Palestine, State of", "PS", "PSE"),
    ("Panama", "PA", "PAN"),
    ("Papua New Guinea", "PG", "PNG"),
    ("Paraguay", "PY", "PRY"),
    ("Peru", "PE", "PER"),
    ("Philippines", "PH", "PHL"),
    ("Pitcairn", "PN", "PCN"),
    ("Poland", "PL", "POL"),
    ("Portugal", "PT", "PRT"),
    ("Puerto Rico", "PR", "PRI"),
    ("Qatar", "QA", "QAT"),
    ("Réunion", "RE", "REU"),
    ("Romania", "RO", "ROU"),
    ("Russian Federation", "RU", "RUS"),
    ("Rwanda", "RW", "RWA"),
    ("Saint Barthélemy", "BL", "BLM"),
    ("Saint Helena, Ascension and Tristan da Cunha", "SH", "SHN"),
    ("Saint Kitts and Nevis", "KN", "KNA"),
    ("Saint Lucia", "LC", "LCA"),
    ("Saint Martin (French part)", "MF", "MAF"),
    ("Saint Pierre and Miquelon", "PM", "SPM"),
    ("Saint Vincent and the Grenadines", "VC", "VCT"),
    ("Samoa", "WS", "WSM"),
    ("San Marino", "SM", "SMR"),
    ("Sao Tome and Principe", "ST", "STP"),
    ("Saudi Arabia", "SA", "SAU"),
    ("Senegal", "SN", "SEN"),
    ("Serbia", "RS", "SRB"),
    ("Seychelles", "SC", "SYC"),
    ("Sierra Leone", "SL", "SLE"),
    ("Singapore", "SG", "SGP"),
    ("Sint Maarten (Dutch part)", "SX", "SXM"),
    ("Slovakia", "SK", "SVK"),
    ("Slovenia", "SI", "SVN"),
    ("Solomon Islands", "SB", "SLB"),
    ("Somalia", "SO", "SOM"),
    ("South Africa", "ZA", "ZAF"),
    ("South Georgia and the South Sandwich Islands", "GS", "SGS"),
    ("South Sudan", "SS", "SSD"),
    ("Spain", "ES", "ESP"),
    ("Sri Lanka", "LK", "LKA"),
    ("Sudan", "SD", "SDN"),
    ("Suriname", "SR", "SUR"),
    ("Svalbard and Jan Mayen", "SJ", "SJM"),
    ("Sweden", "SE", "SWE"),
    ("Switzerland", "CH", "CHE"),
    ("Syrian Arab Republic", "SY", "SYR"),
    ("Taiwan", "TW", "TWN"),
    ("Tajikistan", "TJ", "TJK"),
    ("Tanzania", "TZ", "TZA"),
    ("Thailand", "TH", "THA"),
    ("Timor-Leste", "TL", "TLS"),
    ("Togo", "TG", "TGO"),
    ("Tokelau", "TK", "TKL"),
    ("Tonga", "TO", "TON"),
    ("Trinidad and Tobago", "TT", "TTO"),
    ("Tunisia", "TN", "TUN"),
    ("Türkiye", "TR", "TUR"),
    ("Turkmenistan", "TM", "TKM"),
    ("Turks and Caicos Islands", "TC", "TCA"),
    ("Tuvalu", "TV", "TUV"),
    ("Uganda", "UG", "UGA"),
    ("Ukraine", "UA", "UKR"),
    ("United Arab Emirates", "AE", "ARE"),
    ("United Kingdom", "GB", "GBR"),
    ("United States", "US", "USA"),
    ("United States Minor Outlying Islands", "UM", "UMI"),
    ("Uruguay", "UY", "URY"),
    ("Uzbekistan", "UZ", "UZB"),
    ("Vanuatu", "VU", "VUT"),
    ("Venezuela", "VE", "VEN"),
    ("Viet Nam", "VN", "VNM"),
    ("Virgin Islands (British)", "VG", "VGB"),
    ("Virgin Islands (U.S.)", "VI", "VIR"),
    ("Wallis and Futuna", "WF", "WLF"),
    ("Western Sahara", "EH", "ESH"),
    ("Yemen", "YE", "YEM"),
    ("Zambia", "ZM", "ZMB"),
    ("Zimbabwe", "ZW", "ZWE"),
];

/// Common names people type that differ from the API's name.
const ALIASES: &[(&str, &str)] = &[
    ("UK", "United Kingdom"),
    ("Great Britain", "United Kingdom"),
    ("England", "United Kingdom"),
    ("Scotland", "United Kingdom"),
    ("Wales", "United Kingdom"),
    ("Northern Ireland", "United Kingdom"),
    ("USA", "United States"),
    ("United States of America", "United States"),
    ("Russia", "Russian Federation"),
    ("South Korea", "Korea, Republic of"),
    ("North Korea", "Korea, Democratic People's Republic of"),
    ("Vietnam", "Viet Nam"),
    ("Turkey", "Türkiye"),
    ("Czech Republic", "Czechia"),
    ("Ivory Coast", "Côte d'Ivoire"),
    ("Laos", "Lao People's Democratic Republic"),
    ("Syria", "Syrian Arab Republic"),
    ("Macedonia", "North Macedonia"),
    ("Swaziland", "Eswatini"),
    ("Cape Verde", "Cabo Verde"),
    ("Brunei", "Brunei Darussalam"),
    ("Palestine", "Palestine, State of"),
    ("Vatican", "Holy See"),
    (
        "Democratic Republic of the Congo",
        "Congo, Democratic Republic of the",
    ),
];

/// ISO 3166-1 official (full) names where they differ from the short name.
const OFFICIAL_NAMES: &[(&str, &str)] = &[
    (
        "United Kingdom of Great Britain and Northern Ireland",
        "United Kingdom",
    ),
    ("United States of America", "United States"),
    ("Federal Republic of Germany", "Germany"),
    ("French Republic", "France"),
    ("Kingdom of Spain", "Spain"),
    ("Italian Republic", "Italy"),
    ("Portuguese Republic", "Portugal"),
    ("Kingdom of the Netherlands", "Netherlands"),
    ("Kingdom of Belgium", "Belgium"),
    ("Grand Duchy of Luxembourg", "Luxembourg"),
    ("Republic of Austria", "Austria"),
    ("Swiss Confederation", "Switzerland"),
    ("Kingdom of Sweden", "Sweden"),
    ("Kingdom of Norway", "Norway"),
    ("Kingdom of Denmark", "Denmark"),
    ("Republic of Finland", "Finland"),
    ("Republic of Iceland", "Iceland"),
    ("Republic of Poland", "Poland"),
    ("Czech Republic", "Czechia"),
    ("Slovak Republic", "Slovakia"),
    ("Hungary", "Hungary"),
    ("Romania", "Romania"),
    ("Republic of Bulgaria", "Bulgaria"),
    ("Hellenic Republic", "Greece"),
    ("Republic of Croatia", "Croatia"),
    ("Republic of Slovenia", "Slovenia"),
    ("Republic of Serbia", "Serbia"),
    ("Republic of Türkiye", "Türkiye"),
    ("Republic of Ireland", "Ireland"),
    ("Republic of Estonia", "Estonia"),
    ("Republic of Latvia", "Latvia"),
    ("Republic of Lithuania", "Lithuania"),
    ("Republic of Cyprus", "Cyprus"),
    ("Republic of Malta", "Malta"),
    ("Principality of Monaco", "Monaco"),
    ("Principality of Liechtenstein", "Liechtenstein"),
    ("Principality of Andorra", "Andorra"),
    ("Republic of San Marino", "San Marino"),
    ("State of Israel", "Israel"),
    ("Kingdom of Saudi Arabia", "Saudi Arabia"),
    ("Arab Republic of Egypt", "Egypt"),
    ("Kingdom of Morocco", "Morocco"),
    ("Federal Republic of Nigeria", "Nigeria"),
    ("Republic of Kenya", "Kenya"),
    ("Republic of South Africa", "South Africa"),
    ("Republic of India", "India"),
    ("Islamic Republic of Pakistan", "Pakistan"),
    ("People's Republic of Bangladesh", "Bangladesh"),
    ("People's Republic of China", "China"),
    ("Republic of Korea", "Korea, Republic of"),
    ("Republic of Singapore", "Singapore"),
    ("Republic of Indonesia", "Indonesia"),
    ("Republic of the Philippines", "Philippines"),
    ("Kingdom of Thailand", "Thailand"),
    ("Socialist Republic of Viet Nam", "Viet Nam"),
    ("Commonwealth of Australia", "Australia"),
    ("United Mexican States", "Mexico"),
    ("Federative Republic of Brazil", "Brazil"),
    ("Argentine Republic", "Argentina"),
    ("Republic of Chile", "Chile"),
    ("Republic of Colombia", "Colombia"),
    ("Republic of Peru", "Peru"),
    ("Bolivarian Republic of Venezuela", "Venezuela"),
    ("Russian Federation", "Russian Federation"),
    ("United Arab Emirates", "United Arab Emirates"),
];

/// Native names people write (HR systems in their own language).
const NATIVE_NAMES: &[(&str, &str)] = &[
    ("Deutschland", "Germany"),
    ("Bundesrepublik Deutschland", "Germany"),
    ("Österreich", "Austria"),
    ("Schweiz", "Switzerland"),
    ("Suisse", "Switzerland"),
    ("Svizzera", "Switzerland"),
    ("España", "Spain"),
    ("Espana", "Spain"),
    ("Italia", "Italy"),
    ("Nederland", "Netherlands"),
    ("Holland", "Netherlands"),
    ("The Netherlands", "Netherlands"),
    ("België", "Belgium"),
    ("Belgique", "Belgium"),
    ("Belgien", "Belgium"),
    ("Lëtzebuerg", "Luxembourg"),
    ("Sverige", "Sweden"),
    ("Norge", "Norway"),
    ("Danmark", "Denmark"),
    ("Suomi", "Finland"),
    ("Ísland", "Iceland"),
    ("Polska", "Poland"),
    ("Česko", "Czechia"),
    ("Česká republika", "Czechia"),
    ("Slovensko", "Slovakia"),
    ("Magyarország", "Hungary"),
    ("România", "Romania"),
    ("България", "Bulgaria"),
    ("Ελλάδα", "Greece"),
    ("Hellas", "Greece"),
    ("Hrvatska", "Croatia"),
    ("Slovenija", "Slovenia"),
    ("Србија", "Serbia"),
    ("Srbija", "Serbia"),
    ("Türkiye Cumhuriyeti", "Türkiye"),
    ("Éire", "Ireland"),
    ("Eesti", "Estonia"),
    ("Latvija", "Latvia"),
    ("Lietuva", "Lithuania"),
    ("Россия", "Russian Federation"),
    ("Україна", "Ukraine"),
    ("Brasil", "Brazil"),
    ("México", "Mexico"),
    ("Perú", "Peru"),
    ("中国", "China"),
    ("日本", "Japan"),
    ("Nippon", "Japan"),
    ("대한민국", "Korea, Republic of"),
    ("भारत", "India"),
    ("Bharat", "India"),
    ("Việt Nam", "Viet Nam"),
    ("Misr", "Egypt"),
    ("Al-Maghrib", "Morocco"),
];

/// A country vocabulary: the API's names (built in, extended or replaced
/// by a file, and grown by the values a tenant is seen to use) and every
/// spelling that maps onto one of them.
#[derive(Debug, Clone)]
pub struct Countries {
    /// Lower-cased spelling → the name sent to the tenant.
    spellings: HashMap<String, String>,
    /// The spellings by length in characters, for "did you mean" (built
    /// on first use, dropped when a spelling is added).
    by_length: std::sync::OnceLock<BTreeMap<usize, Vec<Spelling>>>,
}

/// A spelling split into characters, the spelling and the name it means.
type Spelling = (Vec<char>, String, String);

/// Why a countries file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}, line {line}: {message}")]
pub struct CountriesFileError {
    /// The file.
    pub path: String,
    /// The line (1 is the first).
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl Default for Countries {
    fn default() -> Self {
        Countries::builtin()
    }
}

impl Countries {
    /// The built-in list: ISO 3166 English short names, their codes, ISO
    /// official names, common aliases and native names.
    pub fn builtin() -> Self {
        let mut countries = Countries::empty();
        for (name, a2, a3) in COUNTRIES {
            countries.add(name, [*a2, *a3]);
        }
        for (spelling, name) in ALIASES.iter().chain(OFFICIAL_NAMES).chain(NATIVE_NAMES) {
            countries
                .spellings
                .insert(spelling.to_lowercase(), name.to_string());
        }
        countries
    }

    /// A vocabulary with no names at all (for a file that replaces the list).
    pub fn empty() -> Self {
        Countries {
            spellings: HashMap::new(),
            by_length: std::sync::OnceLock::new(),
        }
    }

    /// Adds `name` (sent as written) and its other spellings. An earlier
    /// meaning of a spelling is replaced.
    pub fn add<'a>(&mut self, name: &str, spellings: impl IntoIterator<Item = &'a str>) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        self.by_length = std::sync::OnceLock::new();
        self.spellings.insert(name.to_lowercase(), name.to_string());
        for spelling in spellings {
            let spelling = spelling.trim();
            if !spelling.is_empty() {
                self.spellings
                    .insert(spelling.to_lowercase(), name.to_string());
            }
        }
    }

    /// Adds the lines of a countries file: `Name[,spelling…]` per line, `#`
    /// comments and blank lines ignored. The name is what the tenant gets.
    pub fn add_file_text(&mut self, text: &str, shown: &str) -> Result<(), CountriesFileError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        for record in reader.records() {
            let record = record.map_err(|err| CountriesFileError {
                path: shown.to_string(),
                line: err.position().map_or(0, |p| p.line() as usize),
                message: err.to_string(),
            })?;
            let mut cells = record.iter();
            let Some(name) = cells.next().filter(|n| !n.is_empty()) else {
                continue;
            };
            self.add(name, cells);
        }
        Ok(())
    }

    /// The name the tenant gets for `input` (a name, code, alias or native
    /// name, any case), if it is known.
    pub fn resolve(&self, input: &str) -> Option<&str> {
        let wanted = input.trim();
        if wanted.is_empty() {
            return None;
        }
        self.spellings
            .get(&wanted.to_lowercase())
            .map(String::as_str)
    }

    /// The known name `input` most likely meant, for "did you mean".
    pub fn suggest(&self, input: &str) -> Option<&str> {
        let wanted: Vec<char> = input.trim().to_lowercase().chars().collect();
        let length = wanted.len();
        let limit = (length / 4).clamp(1, 3);
        let by_length = self.by_length.get_or_init(|| {
            let mut by_length: BTreeMap<usize, Vec<Spelling>> = BTreeMap::new();
            for (spelling, name) in &self.spellings {
                let chars: Vec<char> = spelling.chars().collect();
                by_length.entry(chars.len()).or_default().push((
                    chars,
                    spelling.clone(),
                    name.clone(),
                ));
            }
            by_length
        });
        // Only spellings within `limit` characters of the input's length can be within `limit` edits.
        by_length
            .range(length.saturating_sub(limit)..=length + limit)
            .flat_map(|(_, spellings)| spellings)
            .filter_map(|(chars, spelling, name)| {
                crate::model::text::chars_within(&wanted, chars, limit)
                    .map(|distance| (distance, spelling, name))
            })
            .min_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
            .map(|(_, _, name)| name.as_str())
    }
}

/// Whether `name` is exactly one of the API's country names.
pub fn is_api_name(name: &str) -> bool {
    resolve(name) == Some(name)
}

/// Every accepted spelling, lower-cased, to the API's name; built once.
fn lookup() -> &'static HashMap<String, &'static str> {
    static TABLE: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (alias, name) in ALIASES {
            table.insert(alias.to_lowercase(), *name);
        }
        for (name, a2, a3) in COUNTRIES {
            table.insert(name.to_lowercase(), *name);
            table.insert(a2.to_lowercase(), *name);
            table.insert(a3.to_lowercase(), *name);
        }
        table
    })
}

/// The API's name for a country given by name, alias or ISO code, ignoring
/// case and surrounding spaces.
pub fn resolve(input: &str) -> Option<&'static str> {
    let wanted = input.trim();
    if wanted.is_empty() {
        return None;
    }
    lookup().get(&wanted.to_lowercase()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_aliases_resolve() {
        assert_eq!(resolve("gb"), Some("United Kingdom"));
        assert_eq!(resolve("DEU"), Some("Germany"));
        assert_eq!(resolve(" france "), Some("France"));
        assert_eq!(resolve("RÉUNION"), Some("Réunion"));
        assert_eq!(resolve("usa"), Some("United States"));
        assert_eq!(resolve("Atlantis"), None);
        assert_eq!(resolve(""), None);
    }

    #[test]
    fn the_vocabulary_knows_official_and_native_names_and_grows() {
        let mut countries = Countries::builtin();
        for (input, name) in [
            (
                "United Kingdom of Great Britain and Northern Ireland",
                "United Kingdom",
            ),
            ("Deutschland", "Germany"),
            ("ESPAÑA", "Spain"),
            ("de", "Germany"),
            ("Côte d'Ivoire", "Côte d'Ivoire"),
        ] {
            assert_eq!(countries.resolve(input), Some(name), "{input}");
        }
        assert_eq!(countries.resolve("Atlantis"), None);
        assert_eq!(countries.suggest("Germny"), Some("Germany"));
        assert_eq!(countries.suggest("Atlantis"), None);
        countries
            .add_file_text("# ours\nAtlantis,ATL,Poseidonia\n\n", "c.txt")
            .unwrap();
        assert_eq!(countries.resolve("poseidonia"), Some("Atlantis"));
        let mut only = Countries::empty();
        only.add_file_text("Germany,DE\n", "c.txt").unwrap();
        assert_eq!(only.resolve("France"), None);
        assert_eq!(only.resolve("de"), Some("Germany"));
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (name, a2, a3) in COUNTRIES {
            assert!(a2.len() == 2 && a3.len() == 3, "{name}");
            assert!(
                seen.insert(*a2) && seen.insert(*a3),
                "duplicate code for {name}"
            );
        }
        for (alias, name) in ALIASES {
            assert!(is_api_name(name), "alias {alias} points at a known name");
        }
    }
}
