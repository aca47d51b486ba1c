//! The list layer every service's listings use: sort keys checked against the
//! resource's table of keys, keyset paging from the marker (the database reads just
//! the page however long the listing), `in:` lists and comparison filters as the
//! OpenStack APIs write them, and one clamp for page sizes.

use crate::db::{Arg, Sql};
use crate::{time, Error, Result};

/// Page size when the caller gives none, and the most one page may hold.
pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;

/// Comparison operators of filters like `created_at=gte:2026-11-24T10:00:00Z`.
pub const OPERATORS: &[&str] = &["gt", "gte", "lt", "lte", "eq", "neq"];

/// A sort key a listing offers: its API name and the SQL expression ordering it
/// (NULL-able columns through COALESCE, so both backends order NULLs alike and a
/// keyset comparison never meets a NULL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub name: &'static str,
    pub expr: &'static str,
}

/// A checked sort order: keys with their direction (`true` ascending), `id` last.
#[derive(Clone, Debug)]
pub struct Sort(pub Vec<(SortKey, bool)>);

/// The page size to read: the caller's, clamped; the default without one.
pub fn limit(asked: Option<usize>) -> usize {
    asked.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

impl Sort {
    /// Check `asked` ((key, "asc"|"desc") pairs) against `keys`; `default` when empty.
    /// `id` (which must be in `keys`) is appended when missing, for a total order.
    pub fn parse(
        asked: &[(String, String)],
        keys: &[SortKey],
        default: (&str, &str),
    ) -> Result<Sort> {
        let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
        let find = |name: &str| -> Result<SortKey> {
            keys.iter()
                .copied()
                .find(|k| k.name == name)
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "Invalid sort key {name:?}; use one of {}.",
                        names.join(", ")
                    ))
                })
        };
        let dir = |d: &str| -> Result<bool> {
            match d {
                "asc" => Ok(true),
                "desc" => Ok(false),
                other => Err(Error::bad_request(format!(
                    "Invalid sort direction {other:?}; use asc or desc."
                ))),
            }
        };
        let mut out = Vec::new();
        if asked.is_empty() {
            out.push((find(default.0)?, dir(default.1)?));
        }
        for (k, d) in asked {
            out.push((find(k)?, dir(d)?));
        }
        if !out.iter().any(|(k, _)| k.name == "id") {
            let asc = out[0].1;
            out.push((find("id")?, asc));
        }
        Ok(Sort(out))
    }

    /// `AND (...)`: only rows after the marker in this order, given the marker's value
    /// for each key (as its `expr` computes it).
    pub fn after(&self, sql: &mut Sql, marker: impl Fn(&str) -> Arg) {
        sql.push(" AND (");
        for (i, (k, asc)) in self.0.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (pk, _) in &self.0[..i] {
                sql.push(&format!("{} = ", pk.expr)).bind(marker(pk.name));
                sql.push(" AND ");
            }
            let cmp = if *asc { ">" } else { "<" };
            sql.push(&format!("{} {cmp} ", k.expr)).bind(marker(k.name));
            sql.push(")");
        }
        sql.push(")");
    }

    /// `AND (...)` like [`Sort::after`], reading the marker's values from its row in
    /// `table` (which may carry the alias the keys' expressions use) with subqueries:
    /// one call serves any key of any type.
    pub fn after_row(&self, sql: &mut Sql, table: &str, marker_id: &str) {
        let of = |sql: &mut Sql, expr: &str| {
            sql.push(&format!("(SELECT {expr} FROM {table} WHERE id = "))
                .bind(Arg::Text(marker_id.to_string()));
            sql.push(")");
        };
        sql.push(" AND (");
        for (i, (k, asc)) in self.0.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (pk, _) in &self.0[..i] {
                sql.push(&format!("{} = ", pk.expr));
                of(sql, pk.expr);
                sql.push(" AND ");
            }
            let cmp = if *asc { ">" } else { "<" };
            sql.push(&format!("{} {cmp} ", k.expr));
            of(sql, k.expr);
            sql.push(")");
        }
        sql.push(")");
    }

    /// ` ORDER BY ...` and ` LIMIT` one more than the page (to know whether another
    /// page follows).
    pub fn order_and_limit(&self, sql: &mut Sql, page: usize) {
        let order: Vec<String> = self
            .0
            .iter()
            .map(|(k, asc)| format!("{} {}", k.expr, if *asc { "asc" } else { "desc" }))
            .collect();
        sql.push(&format!(" ORDER BY {}", order.join(", ")));
        sql.push(" LIMIT ").bind(Arg::Int(page as i64 + 1));
    }
}

/// Cut a page read with [`Sort::order_and_limit`] to size; whether more follow.
pub fn page<T>(mut rows: Vec<T>, page: usize) -> (Vec<T>, bool) {
    let more = rows.len() > page;
    rows.truncate(page);
    (rows, more)
}

