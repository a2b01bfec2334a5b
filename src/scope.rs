//! What a token may do: read or write access to an area of the API (calendar, bookings,
//! tasks), and `account`: the account itself (its tokens, sessions, apps, audit log, export
//! and deletion), which is never granted unless named and never to an app. Written as
//! space-separated words such as `calendar:read tasks:write`, as OAuth scopes are. Write
//! access to an area includes reading it.

use crate::FieldError;

/// The parts of the API a scope covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Area {
    /// Calendars, events, occurrences, free/busy, feeds, imports and exports.
    Calendar,
    /// Availability schedules, booking links and bookings.
    Bookings,
    /// Tasks, zones, focus sessions, energy, plans and statistics.
    Tasks,
}

impl Area {
    pub const ALL: [Area; 3] = [Area::Calendar, Area::Bookings, Area::Tasks];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Calendar => "calendar",
            Area::Bookings => "bookings",
            Area::Tasks => "tasks",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// A set of scopes: for each area, nothing, read, or read and write; and the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Scopes {
    bits: u8,
}

/// At most this many characters of scope text are read (there are seven scopes).
const MAX_TEXT: usize = 512;

impl Scopes {
    fn bit(area: Area, access: Access) -> u8 {
        let base = match area {
            Area::Calendar => 0,
            Area::Bookings => 2,
            Area::Tasks => 4,
        };
        1 << (base + usize::from(access == Access::Write))
    }

    /// The account bit (beside the six area bits).
    const ACCOUNT: u8 = 1 << 6;

    /// Every area scope (not `account`): a personal token's or an app's default.
    pub fn all() -> Self {
        Self { bits: 0b11_1111 }
    }

    /// Every scope with `account`: what a browser session may do.
    pub fn everything() -> Self {
        Self { bits: 0b111_1111 }
    }

    pub fn with_account(mut self) -> Self {
        self.bits |= Self::ACCOUNT;
        self
    }

    pub fn without_account(mut self) -> Self {
        self.bits &= !Self::ACCOUNT;
        self
    }

    /// Whether these scopes reach the account itself.
    pub fn has_account(self) -> bool {
        self.bits & Self::ACCOUNT != 0
    }

    pub fn none() -> Self {
        Self::default()
    }

    pub fn with(mut self, area: Area, access: Access) -> Self {
        self.bits |= Self::bit(area, access);
        self
    }

    /// Whether this set allows `access` to `area` (write includes read).
    pub fn allows(self, area: Area, access: Access) -> bool {
        self.bits & Self::bit(area, access) != 0
            || (access == Access::Read && self.bits & Self::bit(area, Access::Write) != 0)
    }

    /// Whether every scope of `other` is allowed by this set.
    pub fn covers(self, other: Scopes) -> bool {
        other.list().into_iter().all(|(area, access)| self.allows(area, access))
            && (!other.has_account() || self.has_account())
    }

    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The scopes present, in a fixed order.
    pub fn list(self) -> Vec<(Area, Access)> {
        let mut out = Vec::new();
        for area in Area::ALL {
            for access in [Access::Read, Access::Write] {
                if self.bits & Self::bit(area, access) != 0 {
                    out.push((area, access));
                }
            }
        }
        out
    }

    /// The canonical text: `calendar:read calendar:write … account`.
    pub fn text(self) -> String {
        let mut words: Vec<String> =
            self.list().into_iter().map(|(area, access)| format!("{}:{}", area.as_str(), access.as_str())).collect();
        if self.has_account() {
            words.push("account".to_owned());
        }
        words.join(" ")
    }

