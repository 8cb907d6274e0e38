//! One DNS record as the providers write it and the checker judges it. Here, below the
//! providers, so the checker and the authority never import `providers`.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Cname,
    Mx,
    Txt,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Cname => "CNAME",
            Self::Mx => "MX",
            Self::Txt => "TXT",
        }
    }
}

/// One record. `name` is the full name (`example.com`, `sel._domainkey.example.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// The provider's id; `None` for a record not created yet.
    pub id: Option<String>,
    pub kind: RecordType,
    pub name: String,
    /// For TXT the unquoted text (long values are split into strings by the provider).
    pub content: String,
    /// MX preference.
    pub priority: Option<u16>,
    /// Seconds; 1 means "automatic" on Cloudflare.
    pub ttl: u32,
}
