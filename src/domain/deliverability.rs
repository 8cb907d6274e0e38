//! Deliverability: the figures a customer reads (per day, totals, rates, the change against the
//! previous period), the health score of a domain or inbox with its reasons in plain words,
//! and blocklist listings. The score is pure (`score`), so the server computes it and tests
//! pin it without a database.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The periods the pages offer, in days.
pub const PERIODS: [u32; 3] = [7, 30, 90];

/// A period from the page's `?days=` (anything else is the default, 30).
pub fn period(days: Option<&str>) -> u32 {
    days.and_then(|d| d.trim().parse::<u32>().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30)
}

/// Counts over some span. `sent` is what reached an outcome: delivered plus hard bounces.
/// Soft bounces are deferrals (the relay tries again), so they are shown but not "sent".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub delivered: i64,
    pub hard_bounces: i64,
    pub soft_bounces: i64,
    pub complaints: i64,
}

impl Figures {
    pub fn sent(&self) -> i64 {
        self.delivered + self.hard_bounces
    }

    /// Hard bounces per message sent, 0..1 (0 when nothing was sent).
    pub fn bounce_rate(&self) -> f64 {
        ratio(self.hard_bounces, self.sent())
    }

    /// Complaints per message delivered, 0..1.
    pub fn complaint_rate(&self) -> f64 {
        ratio(self.complaints, self.delivered)
    }

    pub fn add(&mut self, other: &Figures) {
        self.delivered += other.delivered;
        self.hard_bounces += other.hard_bounces;
        self.soft_bounces += other.soft_bounces;
        self.complaints += other.complaints;
    }
}

fn ratio(n: i64, d: i64) -> f64 {
    if d <= 0 { 0.0 } else { n as f64 / d as f64 }
}

/// A rate as people read it: `2.35%`.
pub fn percent(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

/// The change from `before` to `now` as a phrase: `+12% vs previous 30 days`.
pub fn change(now: i64, before: i64) -> String {
    if before == 0 {
        if now == 0 {
            "no change".into()
        } else {
            "new (none before)".into()
        }
    } else {
        let pct = (now - before) as f64 * 100.0 / before as f64;
        format!("{:+.0}%", pct)
    }
}

/// The change of a rate in percentage points: `+0.40 pt`.
pub fn rate_change(now: f64, before: f64) -> String {
    format!("{:+.2} pt", (now - before) * 100.0)
}

/// One day of figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub figures: Figures,
}

/// How healthy: `good` ≥ the "good" threshold, `watch` in between, `at_risk` below "at risk".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    Good,
    Watch,
    AtRisk,
}

impl HealthLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Watch => "watch",
            Self::AtRisk => "at_risk",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "good" => Self::Good,
            "watch" => Self::Watch,
            _ => Self::AtRisk,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Good => "Healthy",
            Self::Watch => "Watch",
            Self::AtRisk => "At risk",
        }
    }
}

/// The thresholds the score uses (`[deliverability]` in Leptos.toml).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// A score at or above this is healthy.
    pub good: u8,
    /// Below this a subject is at risk and its owner is mailed once.
    pub at_risk: u8,
    /// Rates are judged only over at least this many messages sent.
    pub min_sent: i64,
    /// Days of figures the score reads.
    pub window_days: i64,
    pub bounce_warn: f64,
    pub bounce_bad: f64,
    pub complaint_warn: f64,
    pub complaint_bad: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            good: 80,
            at_risk: 60,
            min_sent: 20,
            window_days: 7,
            bounce_warn: 0.02,
            bounce_bad: 0.05,
            complaint_warn: 0.001,
            complaint_bad: 0.003,
        }
    }
}

/// One DNS record the score reads: its purpose (`mx`, `spf`, `dkim`, `dmarc`, `tracking`) and
/// whether the last check found it right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordState {
    pub purpose: String,
    pub ok: bool,
    pub checked: bool,
}

/// Everything a score is made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreInput {
    pub records: Vec<RecordState>,
    /// The domain is not active (failed, suspended, still being set up).
    pub domain_inactive: Option<String>,
    pub figures: Figures,
    /// Blocklists the domain is on (their names).
    pub domain_listings: Vec<String>,
    /// Blocklists one of the relay's sending IPs is on (`"203.0.113.7 on Spamhaus ZEN"`).
    pub ip_listings: Vec<String>,
    /// For an inbox still warming up: (day, ramp length in days, today's allowance).
    pub warmup: Option<(i32, i32, i32)>,
}

