//! Integer arithmetic that fails instead of wrapping.
//!
//! DataFusion 55 computes `+`, `-`, `*` and unary `-` on integers with
//! wrapping kernels: `n + 1` on `9223372036854775807` gives
//! `-9223372036854775808`, silently. A plan that writes such a value to
//! DynamoDB would corrupt data with exit 0, and a check counting with it
//! would count wrong. This analyzer rule runs after type coercion and
//! replaces each integer `a + b`, `a - b`, `a * b`, `-a` and (on 64-bit
//! integers) `a << b` by a call to `ddb_checked_add`/`_sub`/`_mul`/`_shl`
//! (Arrow's checked kernels, same types), and `sum()` of integers by
//! `ddb_checked_sum`, so
//! an overflow stops the query with the operands and a way to compute
//! exactly. Names are preserved, so result columns keep their names.
//! Division and remainder already use checked kernels.

use std::sync::Arc;

use arrow::array::Datum;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, WindowFunctionDefinition,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr_common::datum::apply;

/// The analyzer rule; add it after DataFusion's own (type coercion first).
#[derive(Debug, Default)]
pub struct CheckedArithmetic;

impl AnalyzerRule for CheckedArithmetic {
    fn name(&self) -> &str {
        "ddbsnap_checked_arithmetic"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> DfResult<LogicalPlan> {
        let fns = Fns::new();
        plan.transform_up_with_subqueries(|node| {
            let schema = merge_schema(&node.inputs());
            let preserver = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let saved = preserver.save(&e);
                let out = e.transform_up(|e| fns.rewrite(e, &schema))?;
                Ok(if out.transformed { out.update_data(|e| saved.restore(e)) } else { out })
            })
        })
        .map(|t| t.data)
    }
}

struct Fns {
    add: Arc<ScalarUDF>,
    sub: Arc<ScalarUDF>,
    mul: Arc<ScalarUDF>,
    shl: Arc<ScalarUDF>,
    sum: Arc<datafusion::logical_expr::AggregateUDF>,
}

impl Fns {
    fn new() -> Fns {
        Fns {
            add: Arc::new(checked_udf(Op::Add)),
            sub: Arc::new(checked_udf(Op::Sub)),
            mul: Arc::new(checked_udf(Op::Mul)),
            shl: Arc::new(checked_udf(Op::Shl)),
            sum: Arc::new(checked_sum_udaf()),
        }
    }

    fn rewrite(&self, e: Expr, schema: &datafusion::common::DFSchema) -> DfResult<Transformed<Expr>> {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(op, Operator::Plus | Operator::Minus | Operator::Multiply)
                    && is_integer(&left.get_type(schema)?)
                    && left.get_type(schema)? == right.get_type(schema)? =>
            {
                let f = match op {
                    Operator::Plus => &self.add,
                    Operator::Minus => &self.sub,
                    _ => &self.mul,
                };
                Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(f.clone(), vec![*left, *right]))))
            }
            // `<<` on 64-bit integers shifts bits out silently.
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::BitwiseShiftLeft, right })
                if left.get_type(schema)? == DataType::Int64 && right.get_type(schema)? == DataType::Int64 =>
            {
                Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(self.shl.clone(), vec![*left, *right]))))
            }
            // sum() of integers wraps in DataFusion 55: summed with checks.
            Expr::AggregateFunction(mut af) if af.func.name() == "sum" && !af.params.distinct && wide_integer(&af.params.args, schema)? => {
                af.func = self.sum.clone();
                Ok(Transformed::yes(Expr::AggregateFunction(af)))
            }
            Expr::WindowFunction(mut wf)
                if matches!(&wf.fun, WindowFunctionDefinition::AggregateUDF(f) if f.name() == "sum")
                    && wide_integer(&wf.params.args, schema)? =>
            {
                wf.fun = WindowFunctionDefinition::AggregateUDF(self.sum.clone());
                Ok(Transformed::yes(Expr::WindowFunction(wf)))
            }
            Expr::Negative(inner) if is_integer(&inner.get_type(schema)?) => {
                let zero = ScalarValue::new_zero(&inner.get_type(schema)?)?;
                Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(
                    self.sub.clone(),
                    vec![Expr::Literal(zero, None), *inner],
                ))))
            }
            other => Ok(Transformed::no(other)),
        }
    }
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

