//! DynamoDB's item size, as it bills and limits writes.
//!
//! Follows the published rules: names and strings count their UTF-8 bytes,
//! binary its bytes, numbers about one byte per two significant digits plus
//! one, BOOL and NULL one byte, and each map or list three bytes plus one per
//! element. Used for size distributions now and write-unit estimates later.

use super::{AttrValue, Item, Number};

/// Size in bytes of a whole item (attribute names included).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

pub fn value_size(v: &AttrValue) -> usize {
    match v {
        AttrValue::S(s) => s.len(),
        AttrValue::N(n) => number_size(n),
        AttrValue::B(b) => b.len(),
        AttrValue::Bool(_) | AttrValue::Null => 1,
        AttrValue::M(m) => 3 + m.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        AttrValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttrValue::Ss(s) => s.iter().map(String::len).sum(),
        AttrValue::Ns(n) => n.iter().map(number_size).sum(),
        AttrValue::Bs(b) => b.iter().map(Vec::len).sum(),
    }
}

fn number_size(n: &Number) -> usize {
    n.digits().len().div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_published_rules() {
        let mut item = Item::new();
        item.insert("id".into(), AttrValue::S("abc".into()));
        item.insert("n".into(), AttrValue::N(Number::parse("12345").unwrap()));
        item.insert("ok".into(), AttrValue::Bool(true));
        // id: 2+3, n: 1+(3+1), ok: 2+1
        assert_eq!(item_size(&item), 5 + 5 + 3);
        let l = AttrValue::L(vec![AttrValue::Null, AttrValue::S("x".into())]);
        assert_eq!(value_size(&l), 3 + 2 + 2);
    }
}