/// One reason, in plain words, and how many points it took (0 for the good news).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub points: i32,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub score: u8,
    pub level: HealthLevel,
    pub reasons: Vec<Reason>,
}

fn record_points(purpose: &str) -> i32 {
    match purpose {
        "dkim" => 25,
        "spf" => 20,
        "mx" | "dmarc" => 10,
        _ => 5,
    }
}

fn record_name(purpose: &str) -> String {
    match purpose {
        "tracking" => "tracking CNAME".into(),
        p => p.to_ascii_uppercase(),
    }
}

/// The score (0–100) and its reasons. Points come off for broken DNS records, a bounce or
/// complaint rate above its thresholds (judged only over `min_sent` messages), each
/// blocklist listing, and a warm-up still under way; each reason says what to do.
pub fn score(input: &ScoreInput, t: &Thresholds) -> Score {
    let mut reasons = Vec::new();
    let mut take = |points: i32, text: String| reasons.push(Reason { points, text });

    if let Some(why) = &input.domain_inactive {
        take(
            30,
            format!("The domain is not active ({why}): it cannot send."),
        );
    }
    let broken: Vec<&RecordState> = input
        .records
        .iter()
        .filter(|r| r.checked && !r.ok)
        .collect();
    for r in &broken {
        let name = record_name(&r.purpose);
        take(
            record_points(&r.purpose),
            format!(
                "The {name} record is missing or wrong: fix it from the domain page (Repair sets it for you)."
            ),
        );
    }
    if broken.is_empty() && input.records.iter().any(|r| r.checked) {
        take(
            0,
            "Every DNS record (MX, SPF, DKIM, DMARC) checks out.".into(),
        );
    }

    let f = &input.figures;
    let days = t.window_days;
    if f.sent() < t.min_sent {
        take(
            0,
            format!(
                "{} sent in the last {days} days: too few to judge the bounce and complaint rates (at least {}).",
                f.sent(),
                t.min_sent
            ),
        );
    } else {
        let b = f.bounce_rate();
        if b >= t.bounce_bad {
            take(
                35,
                format!(
                    "Bounce rate {} over {days} days is above {}: stop sending to unverified lists and clean this one before you go on.",
                    percent(b),
                    percent(t.bounce_bad)
                ),
            );
        } else if b >= t.bounce_warn {
            take(
                15,
                format!(
                    "Bounce rate {} over {days} days is above {}: verify your list before the next campaign.",
                    percent(b),
                    percent(t.bounce_warn)
                ),
            );
        } else {
            take(
                0,
                format!("Bounce rate {} over {days} days is healthy.", percent(b)),
            );
        }
        let c = f.complaint_rate();
        if c >= t.complaint_bad {
            take(
                40,
                format!(
                    "Spam complaint rate {} over {days} days is above {}: pause this sender, and make your targeting and opt-out clearer.",
                    percent(c),
                    percent(t.complaint_bad)
                ),
            );
        } else if c >= t.complaint_warn {
            take(
                20,
                format!(
                    "Spam complaint rate {} over {days} days is above {}: send to fewer, better-matched people and make opting out easy.",
                    percent(c),
                    percent(t.complaint_warn)
                ),
            );
        } else {
            take(
                0,
                format!(
                    "Spam complaint rate {} over {days} days is healthy.",
                    percent(c)
                ),
            );
        }
    }

    for list in &input.domain_listings {
        take(
            40,
            format!(
                "The domain is listed on {list}: pause sending from it, find the cause (a purchased list, a spam trap), then ask the list for removal."
            ),
        );
    }
    for listing in &input.ip_listings {
        take(
            20,
            format!(
                "The relay's sending address {listing}: we are on it; mail may land in spam until it is delisted."
            ),
        );
    }
    if input.domain_listings.is_empty() && input.ip_listings.is_empty() {
        take(0, "Not on any blocklist we check.".into());
    }

    if let Some((day, ramp, allowance)) = input.warmup
        && day < ramp
    {
        take(
            5,
            format!(
                "Still warming up: day {day} of {ramp}, up to {allowance} messages today. Keep volumes low until it ends."
            ),
        );
    }

    let lost: i32 = reasons.iter().map(|r| r.points).sum();
    let score = (100 - lost).clamp(0, 100) as u8;
    let level = if score >= t.good {
        HealthLevel::Good
    } else if score >= t.at_risk {
        HealthLevel::Watch
    } else {
        HealthLevel::AtRisk
    };
    // The worst first.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.points));
    Score {
        score,
        level,
        reasons,
    }
}

