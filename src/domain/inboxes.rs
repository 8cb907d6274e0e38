//! The magic button's rules, shared by the wizard (instant preview and messages in the browser)
//! and the server (which runs the very same plan inside the provisioning transaction), and the
//! inbox pages' view types.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How local parts are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Convention {
    /// `james@`, `mary@`, …
    FirstNames,
    /// `james.smith@`
    FirstDotLast,
    /// `jsmith@`
    InitialLast,
    /// `sales@`, `hello@`, `team@`, …
    Roles,
    /// The customer's pasted "First Last" lines: `first@`, `first.last@`, `flast@`, …
    Personas,
}

impl Convention {
    pub const ALL: [Convention; 5] = [
        Convention::FirstNames,
        Convention::FirstDotLast,
        Convention::InitialLast,
        Convention::Roles,
        Convention::Personas,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Convention::FirstNames => "first",
            Convention::FirstDotLast => "first.last",
            Convention::InitialLast => "flast",
            Convention::Roles => "roles",
            Convention::Personas => "personas",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Convention::FirstNames => "First names (james@)",
            Convention::FirstDotLast => "first.last (james.smith@)",
            Convention::InitialLast => "First initial + last (jsmith@)",
            Convention::Roles => "Role names (sales@, hello@, team@)",
            Convention::Personas => "My personas (pasted names)",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.key() == s.trim())
            .ok_or_else(|| format!("Choose a naming convention (not “{s}”)."))
    }
}

/// How display names are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisplayStyle {
    /// "James Smith" (role inboxes: "Sales")
    FullName,
    /// "James"
    FirstName,
    /// "James from Acme" (needs a company)
    FirstAtCompany,
}

impl DisplayStyle {
    pub const ALL: [DisplayStyle; 3] = [
        DisplayStyle::FullName,
        DisplayStyle::FirstName,
        DisplayStyle::FirstAtCompany,
    ];

    pub fn key(self) -> &'static str {
        match self {
            DisplayStyle::FullName => "full",
            DisplayStyle::FirstName => "first",
            DisplayStyle::FirstAtCompany => "company",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DisplayStyle::FullName => "Full name (James Smith)",
            DisplayStyle::FirstName => "First name (James)",
            DisplayStyle::FirstAtCompany => "First name from company (James from Acme)",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.key() == s.trim())
            .ok_or_else(|| format!("Choose how display names look (not “{s}”)."))
    }
}

pub const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "John", "Linda", "Robert", "Emma", "Michael", "Olivia", "David", "Sophia",
    "William", "Ava", "Richard", "Mia", "Joseph", "Grace", "Thomas", "Chloe", "Daniel", "Lily",
    "Matthew", "Ella", "Andrew", "Zoe", "Ryan", "Hannah", "Nathan", "Nora", "Adam", "Claire",
    "Ethan", "Leah", "Lucas", "Alice", "Henry", "Ruby", "Jack", "Ivy", "Owen", "Julia", "Leo",
    "Sarah", "Noah", "Laura", "Liam", "Anna", "Oscar", "Kate", "Samuel", "Emily", "Max", "Paula",
    "Peter", "Rachel", "Mark", "Helen", "Paul", "Diana", "Alex", "Megan", "Ben", "Amy", "Sam",
    "Jane", "Tom", "Lucy", "Chris", "Eva", "Dan", "Maya", "Eric", "Nina", "Kevin", "Sara", "Brian",
    "Tina", "Jason", "Rose", "Adrian", "Vera", "Victor", "Iris", "Felix", "Clara", "Hugo",
    "Stella", "Ian", "Alma", "Carl", "Erin", "Dean", "Elena", "Neil", "Fiona", "Roy", "Gina",
    "Seth", "Hazel", "Tony", "Jade",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Taylor",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "James",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Fisher",
    "Hayes",
    "Graham",
    "Wallace",
    "Hunt",
    "Palmer",
    "Black",
    "Stone",
    "Hart",
    "Lane",
    "Ford",
    "Marsh",
    "Shaw",
    "Fox",
    "Webb",
    "Lamb",
    "Day",
    "Gibson",
    "Knight",
    "Mills",
    "Pearce",
    "Holmes",
    "Barker",
    "Lloyd",
    "Dixon",
    "Burke",
    "Grant",
    "Hale",
    "Nash",
    "Quinn",
    "Rhodes",
    "Sharp",
    "Tate",
];

