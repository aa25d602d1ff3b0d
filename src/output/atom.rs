//! Atom 1.0 feed of upcoming occurrences output (being implemented).

use super::{Filter, Snapshot};

/// Renders the occurrences matching `filter`.
pub fn render(_snap: &Snapshot, _filter: &Filter) -> String {
    String::new()
}