/// One argument of type Int64 or UInt64 (what sum() coerces integers to).
fn wide_integer(args: &[Expr], schema: &datafusion::common::DFSchema) -> DfResult<bool> {
    Ok(matches!(args, [a] if matches!(a.get_type(schema)?, DataType::Int64 | DataType::UInt64)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Sub,
    Mul,
    Shl,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "ddb_checked_add",
            Op::Sub => "ddb_checked_sub",
            Op::Mul => "ddb_checked_mul",
            Op::Shl => "ddb_checked_shl",
        }
    }
}

/// `ddb_checked_add(a, b)` and its siblings: Arrow's checked kernels.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Checked {
    op: Op,
    signature: Signature,
}

fn checked_udf(op: Op) -> ScalarUDF {
    ScalarUDF::from(Checked { op, signature: Signature::any(2, Volatility::Immutable) })
}

impl ScalarUDFImpl for Checked {
    fn name(&self) -> &str {
        self.op.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[0].clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [l, r] = args.args.as_slice() else {
            return Err(DataFusionError::Internal(format!("{} takes two arguments", self.op.name())));
        };
        let kernel = |a: &dyn Datum, b: &dyn Datum| match self.op {
            Op::Add => arrow::compute::kernels::numeric::add(a, b),
            Op::Sub => arrow::compute::kernels::numeric::sub(a, b),
            Op::Mul => arrow::compute::kernels::numeric::mul(a, b),
            Op::Shl => shl_checked(a, b),
        };
        apply(l, r, kernel).map_err(|e| overflow_error(e, &l.data_type()))
    }
}

/// `a << b` on Int64, refused when a bit set in `a` would be shifted out
/// (or the sign change), or `b` is not 0 to 62.
fn shl_checked(a: &dyn Datum, b: &dyn Datum) -> Result<arrow::array::ArrayRef, ArrowError> {
    use arrow::array::{Array, AsArray, Int64Builder};
    let ((la, ls), (ra, rs)) = (a.get(), b.get());
    let not_int = || ArrowError::InvalidArgumentError("<< takes 64-bit integers".into());
    let (la, ra) = (
        la.as_primitive_opt::<arrow::datatypes::Int64Type>().ok_or_else(not_int)?,
        ra.as_primitive_opt::<arrow::datatypes::Int64Type>().ok_or_else(not_int)?,
    );
    let n = if ls && rs {
        1
    } else if ls {
        ra.len()
    } else {
        la.len()
    };
    let mut out = Int64Builder::with_capacity(n);
    for i in 0..n {
        let (x, y) = (if ls { 0 } else { i }, if rs { 0 } else { i });
        if la.is_null(x) || ra.is_null(y) {
            out.append_null();
            continue;
        }
        let (v, s) = (la.value(x), ra.value(y));
        let r = if (0..63).contains(&s) { Some(v << s) } else { None };
        match r.filter(|r| r >> s == v) {
            Some(r) => out.append_value(r),
            None => return Err(ArrowError::ArithmeticOverflow(format!("Overflow happened on: {v} << {s}"))),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Arrow's "Overflow happened on: a + b", with what to do about it.
fn overflow_error(e: DataFusionError, t: &DataType) -> DataFusionError {
    let DataFusionError::ArrowError(inner, trace) = e else { return e };
    match *inner {
        ArrowError::ArithmeticOverflow(what) => {
            let what = what.trim_start_matches("Overflow happened on: ");
            DataFusionError::Execution(format!(
                "integer overflow: {what} does not fit in {t}; compute exactly in decimals instead, \
                 for example CAST(n AS DECIMAL(38, 0)) + 1, or write the number as text with ddb_number('...')"
            ))
        }
        other => DataFusionError::ArrowError(Box::new(other), trace),
    }
}

/// `sum()` of 64-bit integers that fails on overflow (DataFusion 55's sum
/// wraps): same input and output types, so the rule can put it in place of
/// `sum` without changing any schema. Used for sums without DISTINCT, in
/// aggregates and windows (sliding frames retract, checked too).
#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedSum {
    signature: Signature,
}

fn checked_sum_udaf() -> datafusion::logical_expr::AggregateUDF {
    datafusion::logical_expr::AggregateUDF::from(CheckedSum {
        signature: Signature::uniform(1, vec![DataType::Int64, DataType::UInt64], Volatility::Immutable),
    })
}

impl datafusion::logical_expr::AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        "ddb_checked_sum"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[0].clone())
    }
    fn accumulator(
        &self,
        args: datafusion::logical_expr::function::AccumulatorArgs,
    ) -> DfResult<Box<dyn datafusion::logical_expr::Accumulator>> {
        Ok(Box::new(SumAcc { unsigned: args.return_field.data_type() == &DataType::UInt64, sum: 0, seen: 0 }))
    }
}

