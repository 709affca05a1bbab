//! Choosing root items and closing the set over references.
//!
//! In two phases, so that each item's reason is the same whatever order the
//! work is done in: first down (every child of a chosen item, recursively,
//! over hasMany/hasOne), then up (every parent an included item refers to,
//! recursively). Parents brought in by the second phase do not bring their
//! other children: that would pull in most of a connected database. A
//! reference whose parent is not in the source at all cannot be completed;
//! it is counted, never invented.

use super::index::{KeyIndex, RefIndex};
use super::relations::Edge;

/// How many root items to choose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    /// Each root item whose seeded score falls in this fraction.
    Fraction(f64),
    /// This many items of each root table: those with the lowest scores.
    Items(u64),
}

/// Why an item is in the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Root,
    Child,
    Parent,
}

/// A reference between two indexed tables.
pub struct RefNode {
    pub edge: Edge,
    pub child: usize,
    pub parent: usize,
    pub index: RefIndex,
}

/// The result: per table and row the reason it is included (None: left
/// out), and per reference how many dangle.
pub struct Selection {
    pub reasons: Vec<Vec<Option<Reason>>>,
    /// Per reference, items of the source whose reference resolves to nothing.
    pub dangling_in_source: Vec<u64>,
    /// Per reference, such items among those included.
    pub dangling_in_subset: Vec<u64>,
}

impl Selection {
    pub fn count(&self, table: usize, reason: Reason) -> u64 {
        self.reasons[table].iter().filter(|r| **r == Some(reason)).count() as u64
    }
}

/// The rows of a root table that `choice` picks.
pub fn choose(keys: &KeyIndex, choice: Choice) -> Vec<u32> {
    match choice {
        Choice::Fraction(f) if f >= 1.0 => (0..keys.scores.len() as u32).collect(),
        Choice::Fraction(f) => {
            // `as` saturates: fractions near 1 give u64::MAX.
            let threshold = (f * 18_446_744_073_709_551_616.0) as u64;
            (0..keys.scores.len() as u32).filter(|&r| keys.scores[r as usize] < threshold).collect()
        }
        Choice::Items(n) => {
            let mut rows: Vec<u32> = (0..keys.scores.len() as u32).collect();
            rows.sort_unstable_by_key(|&r| (keys.scores[r as usize], keys.keys[r as usize]));
            rows.truncate(n.min(rows.len() as u64) as usize);
            rows.sort_unstable();
            rows
        }
    }
}

/// Chooses the roots of each table in `roots` and closes the set.
pub fn select(tables: &[KeyIndex], refs: &[RefNode], roots: &[usize], choice: Choice) -> Selection {
    let mut reasons: Vec<Vec<Option<Reason>>> = tables.iter().map(|t| vec![None; t.keys.len()]).collect();
    let mut queue: Vec<(usize, u32)> = Vec::new();
    for &t in roots {
        for row in choose(&tables[t], choice) {
            reasons[t][row as usize] = Some(Reason::Root);
            queue.push((t, row));
        }
    }
    close_down(tables, refs, &mut reasons, queue);
    let dangling_in_subset = close_up(tables, refs, &mut reasons);
    let dangling_in_source =
        refs.iter().map(|r| r.index.fks.iter().flatten().filter(|fk| tables[r.parent].row_of(**fk).is_none()).count() as u64).collect();
    Selection { reasons, dangling_in_source, dangling_in_subset }
}

/// Adds every child of the queued items, recursively.
fn close_down(tables: &[KeyIndex], refs: &[RefNode], reasons: &mut [Vec<Option<Reason>>], mut queue: Vec<(usize, u32)>) {
    while let Some((t, row)) = queue.pop() {
        let key = tables[t].keys[row as usize];
        for r in refs.iter().filter(|r| r.edge.down && r.parent == t) {
            for c in r.index.children_of(key) {
                let slot = &mut reasons[r.child][c as usize];
                if slot.is_none() {
                    *slot = Some(Reason::Child);
                    queue.push((r.child, c));
                }
            }
        }
    }
}