pub const ROLES: &[&str] = &[
    "sales",
    "hello",
    "team",
    "info",
    "contact",
    "hi",
    "outreach",
    "partners",
    "growth",
    "business",
    "connect",
    "success",
    "deals",
    "office",
    "marketing",
    "bizdev",
    "accounts",
    "founders",
    "inquiries",
    "support",
];

/// Longest local part we make (RFC 5321 allows 64).
const MAX_LOCAL: usize = 64;
/// Most personas one batch takes.
pub const MAX_PERSONAS: usize = 200;

/// One pasted persona.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    pub first: String,
    pub last: String,
}

/// ASCII letters and digits of a name, lower-case; common accented letters lose their accent.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        }
    }
    out
}

/// Parses pasted personas, one "First Last" per line (a comma or tab between the two parts
/// works too). Errors name the line.
pub fn parse_personas(text: &str) -> Result<Vec<Persona>, String> {
    let mut personas = Vec::new();
    let mut seen = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line
            .split(|c: char| c == ',' || c == '\t' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() < 2 {
            return Err(format!(
                "Line {}: “{line}” needs a first and a last name, e.g. “Jane Doe”.",
                n + 1
            ));
        }
        if parts.iter().any(|p| super::account::has_control_chars(p)) {
            return Err(format!(
                "Line {}: remove control characters from the name.",
                n + 1
            ));
        }
        let first = parts[0].to_string();
        let last = parts[1..].join(" ");
        if slug(&first).is_empty() || slug(&last).is_empty() {
            return Err(format!(
                "Line {}: “{line}” has no letters we can use in an address.",
                n + 1
            ));
        }
        if first.chars().count() > 40 || last.chars().count() > 40 {
            return Err(format!(
                "Line {}: names are limited to 40 characters.",
                n + 1
            ));
        }
        if !seen.insert((slug(&first), slug(&last))) {
            return Err(format!(
                "Line {}: “{line}” is listed twice. Each persona must be different.",
                n + 1
            ));
        }
        personas.push(Persona { first, last });
    }
    if personas.is_empty() {
        return Err("Paste at least one persona, one “First Last” per line.".into());
    }
    if personas.len() > MAX_PERSONAS {
        return Err(format!(
            "At most {MAX_PERSONAS} personas at a time; you pasted {}.",
            personas.len()
        ));
    }
    Ok(personas)
}

/// What the customer chose, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchSpec {
    pub per_domain: u32,
    pub convention: Convention,
    pub personas: Vec<Persona>,
    pub display: DisplayStyle,
    pub company: String,
}

/// The raw form, as the wizard sends it (and a plain form post would).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchForm {
    /// Domain ids, comma-separated.
    pub domains: String,
    pub per_domain: String,
    pub convention: String,
    pub personas: String,
    pub display: String,
    pub company: String,
}

impl BatchForm {
    pub fn domain_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for id in self
            .domains
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
        ids
    }

    /// Parses every field but the domains; errors are (field, message).
    pub fn parse(&self, max_per_domain: u32) -> Result<BatchSpec, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let per_domain = match self.per_domain.trim().parse::<u32>() {
            Ok(n) if (1..=max_per_domain).contains(&n) => n,
            _ => {
                errors.push((
                    "per_domain",
                    format!("Choose between 1 and {max_per_domain} inboxes per domain."),
                ));
                0
            }
        };
        let convention = Convention::parse(&self.convention)
            .map_err(|e| errors.push(("convention", e)))
            .ok();
        let display = DisplayStyle::parse(&self.display)
            .map_err(|e| errors.push(("display", e)))
            .ok();
        let company = self.company.trim().to_string();
        if display == Some(DisplayStyle::FirstAtCompany) && company.is_empty() {
            errors.push(("company", "Type the company name for “from …”.".into()));
        }
        if super::account::has_control_chars(&company) {
            errors.push((
                "company",
                "Remove line breaks and control characters from the company name.".into(),
            ));
        }
        if company.chars().count() > 60 {
            errors.push((
                "company",
                "The company name is limited to 60 characters.".into(),
            ));
        }
        let personas = if convention == Some(Convention::Personas) {
            parse_personas(&self.personas)
                .map_err(|e| errors.push(("personas", e)))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        match (convention, display, errors.is_empty()) {
            (Some(convention), Some(display), true) => Ok(BatchSpec {
                per_domain,
                convention,
                personas,
                display,
                company,
            }),
            _ => Err(errors),
        }
    }
}