    /// Reads space- (or comma-) separated scopes. `calendar` alone means `calendar:write`
    /// (and so read); `*` or `all` means every area scope; `account` must be named. Unknown
    /// words are an error naming them.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let bad = |message: String| FieldError::new("scopes", message);
        if text.len() > MAX_TEXT {
            return Err(bad("Scopes are at most 512 characters.".to_owned()));
        }
        let mut scopes = Scopes::none();
        let mut unknown = Vec::new();
        for word in text.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
            let lower = word.to_ascii_lowercase();
            if lower == "*" || lower == "all" {
                scopes.bits |= Scopes::all().bits;
                continue;
            }
            if lower == "account" {
                scopes = scopes.with_account();
                continue;
            }
            let (area, access) = lower.split_once(':').unwrap_or((lower.as_str(), "write"));
            let area = Area::ALL.into_iter().find(|a| a.as_str() == area);
            let access = match access {
                "read" => Some(Access::Read),
                "write" => Some(Access::Write),
                _ => None,
            };
            match (area, access) {
                (Some(area), Some(access)) => scopes = scopes.with(area, access),
                _ => unknown.push(word.chars().take(40).collect::<String>()),
            }
        }
        if !unknown.is_empty() {
            return Err(bad(format!(
                "Unknown scope {}. Use calendar, bookings or tasks, each with :read or :write, or account.",
                unknown.iter().map(|w| format!("\u{201c}{w}\u{201d}")).collect::<Vec<_>>().join(", ")
            )));
        }
        if scopes.is_empty() {
            return Err(bad("Name at least one scope, such as calendar:read.".to_owned()));
        }
        Ok(scopes)
    }

    /// Reads scopes stored by us; anything unreadable grants nothing.
    pub fn from_stored(text: &str) -> Self {
        Self::parse(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_but_not_the_other_way() {
        let s = Scopes::parse("calendar:write tasks:read").expect("parses");
        assert!(s.allows(Area::Calendar, Access::Read));
        assert!(s.allows(Area::Calendar, Access::Write));
        assert!(s.allows(Area::Tasks, Access::Read));
        assert!(!s.allows(Area::Tasks, Access::Write));
        assert!(!s.allows(Area::Bookings, Access::Read));
    }

    #[test]
    fn text_round_trips_in_a_fixed_order() {
        let s = Scopes::parse("tasks:read,  calendar:read\tbookings").expect("parses");
        assert_eq!(s.text(), "calendar:read bookings:write tasks:read");
        assert_eq!(Scopes::parse(&s.text()), Ok(s));
        assert_eq!(
            Scopes::all().text(),
            "calendar:read calendar:write bookings:read bookings:write tasks:read tasks:write"
        );
        assert_eq!(Scopes::parse("*"), Ok(Scopes::all()));
    }

    #[test]
    fn unknown_or_empty_scopes_are_refused_with_their_names() {
        let error = Scopes::parse("calendar:read admin:write").expect_err("unknown");
        assert_eq!(error.field, "scopes");
        assert!(error.message.contains("admin:write"), "{}", error.message);
        assert!(Scopes::parse("calendar:delete").is_err());
        assert!(Scopes::parse("  ").is_err());
        assert!(Scopes::parse(&"calendar:read ".repeat(100)).is_err());
        assert_eq!(Scopes::from_stored("garbage"), Scopes::none());
    }

    #[test]
    fn the_account_scope_is_named_never_implied() {
        assert!(!Scopes::all().has_account());
        assert!(!Scopes::parse("all").expect("parses").has_account());
        let with = Scopes::parse("calendar:read account").expect("parses");
        assert!(with.has_account());
        assert_eq!(with.text(), "calendar:read account");
        assert_eq!(Scopes::parse(&with.text()), Ok(with));
        assert!(Scopes::everything().covers(with));
        assert!(!Scopes::all().covers(with), "area scopes do not reach the account");
        assert!(!with.without_account().has_account());
    }

    #[test]
    fn covers_compares_sets() {
        let all = Scopes::all();
        let read = Scopes::parse("calendar:read").expect("parses");
        assert!(all.covers(read));
        assert!(!read.covers(all));
        assert!(Scopes::parse("calendar").expect("parses").covers(read));
    }
}