/// A running sum in i128 (any sum of i64 or u64 values checked step by step
/// fits), refused when it leaves the output type's range.
#[derive(Debug)]
struct SumAcc {
    unsigned: bool,
    sum: i128,
    /// Values summed (none: the sum is NULL, as SQL's).
    seen: u64,
}

impl SumAcc {
    fn add(&mut self, values: &ArrayRefDyn, sign: i128) -> DfResult<()> {
        use arrow::array::AsArray;
        let overflow = |s: i128| {
            DataFusionError::Execution(format!(
                "integer overflow: sum() reaches {s}, which does not fit in {}; sum in decimals instead, for example sum(CAST(n AS DECIMAL(38, 0)))",
                if self.unsigned { "UInt64" } else { "Int64" }
            ))
        };
        let items: Vec<i128> = if self.unsigned {
            values.as_primitive::<arrow::datatypes::UInt64Type>().iter().flatten().map(i128::from).collect()
        } else {
            values.as_primitive::<arrow::datatypes::Int64Type>().iter().flatten().map(i128::from).collect()
        };
        for v in items {
            self.sum = self.sum.checked_add(sign * v).ok_or_else(|| overflow(self.sum))?;
            self.seen = if sign > 0 { self.seen + 1 } else { self.seen.saturating_sub(1) };
            let fits = if self.unsigned { u64::try_from(self.sum).is_ok() } else { i64::try_from(self.sum).is_ok() };
            // Retracting (sliding windows) may pass through any value; only
            // a sum that is evaluated must fit, and adding checks each step.
            if sign > 0 && !fits {
                return Err(overflow(self.sum));
            }
        }
        Ok(())
    }
}

type ArrayRefDyn = dyn arrow::array::Array;

impl datafusion::logical_expr::Accumulator for SumAcc {
    fn update_batch(&mut self, values: &[arrow::array::ArrayRef]) -> DfResult<()> {
        self.add(values[0].as_ref(), 1)
    }
    fn retract_batch(&mut self, values: &[arrow::array::ArrayRef]) -> DfResult<()> {
        self.add(values[0].as_ref(), -1)
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn merge_batch(&mut self, states: &[arrow::array::ArrayRef]) -> DfResult<()> {
        self.add(states[0].as_ref(), 1)
    }
    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }
    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        if self.seen == 0 {
            return Ok(if self.unsigned { ScalarValue::UInt64(None) } else { ScalarValue::Int64(None) });
        }
        Ok(if self.unsigned { ScalarValue::UInt64(u64::try_from(self.sum).ok()) } else { ScalarValue::Int64(i64::try_from(self.sum).ok()) })
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}
