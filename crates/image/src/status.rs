//! An image's status and the moves between them, in one place (Glance's lifecycle).
//!
//! ```text
//! queued ──upload──► saving ──vetted──► active ◄──reactivate── deactivated
//!   │  ▲               │ cut: killed        └──deactivate──────────┘
//!   │  └──refused──────┘
//!   └──stage──► uploading ──import──► importing ──stored──► active
//!                  └──refused/failed: queued ◄──┘
//! ```

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Saving,
    Uploading,
    Importing,
    Active,
    Killed,
    Deactivated,
}

/// Every status Glance's schema names (ours and the two Glance has that we never enter).
pub const SCHEMA_STATUSES: &[&str] = &[
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Saving => "saving",
            Status::Uploading => "uploading",
            Status::Importing => "importing",
            Status::Active => "active",
            Status::Killed => "killed",
            Status::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Queued,
            Status::Saving,
            Status::Uploading,
            Status::Importing,
            Status::Active,
            Status::Killed,
            Status::Deactivated,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether an image may go from `self` to `to`.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Queued, Saving)
                | (Saving, Active)
                | (Saving, Queued)
                | (Saving, Killed)
                | (Queued, Uploading)
                | (Uploading, Queued)
                | (Uploading, Importing)
                | (Importing, Active)
                | (Importing, Queued)
                | (Active, Deactivated)
                | (Deactivated, Active)
        )
    }

    /// Statuses that change by themselves (data arriving, an import running).
    pub fn is_busy(self) -> bool {
        matches!(self, Status::Saving | Status::Uploading | Status::Importing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_glances_lifecycle() {
        assert!(Status::Queued.can_become(Status::Saving));
        assert!(!Status::Active.can_become(Status::Queued));
        assert!(!Status::Killed.can_become(Status::Active));
        assert!(!Status::Queued.can_become(Status::Active));
        for s in SCHEMA_STATUSES {
            if let Some(x) = Status::parse(s) {
                assert_eq!(x.as_str(), *s);
            }
        }
    }
}
