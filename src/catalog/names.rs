//! Near names for a table that is not found: `FROM contact` when the table
//! is `Contact` is the commonest first mistake (Amplify models are
//! capitalized, and table names are case-sensitive here).

/// The table DataFusion says it did not find, from its message
/// ("table 'datafusion.public.contact' not found").
pub fn missing_table(message: &str) -> Option<&str> {
    let start = message.find("table '")? + "table '".len();
    let rest = &message[start..];
    let end = rest.find("' not found")?;
    let full = &rest[..end];
    Some(full.rsplit('.').next().unwrap_or(full))
}

/// "; did you mean ..." with the registered names nearest to `missing`, or
/// the list of tables when none is near.
pub fn suggestion(missing: &str, tables: &[String]) -> String {
    if tables.is_empty() {
        return "; no tables are loaded".into();
    }
    let lower = missing.to_lowercase();
    let mut near: Vec<&String> = tables.iter().filter(|t| t.to_lowercase() == lower).collect();
    if near.is_empty() {
        let limit = (missing.chars().count() / 3).clamp(1, 3);
        near = tables.iter().filter(|t| distance(&t.to_lowercase(), &lower) <= limit).collect();
    }
    let quoted = |ts: &[&String]| ts.iter().map(|t| super::quote_ident(t)).collect::<Vec<_>>().join(", ");
    if near.is_empty() {
        let all: Vec<&String> = tables.iter().collect();
        format!("; the tables are: {}", quoted(&all))
    } else {
        format!("; did you mean {}? (table names are case-sensitive: quote them as shown)", quoted(&near))
    }
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_quoted() {
        let tables = vec!["Contact".to_string(), "Order".to_string()];
        assert_eq!(missing_table("Error during planning: table 'datafusion.public.contact' not found"), Some("contact"));
        assert!(suggestion("contact", &tables).contains(r#"did you mean "Contact"?"#));
        assert!(suggestion("Contcat", &tables).contains(r#""Contact""#));
        assert!(suggestion("Invoice", &tables).contains(r#"the tables are: "Contact", "Order""#));
        assert_eq!(missing_table("No field named nme"), None);
    }
}
