//! xCal (RFC 6321) output (being implemented).

use super::{Filter, Snapshot};

/// Renders the occurrences matching `filter`.
pub fn render(_snap: &Snapshot, _filter: &Filter) -> String {
    String::new()
}
