//! jCal (RFC 7265) output (being implemented).

use super::{Filter, Snapshot};

/// Renders the occurrences matching `filter`.
pub fn render(_snap: &Snapshot, _filter: &Filter) -> String {
    String::new()
}