/// One inbox to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedInbox {
    pub domain_id: String,
    pub local_part: String,
    pub address: String,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
}

/// A domain the batch goes on, with the local parts already in use there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetDomain {
    pub id: String,
    pub name: String,
    pub taken: Vec<String>,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Candidates in order: (local part, first, last). Finite; the plan takes the first free ones.
fn candidates(spec: &BatchSpec) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    match spec.convention {
        Convention::FirstNames => {
            for f in FIRST_NAMES {
                out.push((slug(f), f.to_string(), String::new()));
            }
        }
        Convention::FirstDotLast | Convention::InitialLast => {
            // Pair the i-th first name with a shifting last name so the first hundred read
            // like a varied team rather than everyone called Smith.
            let (nf, nl) = (FIRST_NAMES.len(), LAST_NAMES.len());
            for round in 0..nl {
                for (i, f) in FIRST_NAMES.iter().enumerate() {
                    let l = LAST_NAMES[(i + round) % nl];
                    let local = if spec.convention == Convention::FirstDotLast {
                        format!("{}.{}", slug(f), slug(l))
                    } else {
                        format!("{}{}", &slug(f)[..1], slug(l))
                    };
                    out.push((local, f.to_string(), l.to_string()));
                }
            }
            debug_assert!(nf > 0);
        }
        Convention::Roles => {
            for r in ROLES {
                out.push((r.to_string(), capitalize(r), String::new()));
            }
        }
        Convention::Personas => {
            // Each persona's first variant, then each one's second, …
            let variants: [fn(&str, &str) -> String; 6] = [
                |f, l| format!("{f}.{l}"),
                |f, _| f.to_string(),
                |f, l| format!("{}{l}", &f[..1]),
                |f, l| format!("{f}{}", &l[..1]),
                |f, l| format!("{f}_{l}"),
                |f, l| format!("{f}{l}"),
            ];
            for v in variants {
                for p in &spec.personas {
                    let (f, l) = (slug(&p.first), slug(&p.last));
                    out.push((v(&f, &l), p.first.clone(), p.last.clone()));
                }
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|(local, _, _)| {
        !local.is_empty() && local.len() <= MAX_LOCAL && seen.insert(local.clone())
    });
    out
}

fn display_name(spec: &BatchSpec, first: &str, last: &str) -> String {
    match spec.display {
        DisplayStyle::FullName if last.is_empty() => first.to_string(),
        DisplayStyle::FullName => format!("{first} {last}"),
        DisplayStyle::FirstName => first.to_string(),
        DisplayStyle::FirstAtCompany => format!("{first} from {}", spec.company),
    }
}

/// The exact inboxes of a batch: `per_domain` on each domain, unique against what each domain
/// already has and within the batch. Explains a convention that cannot yield enough names.
pub fn plan(spec: &BatchSpec, domains: &[TargetDomain]) -> Result<Vec<PlannedInbox>, String> {
    if domains.is_empty() {
        return Err("Choose at least one active domain.".into());
    }
    let all = candidates(spec);
    let mut planned = Vec::with_capacity(domains.len() * spec.per_domain as usize);
    for d in domains {
        let mut used: HashSet<String> = d.taken.iter().map(|t| t.to_ascii_lowercase()).collect();
        let mut made = 0u32;
        for (local, first, last) in &all {
            if made == spec.per_domain {
                break;
            }
            if !used.insert(local.clone()) {
                continue;
            }
            planned.push(PlannedInbox {
                domain_id: d.id.clone(),
                address: format!("{local}@{}", d.name),
                local_part: local.clone(),
                first_name: first.clone(),
                last_name: last.clone(),
                display_name: display_name(spec, first, last),
            });
            made += 1;
        }
        if made < spec.per_domain {
            let what = match spec.convention {
                Convention::Personas => format!(
                    "{} personas give at most {} addresses per domain",
                    spec.personas.len(),
                    spec.personas.len() * 6
                ),
                c => format!("“{}” gives {} addresses per domain", c.label(), all.len()),
            };
            return Err(format!(
                "{what}, and {} {} already in use on {}, so only {made} more can be made there, not {}. Choose fewer inboxes per domain or another convention.",
                d.taken.len(),
                if d.taken.len() == 1 { "is" } else { "are" },
                d.name,
                spec.per_domain
            ));
        }
    }
    Ok(planned)
}

/// Messages-per-day of the warm-up ramp on day `day` (0 = the first day), never above `cap`.
pub fn warmup_limit(day: i64, start: i32, step: i32, max: i32, cap: i32) -> i32 {
    let day = i32::try_from(day.max(0)).unwrap_or(i32::MAX);
    start
        .saturating_add(step.saturating_mul(day))
        .min(max)
        .min(cap)
}

/// The export formats customers can download.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    Generic,
    Instantly,
    Smartlead,
    Salesforge,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Generic,
        ExportFormat::Instantly,
        ExportFormat::Smartlead,
        ExportFormat::Salesforge,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ExportFormat::Generic => "generic",
            ExportFormat::Instantly => "instantly",
            ExportFormat::Smartlead => "smartlead",
            ExportFormat::Salesforge => "salesforge",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Generic => "CSV (all fields)",
            ExportFormat::Instantly => "Instantly",
            ExportFormat::Smartlead => "Smartlead",
            ExportFormat::Salesforge => "Salesforge / Primeforge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == s.trim())
    }
}