/// The values of an `in:` filter: comma-separated, double quotes around values that
/// hold commas.
pub fn in_values(column: &str, list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(Error::bad_request(format!(
            "Invalid filter for {column}: a quote in {list:?} is not closed."
        )));
    }
    out.push(cur);
    Ok(out)
}

/// `AND column = value`, or `AND column IN (...)` for `in:a,b,"c,d"`.
pub fn eq_or_in(sql: &mut Sql, column: &str, value: &str) -> Result<()> {
    match value.strip_prefix("in:") {
        Some(list) => {
            let items = in_values(column, list)?;
            sql.push(" AND ").push(column).push(" IN ");
            sql.in_list(items.iter().map(String::as_str));
        }
        None => {
            sql.and_eq(column, Some(Arg::Text(value.to_string())));
        }
    }
    Ok(())
}

/// `AND column <op> time` for a time comparison filter (`gte:2026-11-24T10:00:00Z`).
pub fn time_compare(sql: &mut Sql, column: &str, op: &str, at: &str) -> Result<()> {
    let cmp = match op {
        "gt" => ">",
        "gte" => ">=",
        "lt" => "<",
        "lte" => "<=",
        "eq" => "=",
        "neq" => "<>",
        other => {
            return Err(Error::bad_request(format!(
                "Invalid operator {other:?} for {column}; use {}.",
                OPERATORS.join(", ")
            )))
        }
    };
    let t = time::parse_client(at).ok_or_else(|| {
        Error::bad_request(format!(
            "Invalid time {at:?} for {column}: use ISO 8601, like 2026-11-24T10:00:00Z."
        ))
    })?;
    sql.push(&format!(" AND {column} {cmp} "))
        .bind(Arg::Text(time::to_db(&t)));
    Ok(())
}

/// Split `op:value` (a filter value with an operator) into its parts; without one of
/// `OPERATORS` before the colon, the operator is `eq`.
pub fn split_operator(v: &str) -> (&str, &str) {
    match v.split_once(':') {
        Some((op, rest)) if OPERATORS.contains(&op) => (op, rest),
        _ => ("eq", v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[SortKey] = &[
        SortKey {
            name: "name",
            expr: "COALESCE(name, '')",
        },
        SortKey {
            name: "id",
            expr: "id",
        },
    ];

    #[test]
    fn sort_appends_id_and_refuses_unknown_keys() {
        let s = Sort::parse(&[], KEYS, ("name", "desc")).unwrap();
        assert_eq!(
            s.0.iter().map(|(k, a)| (k.name, *a)).collect::<Vec<_>>(),
            [("name", false), ("id", false)]
        );
        let e = Sort::parse(&[("size".into(), "asc".into())], KEYS, ("name", "asc")).unwrap_err();
        assert!(e.to_string().contains("use one of name, id"), "{e}");
        assert!(Sort::parse(&[("name".into(), "up".into())], KEYS, ("name", "asc")).is_err());
    }

    #[test]
    fn keyset_condition_compares_each_prefix() {
        let s = Sort::parse(&[("name".into(), "asc".into())], KEYS, ("name", "asc")).unwrap();
        let mut sql = Sql::new("SELECT * FROM t WHERE 1 = 1");
        s.after(&mut sql, |k| Arg::Text(format!("m-{k}")));
        assert_eq!(
            sql.text,
            "SELECT * FROM t WHERE 1 = 1 AND ((COALESCE(name, '') > $1) OR (COALESCE(name, '') = $2 AND id > $3))"
        );
        let mut sql = Sql::new("SELECT * FROM t WHERE 1 = 1");
        s.after_row(&mut sql, "t", "m");
        assert_eq!(
            sql.text,
            "SELECT * FROM t WHERE 1 = 1 AND ((COALESCE(name, '') > (SELECT COALESCE(name, '') FROM t WHERE id = $1)) \
             OR (COALESCE(name, '') = (SELECT COALESCE(name, '') FROM t WHERE id = $2) AND id > (SELECT id FROM t WHERE id = $3)))"
        );
        assert_eq!(limit(Some(5000)), MAX_LIMIT);
        assert_eq!(limit(None), DEFAULT_LIMIT);
    }

    #[test]
    fn in_lists_keep_quoted_commas() {
        assert_eq!(
            in_values("name", r#"a,"b,c",d"#).unwrap(),
            ["a", "b,c", "d"]
        );
        assert!(in_values("name", r#"a,"b"#).is_err());
        assert_eq!(split_operator("gte:2026-01-01"), ("gte", "2026-01-01"));
        assert_eq!(split_operator("x:y"), ("eq", "x:y"));
    }
}