/// An IPv4 address or prefix, `127.0.1.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    net: u32,
    len: u8,
}

impl Prefix {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.trim().split_once('/') {
            Some((a, l)) => (
                a,
                l.parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| format!("{s}: the prefix length must be 0 to 32"))?,
            ),
            None => (s.trim(), 32),
        };
        let ip: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s}: not an IPv4 address or prefix"))?;
        let mask = Self::mask(len);
        Ok(Self {
            net: u32::from(ip) & mask,
            len,
        })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 { 0 } else { u32::MAX << (32 - len) }
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask(self.len) == self.net
    }
}

/// A domain's or inbox's score as a list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectHealth {
    pub id: String,
    pub name: String,
    pub score: u8,
    pub level: HealthLevel,
    pub sent: i64,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
}

/// A blocklist listing as the pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingView {
    /// The listed domain name or IP address.
    pub subject: String,
    pub list_name: String,
    pub zone: String,
    /// The list's answer (e.g. `127.0.1.2`).
    pub answer: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub since: String,
}

/// The last blocklist check of a domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistStatus {
    /// `unchecked`, `clean`, `listed` or `unknown`.
    pub status: String,
    pub checked: Option<String>,
    /// Why the result is unknown (a list refused or was over quota), in plain words.
    pub note: Option<String>,
}

impl BlocklistStatus {
    pub fn label(&self) -> &'static str {
        match self.status.as_str() {
            "clean" => "Not listed",
            "listed" => "Listed",
            "unknown" => "Could not be checked",
            _ => "Not checked yet",
        }
    }
}

/// What a deliverability page is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Workspace,
    Domain {
        id: String,
        name: String,
    },
    Inbox {
        id: String,
        address: String,
        domain_id: String,
        domain_name: String,
    },
}

/// One deliverability page: the workspace's, a domain's or an inbox's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliverabilityView {
    pub subject: Subject,
    pub title: String,
    pub days: u32,
    /// One entry per day of the period, oldest first, zero-filled.
    pub series: Vec<Day>,
    pub totals: Figures,
    /// The same span just before.
    pub previous: Figures,
    /// Records in the period the sandbox relay made up (sample data), if any.
    pub sandbox_records: i64,
    /// The domain's or inbox's score (none for the workspace).
    pub health: Option<Score>,
    /// When the score was computed (`YYYY-MM-DD HH:MM UTC`).
    pub health_computed: Option<String>,
    /// Workspace: each domain's score; domain: its inboxes' scores, worst first (at most 20).
    pub children: Vec<SubjectHealth>,
    /// Workspace: the worst inboxes.
    pub worst_inboxes: Vec<SubjectHealth>,
    /// Open listings of the subject's domains and of the relay's sending IPs.
    pub listings: Vec<ListingView>,
    /// Domain page: the last blocklist check.
    pub blocklist: Option<BlocklistStatus>,
    pub can_check: bool,
    pub tenant_name: String,
}

/// The dashboard's deliverability box.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardDeliverability {
    /// Messages sent this calendar month (UTC).
    pub sent_this_month: i64,
    /// What the plan allows a month.
    pub plan_allowance: i64,
    pub worst_inboxes: Vec<SubjectHealth>,
    pub sandbox: bool,
}