/// Adds every parent an included item refers to, recursively; returns per
/// reference the included items whose parent is not in the source.
fn close_up(tables: &[KeyIndex], refs: &[RefNode], reasons: &mut [Vec<Option<Reason>>]) -> Vec<u64> {
    let mut dangling = vec![0u64; refs.len()];
    let mut queue: Vec<(usize, u32)> = Vec::new();
    for (t, rows) in reasons.iter().enumerate() {
        queue.extend(rows.iter().enumerate().filter(|(_, r)| r.is_some()).map(|(row, _)| (t, row as u32)));
    }
    while let Some((t, row)) = queue.pop() {
        for (i, r) in refs.iter().enumerate().filter(|(_, r)| r.child == t) {
            let Some(fk) = r.index.fks[row as usize] else { continue };
            match tables[r.parent].row_of(fk) {
                None => dangling[i] += 1,
                Some(p) => {
                    let slot = &mut reasons[r.parent][p as usize];
                    if slot.is_none() {
                        *slot = Some(Reason::Parent);
                        queue.push((r.parent, p));
                    }
                }
            }
        }
    }
    dangling
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(child: &str, parent: &str, down: bool) -> Edge {
        Edge { child: child.into(), fk: vec!["fk".into()], parent: parent.into(), parent_key: vec!["id".into()], down }
    }

    /// Company 0..4 (keys 100+), Contact 0..5 (keys 200+) referring to
    /// companies, Note 0..3 (keys 300+) referring to contacts.
    fn graph(company_scores: Vec<u64>, note_scores: Vec<u64>) -> (Vec<KeyIndex>, Vec<RefNode>) {
        let tables = vec![
            KeyIndex::new((100..104).collect(), company_scores),
            KeyIndex::new((200..205).collect(), Vec::new()),
            KeyIndex::new((300..303).collect(), note_scores),
        ];
        let refs = vec![
            // contacts 0,1 -> company 0; 2 -> company 1; 3 -> nowhere (dangling); 4 -> none
            RefNode {
                edge: edge("Contact", "Company", true),
                child: 1,
                parent: 0,
                index: RefIndex::new(vec![Some(100), Some(100), Some(101), Some(999), None]),
            },
            // note 0 -> contact 0; note 1 -> contact 3; note 2 -> contact 2
            RefNode {
                edge: edge("Note", "Contact", true),
                child: 2,
                parent: 1,
                index: RefIndex::new(vec![Some(200), Some(203), Some(202)]),
            },
        ];
        (tables, refs)
    }

    #[test]
    fn children_come_down_recursively_and_parents_up() {
        let (tables, refs) = graph(vec![0, u64::MAX, u64::MAX, u64::MAX], Vec::new());
        let s = select(&tables, &refs, &[0], Choice::Fraction(0.5));
        use Reason::*;
        assert_eq!(s.reasons[0], vec![Some(Root), None, None, None]);
        assert_eq!(s.reasons[1], vec![Some(Child), Some(Child), None, None, None]);
        assert_eq!(s.reasons[2], vec![Some(Child), None, None]);
        assert_eq!(s.dangling_in_source, vec![1, 0]);
        assert_eq!(s.dangling_in_subset, vec![0, 0]);
    }

    #[test]
    fn a_chosen_child_brings_its_parents_but_not_their_other_children() {
        // Note is also a root table here: choose note 2, whose contact 2 belongs to company 1
        let (tables, refs) = graph(vec![u64::MAX; 4], vec![5, 5, 0]);
        let s = select(&tables, &refs, &[0, 2], Choice::Items(1));
        use Reason::*;
        // Items(1) also chooses company 0 (the lowest score, then key), with its contacts and their note
        assert_eq!(s.reasons[2], vec![Some(Child), None, Some(Root)]);
        assert_eq!(s.reasons[1], vec![Some(Child), Some(Child), Some(Parent), None, None]);
        assert_eq!(s.reasons[0], vec![Some(Root), Some(Parent), None, None]);
        assert_eq!((s.count(0, Root), s.count(1, Child), s.count(1, Parent)), (1, 2, 1));
    }

    #[test]
    fn dangling_references_of_included_items_are_counted() {
        let (tables, refs) = graph(vec![u64::MAX; 4], vec![0, 0, 0]);
        let s = select(&tables, &refs, &[2], Choice::Fraction(1.0));
        // note 1 brings contact 3, whose company is not in the source
        assert_eq!(s.reasons[1][3], Some(Reason::Parent));
        assert_eq!(s.dangling_in_subset, vec![1, 0]);
        assert_eq!(s.count(0, Reason::Parent), 2);
    }

    #[test]
    fn fractions_and_item_counts_follow_scores() {
        let k = KeyIndex::new(vec![1, 2, 3, 4], vec![u64::MAX / 4, u64::MAX / 2, 10, u64::MAX]);
        assert_eq!(choose(&k, Choice::Fraction(0.3)), vec![0, 2]);
        assert_eq!(choose(&k, Choice::Fraction(1.0)), vec![0, 1, 2, 3]);
        assert_eq!(choose(&k, Choice::Fraction(0.0)), Vec::<u32>::new());
        assert_eq!(choose(&k, Choice::Items(2)), vec![0, 2]);
        assert_eq!(choose(&k, Choice::Items(9)), vec![0, 1, 2, 3]);
    }
}
