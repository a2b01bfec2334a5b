//! The conflict policy of two-way sync with another calendar or task list (issue 18), as a
//! pure function of the fields each side last agreed on and what each side holds now.
//!
//! Fields are compared as normalised texts (the same normalisation on both sides): a side
//! changed a field when it differs from that side's base. Per field:
//! - neither side changed it, or only the other side did → the other side's value;
//! - both changed it to the same value → no conflict;
//! - both changed it differently → a conflict: events organised by someone else follow
//!   the remote side (the organiser's copy wins); otherwise the later change wins.
//!
//! Fields one side changed and the other did not are merged, so an edit of the title in
//! one place and of the time in the other both survive.

use std::collections::BTreeMap;

/// Field name → normalised value. A missing field reads as empty.
pub type Fields = BTreeMap<String, String>;

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Local,
    Remote,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Local => "calento",
            Side::Remote => "remote",
        }
    }
}

/// Why a conflict went the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The event is organised by someone else: their copy is the truth.
    Organiser,
    /// The side changed last wins.
    Later,
}

/// Both sides changed `field` to different values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub field: String,
    pub local: String,
    pub remote: String,
    pub kept: Side,
    pub reason: Reason,
}

/// What the merge decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merge {
    /// Per field, the side whose value the merged item takes.
    pub take: BTreeMap<String, Side>,
    pub conflicts: Vec<Conflict>,
}

impl Merge {
    /// The merged item needs writing on the local side (some field comes from remote and
    /// differs from what local holds).
    pub fn changes_local(&self, local: &Fields, remote: &Fields) -> bool {
        self.take.iter().any(|(f, side)| *side == Side::Remote && get(local, f) != get(remote, f))
    }

    /// The merged item needs writing on the remote side.
    pub fn changes_remote(&self, local: &Fields, remote: &Fields) -> bool {
        self.take.iter().any(|(f, side)| *side == Side::Local && get(local, f) != get(remote, f))
    }

    /// The merged fields.
    pub fn apply(&self, local: &Fields, remote: &Fields) -> Fields {
        self.take
            .iter()
            .map(|(f, side)| {
                let value = match side {
                    Side::Local => get(local, f),
                    Side::Remote => get(remote, f),
                };
                (f.clone(), value.to_owned())
            })
            .collect()
    }
}

fn get<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

/// Where the two sides stand against their bases.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The event is organised by someone other than the person (remote wins conflicts).
    pub organised_elsewhere: bool,
    /// The remote side's last change is later than the local side's.
    pub remote_later: bool,
}