/// Which inboxes an export or the list covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    pub domain: Option<String>,
    pub status: Option<String>,
    pub batch: Option<String>,
    /// Explicit selection (comma-separated ids).
    pub ids: Option<String>,
}

impl InboxFilter {
    /// The query string for links (`/inboxes?…`, `/inboxes/export?…`), empty parts left out.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("domain", &self.domain),
            ("status", &self.status),
            ("batch", &self.batch),
            ("ids", &self.ids),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", v.replace('&', "%26").replace(' ', "%20")));
            }
        }
        parts.join("&")
    }
}

pub const INBOX_STATUSES: [(&str, &str); 3] = [
    ("active", "Active"),
    ("pending_relay", "Setting up"),
    ("suspended", "Suspended"),
];

pub fn inbox_status_label(status: &str) -> &'static str {
    INBOX_STATUSES
        .iter()
        .find(|(k, _)| *k == status)
        .map(|(_, l)| *l)
        .unwrap_or("Deleted")
}

/// A domain the wizard offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardDomain {
    pub id: String,
    pub name: String,
    pub taken: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardView {
    pub domains: Vec<WizardDomain>,
    pub plan_name: String,
    pub used: i64,
    pub limit: i64,
    /// Why nothing can be created now (suspended, trial over, read-only), if so.
    pub blocked: Option<String>,
    pub max_per_domain: u32,
    pub can_manage: bool,
    /// The plan allows inboxes past `limit` at this price each a month ("$1.50"); `None`: the
    /// limit is hard.
    #[serde(default)]
    pub overage_price: Option<String>,
}

impl WizardView {
    /// How many more inboxes may be made now: up to the plan's limit, or up to
    /// [`OVERAGE_CEILING`](crate::domain::billing::OVERAGE_CEILING) times it when the plan
    /// bills extra inboxes as overage.
    pub fn headroom(&self) -> i64 {
        let limit = if self.overage_price.is_some() {
            self.limit
                .saturating_mul(crate::domain::billing::OVERAGE_CEILING)
        } else {
            self.limit
        };
        (limit - self.used).max(0)
    }
}

