//! Rewrites `ddb_type(col)`, `ddb_missing(col)`, `ddb_attr(col)` and
//! `ddb_text(col)` in the SQL syntax tree.
//!
//! The type of an attribute in an item lives in the `_ddb` struct column, one
//! field per attribute. A scalar function only sees a column's values, not its
//! name, so these two are macros: `ddb_type(t.age)` becomes
//! `get_field(t._ddb, 'age')` before planning, and `ddb_attr(age)` becomes
//! `ddb_attr_value(age, get_field(_ddb, 'age'))`. Everything else passes through.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::quote_ident;
use crate::convert::TYPES_COLUMN;
use crate::error::{Error, Result};

/// Parses SQL text into statements with the ddbsnap macros expanded.
pub fn parse(sql: &str) -> Result<VecDeque<Statement>> {
    let mut statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    for stmt in statements.iter_mut() {
        if let Statement::Statement(inner) = stmt {
            expand(inner.as_mut())?;
        }
    }
    Ok(statements)
}

/// Every plain name the SQL uses as a column (`x`, the `x` of `t.x`, and the
/// arguments of the `ddb_*` macros), before expansion. Every part of a
/// compound name counts: `profile.bio` is the field `bio` of the column
/// `profile` as often as the column `bio` of the table `profile`.
pub fn referenced_names(sql: &str) -> Result<std::collections::BTreeSet<String>> {
    fn any(e: &Expr) -> Option<&Expr> {
        Some(e)
    }
    let mut names = names_in(sql, any)?;
    let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    for stmt in &statements {
        if let Statement::Statement(inner) = stmt {
            let _ = datafusion::sql::sqlparser::ast::visit_expressions(inner.as_ref(), |expr| {
                if let Expr::CompoundIdentifier(ids) = expr {
                    names.extend(ids.iter().map(|i| i.value.clone()));
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    Ok(names)
}

/// The attribute names given to `ddb_type`, `ddb_missing`, `ddb_attr` and
/// `ddb_text`: names of attributes by definition, which a transform may ask
/// about before any item has them (a field becoming required).
pub fn macro_arguments(sql: &str) -> Result<std::collections::BTreeSet<String>> {
    names_in(sql, |expr| match expr {
        Expr::Function(f)
            if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "ddb_type" | "ddb_missing" | "ddb_attr" | "ddb_text") =>
        {
            match &f.args {
                FunctionArguments::List(list) => match list.args.as_slice() {
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] => Some(arg),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    })
}

/// The last part of every identifier that `pick` finds in an expression of
/// `sql` (it returns the identifier expression to take, if any).
fn names_in(sql: &str, pick: impl Fn(&Expr) -> Option<&Expr>) -> Result<std::collections::BTreeSet<String>> {
    let statements = DFParser::parse_sql_with_dialect(sql, &GenericDialect {})?;
    let mut names = std::collections::BTreeSet::new();
    for stmt in &statements {
        if let Statement::Statement(inner) = stmt {
            let _ = datafusion::sql::sqlparser::ast::visit_expressions(inner.as_ref(), |expr| {
                match pick(expr) {
                    Some(Expr::Identifier(id)) => {
                        names.insert(id.value.clone());
                    }
                    Some(Expr::CompoundIdentifier(ids)) => {
                        if let Some(last) = ids.last() {
                            names.insert(last.value.clone());
                        }
                    }
                    _ => {}
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    Ok(names)
}

fn expand<V: datafusion::sql::sqlparser::ast::VisitMut>(node: &mut V) -> Result<()> {
    let flow = visit_expressions_mut(node, |expr| {
        let Expr::Function(f) = expr else { return ControlFlow::Continue(()) };
        let name = f.name.to_string().to_ascii_lowercase();
        if !matches!(name.as_str(), "ddb_type" | "ddb_missing" | "ddb_attr" | "ddb_text") {
            return ControlFlow::Continue(());
        }
        let column = match &f.args {
            FunctionArguments::List(list) if list.args.len() == 1 => match &list.args[0] {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(id))) => Some(vec![id.clone()]),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(ids))) => Some(ids.clone()),
                _ => None,
            },
            _ => None,
        };
        let Some(mut parts) = column else {
            return ControlFlow::Break(format!("{name}() takes one column name of an export table, as in {name}(email)"));
        };
        let attr = parts.pop().expect("identifiers have at least one part");
        let mut tag_col: Vec<String> = parts.iter().map(|p| quote_ident(&p.value)).collect();
        tag_col.push(quote_ident(TYPES_COLUMN));
        let literal = attr.value.replace('\'', "''");
        let tag = format!("get_field({}, '{literal}')", tag_col.join("."));
        let mut value: Vec<String> = parts.iter().map(|p| quote_ident(&p.value)).collect();
        value.push(quote_ident(&attr.value));
        let text = match name.as_str() {
            "ddb_type" => tag,
            "ddb_missing" => format!("({tag} IS NULL)"),
            "ddb_attr" => format!("ddb_attr_value({}, {tag})", value.join(".")),
            _ => format!("ddb_text_value({}, {tag})", value.join(".")),
        };
        match Parser::new(&GenericDialect {}).try_with_sql(&text).and_then(|mut p| p.parse_expr()) {
            Ok(new) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(format!("cannot expand {name}({}): {e}", attr.value)),
        }
    });
    match flow {
        ControlFlow::Break(msg) => Err(Error::Invalid(msg)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> String {
        parse(sql).unwrap().pop_front().unwrap().to_string()
    }

    #[test]
    fn expands_macros() {
        assert_eq!(one("SELECT ddb_type(age) FROM t"), "SELECT get_field(\"_ddb\", 'age') FROM t");
        assert_eq!(
            one("SELECT id FROM t c WHERE ddb_missing(c.\"first name\") AND x = 1"),
            "SELECT id FROM t c WHERE (get_field(\"c\".\"_ddb\", 'first name') IS NULL) AND x = 1"
        );
        assert_eq!(one("SELECT upper(a) FROM t"), "SELECT upper(a) FROM t");
        assert_eq!(
            one("SELECT ddb_attr(c.tags) FROM t c"),
            "SELECT ddb_attr_value(\"c\".\"tags\", get_field(\"c\".\"_ddb\", 'tags')) FROM t c"
        );
        assert!(parse("SELECT ddb_type(1 + 2)").is_err());
    }
}
