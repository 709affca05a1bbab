//! What SQL from a transform or check file may do, and where its result
//! columns come from.
//!
//! A transform or a check is one read-only query. ddbsnap runs these files on
//! a reviewer's trust, so a `COPY ... TO`, a `CREATE`, an `INSERT` or a second
//! statement hidden behind a `;` is refused before anything runs, both by the
//! statement's syntax and by DataFusion's own plan verification.
//!
//! A transform's result says what to do through control columns (`_op`,
//! `_remove`, `_skip`, `_table`, `set:NAME`). Items are data, and data may
//! hold an attribute with any name, so a control column that is an item's
//! attribute passed through unchanged (`SELECT *` expands to it) would let
//! the data choose the operation. [`origins`] follows each result column
//! down the logical plan to tell a column the query computed from one it
//! copied from a table.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{Expr, JoinType, LogicalPlan};
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use super::rewrite;
use crate::error::{Error, Result};

/// Parses `sql` as exactly one query (SELECT, or WITH ... SELECT), with
/// the ddbsnap macros expanded. `what` names the file in errors.
pub fn one_query(sql: &str, what: &str) -> Result<Statement> {
    let mut statements = rewrite::parse(sql)?;
    if statements.len() != 1 {
        return Err(Error::Invalid(format!(
            "{what}: must be one query (SELECT, or WITH ... SELECT); it holds {} statements",
            statements.len()
        )));
    }
    let stmt = statements.pop_front().ok_or_else(|| Error::Invalid(format!("{what}: no SQL statement")))?;
    match &stmt {
        Statement::Statement(inner) if matches!(inner.as_ref(), SqlStatement::Query(_)) => Ok(stmt),
        other => {
            let text = other.to_string();
            let head: String = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            Err(Error::Invalid(format!(
                "{what}: must be a read-only query (SELECT, or WITH ... SELECT), not {}",
                crate::error::brief(&head, 40)
            )))
        }
    }
}

/// Plan verification: no DDL, no DML (COPY and INSERT included), no
/// session statements.
pub fn read_only() -> SQLOptions {
    SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false)
}

/// Where a result column comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An expression the query computed (a literal, a function, CASE...).
    Computed,
    /// A table's column passed through unchanged (possibly renamed).
    Column { table: String, column: String },
}

/// The origin of each output column of `plan`.
pub fn origins(plan: &LogicalPlan) -> Vec<Origin> {
    (0..plan.schema().fields().len()).map(|i| origin(plan, i)).collect()
}

fn origin(plan: &LogicalPlan, i: usize) -> Origin {
    use LogicalPlan as P;
    match plan {
        P::TableScan(scan) => match scan.projected_schema.fields().get(i) {
            Some(f) => Origin::Column { table: scan.table_name.to_string(), column: f.name().clone() },
            None => Origin::Computed,
        },
        P::Projection(p) => match p.expr.get(i).map(strip_alias) {
            Some(Expr::Column(c)) => match p.input.schema().index_of_column(c) {
                Ok(j) => origin(&p.input, j),
                Err(_) => unknown(plan, i),
            },
            Some(_) => Origin::Computed,
            None => unknown(plan, i),
        },
        P::Aggregate(a) => match a.group_expr.get(i).map(strip_alias) {
            Some(Expr::Column(c)) => match a.input.schema().index_of_column(c) {
                Ok(j) => origin(&a.input, j),
                Err(_) => unknown(plan, i),
            },
            Some(_) => Origin::Computed,
            // Aggregates compute (max(_op) is the query's choice).
            None if i >= a.group_expr.len() => Origin::Computed,
            None => unknown(plan, i),
        },
        P::Join(j) => {
            let left = j.left.schema().fields().len();
            match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark if i < left => origin(&j.left, i),
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => origin(&j.right, i),
                _ if i < left => origin(&j.left, i),
                _ => origin(&j.right, i - left),
            }
        }
        P::Union(u) => {
            // A column is the data's when any branch passes it through.
            u.inputs.iter().map(|b| origin(b, i)).find(|o| *o != Origin::Computed).unwrap_or(Origin::Computed)
        }
        P::Window(w) if i < w.input.schema().fields().len() => origin(&w.input, i),
        P::Window(_) => Origin::Computed,
        P::Filter(_) | P::Sort(_) | P::Limit(_) | P::Repartition(_) | P::SubqueryAlias(_) | P::Distinct(_) => match plan.inputs().first() {
            Some(input) => origin(input, i),
            None => unknown(plan, i),
        },
        P::Values(_) | P::EmptyRelation(_) => Origin::Computed,
        _ => unknown(plan, i),
    }
}

fn strip_alias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => strip_alias(&a.expr),
        other => other,
    }
}

/// A node this module does not follow: the column counts as a table's when
/// any table scanned beneath holds a column of that name.
fn unknown(plan: &LogicalPlan, i: usize) -> Origin {
    let Some(name) = plan.schema().fields().get(i).map(|f| f.name().clone()) else { return Origin::Computed };
    let mut found = Origin::Computed;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.source.schema().field_with_name(&name).is_ok()
        {
            found = Origin::Column { table: scan.table_name.to_string(), column: name.clone() };
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