/// What "Provision" answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub batch_id: String,
    pub count: usize,
    /// True when this key had already made the batch (a double submit).
    pub existing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxListItem {
    pub id: String,
    pub address: String,
    pub display_name: String,
    pub domain: String,
    pub status: String,
    pub status_label: String,
    pub daily_cap: i32,
    /// Today's warm-up allowance, e.g. `15/day (day 3)`.
    pub warmup: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainOption {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxesView {
    pub inboxes: Vec<InboxListItem>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub filter: InboxFilter,
    pub domains: Vec<DomainOption>,
    pub can_manage: bool,
    /// A batch just made (`?batch=`): its size, for the "download" banner.
    pub batch_size: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxDetail {
    pub item: InboxListItem,
    pub first_name: String,
    pub last_name: String,
    pub created: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_security: String,
    /// e.g. `Day 3 of warm-up: 15 a day, +5 a day up to 30.`
    pub warmup_note: String,
    /// What the relay lets it send today (warm-up stage or daily cap, whichever is lower).
    pub allowance_today: i32,
    /// 1 on the first day of warm-up; 0 before it starts.
    pub warmup_day: i32,
    /// When the mail store last accepted its login (`YYYY-MM-DD HH:MM UTC`), if ever.
    pub login_checked: Option<String>,
    /// Why the last login check failed, while the inbox waits for it.
    pub login_check_error: Option<String>,
    /// Messages in its INBOX, counted by the mail store; `None` when it cannot be asked now.
    pub messages: Option<u32>,
    pub can_manage: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Pasted personas and the whole wizard form: an error message or a plan.
        #[test]
        fn the_wizard_form_never_panics(
            personas in proptest::prelude::any::<String>(),
            company in proptest::prelude::any::<String>(),
            per in "[0-9 -]{0,4}",
            convention in "(first|first\\.last|flast|roles|personas|x)",
            display in "(full|first|company|x)",
        ) {
            let _ = parse_personas(&personas);
            let form = BatchForm {
                domains: String::new(),
                per_domain: per,
                convention,
                personas,
                display,
                company,
            };
            if let Ok(spec) = form.parse(20) {
                let _ = plan(&spec, &[domain("a.com", &[])]);
            }
        }

        #[test]
        fn persona_lines_of_names_never_panic(lines in proptest::collection::vec("[\\p{L}\\p{M}\\p{N}'\\-\\. ,\t]{0,30}", 0..20)) {
            if let Ok(personas) = parse_personas(&lines.join("\n")) {
                let spec = BatchSpec { per_domain: 6, convention: Convention::Personas, personas, display: DisplayStyle::FullName, company: String::new() };
                let _ = plan(&spec, &[domain("a.com", &[])]);
            }
        }
    }

    fn spec(convention: Convention, per_domain: u32) -> BatchSpec {
        BatchSpec {
            per_domain,
            convention,
            personas: Vec::new(),
            display: DisplayStyle::FullName,
            company: String::new(),
        }
    }

    fn domain(name: &str, taken: &[&str]) -> TargetDomain {
        TargetDomain {
            id: format!("id-{name}"),
            name: name.into(),
            taken: taken.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn unique(p: &[PlannedInbox]) -> bool {
        let set: HashSet<&str> = p.iter().map(|i| i.address.as_str()).collect();
        set.len() == p.len()
    }

    #[test]
    fn every_convention_makes_unique_valid_addresses() {
        for c in [
            Convention::FirstNames,
            Convention::FirstDotLast,
            Convention::InitialLast,
            Convention::Roles,
        ] {
            let n = if c == Convention::Roles { 20 } else { 100 };
            let p = plan(&spec(c, n), &[domain("a.com", &[]), domain("b.io", &[])]).unwrap();
            assert_eq!(p.len(), 2 * n as usize, "{c:?}");
            assert!(unique(&p), "{c:?}");
            for i in &p {
                assert!(
                    i.local_part
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.'),
                    "{c:?}: {}",
                    i.local_part
                );
                assert!(!i.display_name.is_empty());
            }
        }
        let p = plan(&spec(Convention::FirstDotLast, 3), &[domain("a.com", &[])]).unwrap();
        let addrs: Vec<&str> = p.iter().map(|i| i.address.as_str()).collect();
        assert_eq!(
            addrs,
            [
                "james.smith@a.com",
                "mary.johnson@a.com",
                "john.williams@a.com"
            ]
        );
        assert_eq!(p[0].display_name, "James Smith");
        let p = plan(&spec(Convention::InitialLast, 2), &[domain("a.com", &[])]).unwrap();
        assert_eq!(p[0].local_part, "jsmith");
        let p = plan(&spec(Convention::Roles, 2), &[domain("a.com", &[])]).unwrap();
        assert_eq!(
            (p[0].local_part.as_str(), p[0].display_name.as_str()),
            ("sales", "Sales")
        );
    }

    #[test]
    fn existing_addresses_are_skipped_per_domain() {
        let p = plan(
            &spec(Convention::FirstNames, 3),
            &[domain("a.com", &["james", "MARY"]), domain("b.com", &[])],
        )
        .unwrap();
        let a: Vec<&str> = p
            .iter()
            .filter(|i| i.domain_id == "id-a.com")
            .map(|i| i.local_part.as_str())
            .collect();
        assert_eq!(a, ["john", "linda", "robert"]);
        let b: Vec<&str> = p
            .iter()
            .filter(|i| i.domain_id == "id-b.com")
            .map(|i| i.local_part.as_str())
            .collect();
        assert_eq!(b, ["james", "mary", "john"]);
    }

    #[test]
    fn a_convention_that_cannot_yield_enough_says_so() {
        let e = plan(&spec(Convention::Roles, 21), &[domain("a.com", &[])]).unwrap_err();
        assert!(e.contains("gives 20 addresses per domain"), "{e}");
        assert!(e.contains("only 20 more"), "{e}");
        let e = plan(
            &spec(Convention::Roles, 19),
            &[domain("a.com", &["sales", "hello"])],
        )
        .unwrap_err();
        assert!(e.contains("2 are already in use on a.com"), "{e}");
        assert!(e.contains("only 18 more"), "{e}");
        assert!(plan(&spec(Convention::FirstNames, 101), &[domain("a.com", &[])]).is_err());
    }

    #[test]
    fn personas_make_variants_and_refuse_duplicates() {
        let personas = parse_personas("Jane Doe\n\n  Zoë O'Brien \nCarlos, De la Cruz").unwrap();
        assert_eq!(personas.len(), 3);
        assert_eq!(personas[2].last, "De la Cruz");
        let mut s = spec(Convention::Personas, 5);
        s.personas = personas;
        let p = plan(&s, &[domain("a.com", &[])]).unwrap();
        let locals: Vec<&str> = p.iter().map(|i| i.local_part.as_str()).collect();
        assert_eq!(
            locals,
            ["jane.doe", "zoe.obrien", "carlos.delacruz", "jane", "zoe"]
        );
        assert_eq!(p[1].display_name, "Zoë O'Brien");
        s.per_domain = 19;
        let e = plan(&s, &[domain("a.com", &[])]).unwrap_err();
        assert!(e.contains("3 personas give at most 18"), "{e}");

        let e = parse_personas("Jane Doe\njane  doe").unwrap_err();
        assert!(e.contains("Line 2") && e.contains("listed twice"), "{e}");
        let e = parse_personas("Cher").unwrap_err();
        assert!(
            e.contains("Line 1") && e.contains("first and a last"),
            "{e}"
        );
        assert!(parse_personas("  \n").is_err());
        // A tab separates names; other control or bidi characters are refused.
        assert_eq!(parse_personas("Jane\tDoe").unwrap().len(), 1);
        for bad in ["Ja\u{0}ne Doe", "Jane Do\u{1b}e", "Jane \u{202E}eoD"] {
            let e = parse_personas(bad).unwrap_err();
            assert!(e.contains("control characters"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn the_form_explains_every_bad_field() {
        let f = BatchForm {
            domains: "a,b,a".into(),
            per_domain: "0".into(),
            convention: "nope".into(),
            personas: String::new(),
            display: "company".into(),
            company: " ".into(),
        };
        assert_eq!(f.domain_ids(), ["a", "b"]);
        let errors = f.parse(100).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["per_domain", "convention", "company"]);
        let ok = BatchForm {
            per_domain: "50".into(),
            convention: "first.last".into(),
            display: "company".into(),
            company: "Acme".into(),
            ..f
        }
        .parse(100)
        .unwrap();
        let p = plan(&ok, &[domain("a.com", &[])]).unwrap();
        assert_eq!(p[0].display_name, "James from Acme");
    }

    #[test]
    fn warmup_ramps_to_the_cap() {
        assert_eq!(warmup_limit(0, 5, 5, 30, 30), 5);
        assert_eq!(warmup_limit(2, 5, 5, 30, 30), 15);
        assert_eq!(warmup_limit(10, 5, 5, 30, 30), 30);
        assert_eq!(warmup_limit(10, 5, 5, 30, 20), 20);
    }
}
