/// Whose fault a failure is; it decides what happens next. A caller's
/// mistake is answered and never retried; a passing fault of a dependency
/// (the database, the blob store, the network) is retried after a while and
/// never held against the work; a bug is logged with its cause and retried
/// only as often as any failed step is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    Caller,
    Dependency,
    Bug,
}

impl Blame {
    /// Whether the same work may succeed later without anyone changing it.
    pub fn is_retryable(self) -> bool {
        self == Blame::Dependency
    }
}