/// Merges field by field (see the module's documentation). Bases are what each side held
/// at the last sync; with no base (never synced) every field a side holds counts as
/// changed by it.
pub fn merge(
    local_base: Option<&Fields>,
    local: &Fields,
    remote_base: Option<&Fields>,
    remote: &Fields,
    context: Context,
) -> Merge {
    let mut names: Vec<&String> = local.keys().chain(remote.keys()).collect();
    names.sort();
    names.dedup();
    let mut merge = Merge::default();
    for name in names {
        let changed = |base: Option<&Fields>, now: &Fields| base.is_none_or(|b| get(b, name) != get(now, name));
        let local_changed = changed(local_base, local);
        let remote_changed = changed(remote_base, remote);
        let (l, r) = (get(local, name), get(remote, name));
        let side = match (local_changed, remote_changed) {
            (true, false) => Side::Local,
            (false, _) => Side::Remote,
            (true, true) if l == r => Side::Remote,
            (true, true) => {
                let (kept, reason) = if context.organised_elsewhere {
                    (Side::Remote, Reason::Organiser)
                } else if context.remote_later {
                    (Side::Remote, Reason::Later)
                } else {
                    (Side::Local, Reason::Later)
                };
                merge.conflicts.push(Conflict {
                    field: name.clone(),
                    local: l.to_owned(),
                    remote: r.to_owned(),
                    kept,
                    reason,
                });
                kept
            }
        };
        merge.take.insert(name.clone(), side);
    }
    merge
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const MINE: Context = Context { organised_elsewhere: false, remote_later: false };

    #[test]
    fn only_one_side_changed_takes_that_side() {
        let base = fields(&[("title", "Lunch"), ("start", "10:00")]);
        let remote = fields(&[("title", "Lunch with Ana"), ("start", "10:00")]);
        let m = merge(Some(&base), &base, Some(&base), &remote, MINE);
        assert_eq!(m.apply(&base, &remote), remote);
        assert!(m.conflicts.is_empty());
        assert!(m.changes_local(&base, &remote));
        assert!(!m.changes_remote(&base, &remote));
        let local = fields(&[("title", "Lunch"), ("start", "11:00")]);
        let m = merge(Some(&base), &local, Some(&base), &base, MINE);
        assert_eq!(m.apply(&local, &base), local);
        assert!(m.changes_remote(&local, &base));
    }

    #[test]
    fn fields_changed_on_different_sides_are_merged() {
        let base = fields(&[("title", "Lunch"), ("start", "10:00"), ("location", "")]);
        let local = fields(&[("title", "Lunch"), ("start", "11:00"), ("location", "")]);
        let remote = fields(&[("title", "Team lunch"), ("start", "10:00"), ("location", "Café")]);
        let m = merge(Some(&base), &local, Some(&base), &remote, MINE);
        assert!(m.conflicts.is_empty());
        assert_eq!(
            m.apply(&local, &remote),
            fields(&[("title", "Team lunch"), ("start", "11:00"), ("location", "Café")])
        );
    }

    #[test]
    fn both_changed_the_same_field_later_wins_unless_organised_elsewhere() {
        let base = fields(&[("title", "Lunch")]);
        let local = fields(&[("title", "Lunch (mine)")]);
        let remote = fields(&[("title", "Lunch (theirs)")]);
        let m = merge(Some(&base), &local, Some(&base), &remote, MINE);
        assert_eq!(m.take["title"], Side::Local);
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].reason, Reason::Later);
        let m = merge(Some(&base), &local, Some(&base), &remote, Context { remote_later: true, ..MINE });
        assert_eq!(m.take["title"], Side::Remote);
        let m = merge(
            Some(&base),
            &local,
            Some(&base),
            &remote,
            Context { organised_elsewhere: true, remote_later: false },
        );
        assert_eq!(m.take["title"], Side::Remote);
        assert_eq!(m.conflicts[0].reason, Reason::Organiser);
    }

    #[test]
    fn the_same_change_on_both_sides_is_no_conflict() {
        let base = fields(&[("title", "Lunch")]);
        let both = fields(&[("title", "Brunch")]);
        let m = merge(Some(&base), &both, Some(&base), &both, MINE);
        assert!(m.conflicts.is_empty());
        assert!(!m.changes_local(&both, &both) && !m.changes_remote(&both, &both));
    }

    #[test]
    fn bases_are_per_side_so_formats_may_differ() {
        // The remote side writes times its own way: only a change against its own base counts.
        let local_base = fields(&[("start", "2027-01-01T10:00:00Z")]);
        let remote_base = fields(&[("start", "2027-01-01T11:00:00+01:00")]);
        let m = merge(Some(&local_base), &local_base, Some(&remote_base), &remote_base, MINE);
        assert!(m.conflicts.is_empty());
        assert_eq!(m.take["start"], Side::Remote);
        assert!(!m.changes_remote(&local_base, &remote_base));
    }

    #[test]
    fn with_no_base_every_differing_field_is_a_conflict() {
        let local = fields(&[("title", "A")]);
        let remote = fields(&[("title", "B")]);
        let m = merge(None, &local, None, &remote, Context { remote_later: true, ..MINE });
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.take["title"], Side::Remote);
    }
}