/// Staff's view: tenants ranked by complaint and bounce rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantRate {
    pub tenant_id: String,
    pub tenant_name: String,
    pub figures: Figures,
    pub suspended: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffDeliverability {
    pub last_24h: Vec<TenantRate>,
    pub last_7d: Vec<TenantRate>,
    pub listings: Vec<ListingView>,
    /// The relay IPs checked and how.
    pub ips: Vec<(String, BlocklistStatus)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(broken: &[&str]) -> Vec<RecordState> {
        ["mx", "spf", "dkim", "dmarc"]
            .iter()
            .map(|p| RecordState {
                purpose: p.to_string(),
                ok: !broken.contains(p),
                checked: true,
            })
            .collect()
    }

    fn figures(delivered: i64, hard: i64, complaints: i64) -> Figures {
        Figures {
            delivered,
            hard_bounces: hard,
            soft_bounces: 0,
            complaints,
        }
    }

    #[test]
    fn a_clean_sender_scores_100_and_says_why() {
        let s = score(
            &ScoreInput {
                records: records(&[]),
                figures: figures(1000, 5, 0),
                ..Default::default()
            },
            &Thresholds::default(),
        );
        assert_eq!(s.score, 100);
        assert_eq!(s.level, HealthLevel::Good);
        assert!(
            s.reasons
                .iter()
                .any(|r| r.text.contains("Bounce rate 0.50%"))
        );
        assert!(s.reasons.iter().all(|r| r.points == 0));
    }

    #[test]
    fn bounces_complaints_dns_and_listings_each_take_points_with_a_reason() {
        let t = Thresholds::default();
        let s = score(
            &ScoreInput {
                records: records(&["dkim"]),
                figures: figures(940, 60, 4),
                domain_listings: vec!["Spamhaus DBL".into()],
                ..Default::default()
            },
            &t,
        );
        // DKIM 25 + bounce 6% ≥ 5% 35 + complaints 4/940 = 0.43% ≥ 0.3% 40 + listing 40.
        assert_eq!(s.score, 0);
        assert_eq!(s.level, HealthLevel::AtRisk);
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        assert!(texts.iter().any(|t| t.contains("DKIM record")), "{texts:?}");
        assert!(
            texts.iter().any(|t| t.contains("Bounce rate 6.00%")),
            "{texts:?}"
        );
        assert!(
            texts.iter().any(|t| t.contains("Spamhaus DBL")),
            "{texts:?}"
        );
        assert_eq!(s.reasons[0].points, 40, "the worst reason comes first");
    }

    #[test]
    fn rates_are_not_judged_on_too_few_messages() {
        let s = score(
            &ScoreInput {
                records: records(&[]),
                figures: figures(5, 5, 1),
                ..Default::default()
            },
            &Thresholds::default(),
        );
        assert_eq!(s.score, 100);
        assert!(s.reasons.iter().any(|r| r.text.contains("too few")));
    }

    #[test]
    fn thresholds_are_inclusive_and_come_from_settings() {
        let t = Thresholds {
            bounce_warn: 0.1,
            bounce_bad: 0.2,
            ..Thresholds::default()
        };
        let at = |hard| {
            score(
                &ScoreInput {
                    figures: figures(100 - hard, hard, 0),
                    ..Default::default()
                },
                &t,
            )
            .score
        };
        assert_eq!(at(9), 100);
        assert_eq!(at(10), 85);
        assert_eq!(at(20), 65);
    }

    #[test]
    fn warm_up_takes_a_little_until_the_ramp_ends() {
        let t = Thresholds::default();
        let with = |day| {
            score(
                &ScoreInput {
                    warmup: Some((day, 10, 15)),
                    ..Default::default()
                },
                &t,
            )
        };
        assert_eq!(with(3).score, 95);
        assert!(with(3).reasons[0].text.contains("day 3 of 10"));
        assert_eq!(with(10).score, 100);
    }

    #[test]
    fn periods_other_than_7_30_90_fall_back_to_30() {
        assert_eq!(period(Some("7")), 7);
        assert_eq!(period(Some("90")), 90);
        assert_eq!(period(Some("1000000")), 30);
        assert_eq!(period(Some("-1")), 30);
        assert_eq!(period(None), 30);
    }

    #[test]
    fn rates_and_changes_read_as_people_write_them() {
        let f = figures(95, 5, 1);
        assert_eq!(percent(f.bounce_rate()), "5.00%");
        assert_eq!(change(120, 100), "+20%");
        assert_eq!(change(0, 0), "no change");
        assert_eq!(rate_change(0.05, 0.01), "+4.00 pt");
        assert_eq!(Figures::default().bounce_rate(), 0.0);
    }
}
