//! Items to the AWS SDK's attribute values and back, exactly: numbers stay
//! their text, sets stay sets, binary stays bytes.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as Av;

use crate::item::{AttrValue, Item, Number};

pub fn to_sdk(v: &AttrValue) -> Av {
    match v {
        AttrValue::S(s) => Av::S(s.clone()),
        AttrValue::N(n) => Av::N(n.to_string()),
        AttrValue::B(b) => Av::B(Blob::new(b.clone())),
        AttrValue::Bool(b) => Av::Bool(*b),
        AttrValue::Null => Av::Null(true),
        AttrValue::M(m) => Av::M(item_to_sdk(m)),
        AttrValue::L(l) => Av::L(l.iter().map(to_sdk).collect()),
        AttrValue::Ss(s) => Av::Ss(s.clone()),
        AttrValue::Ns(n) => Av::Ns(n.iter().map(Number::to_string).collect()),
        AttrValue::Bs(b) => Av::Bs(b.iter().map(|x| Blob::new(x.clone())).collect()),
    }
}

pub fn item_to_sdk(item: &Item) -> HashMap<String, Av> {
    item.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()
}

pub fn from_sdk(v: &Av) -> Result<AttrValue, String> {
    let num = |s: &str| Number::parse(s).map_err(|e| format!("{s:?}: {e}"));
    Ok(match v {
        Av::S(s) => AttrValue::S(s.clone()),
        Av::N(n) => AttrValue::N(num(n)?),
        Av::B(b) => AttrValue::B(b.as_ref().to_vec()),
        Av::Bool(b) => AttrValue::Bool(*b),
        Av::Null(_) => AttrValue::Null,
        Av::M(m) => AttrValue::M(item_from_sdk(m)?),
        Av::L(l) => AttrValue::L(l.iter().map(from_sdk).collect::<Result<_, _>>()?),
        Av::Ss(s) => AttrValue::Ss(s.clone()),
        Av::Ns(n) => AttrValue::Ns(n.iter().map(|x| num(x)).collect::<Result<_, _>>()?),
        Av::Bs(b) => AttrValue::Bs(b.iter().map(|x| x.as_ref().to_vec()).collect()),
        other => return Err(format!("an attribute value of a type ddbsnap does not know: {other:?}")),
    })
}

pub fn item_from_sdk(m: &HashMap<String, Av>) -> Result<Item, String> {
    m.iter().map(|(k, v)| Ok((k.clone(), from_sdk(v)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{ddbjson, same_item};

    #[test]
    fn every_type_round_trips() {
        let item = ddbjson::item_from_str(
            r#"{"s":{"S":""},"n":{"N":"12345678901234567890123456789012345678"},"b":{"B":"AAE="},"t":{"BOOL":true},
                "z":{"NULL":true},"m":{"M":{"x":{"L":[{"N":"-1E-130"},{"SS":["a","b"]}]}}},"ns":{"NS":["1","2.5"]},"bs":{"BS":["AA=="]}}"#,
        )
        .unwrap();
        let back = item_from_sdk(&item_to_sdk(&item)).unwrap();
        assert!(same_item(&item, &back), "{item:?}\n{back:?}");
    }
}
