//! The one parser of list paging for every REST router: `limit`, `marker`, and the
//! sort parameters in both OpenStack spellings (`sort_key`/`sort_dir` pairs and
//! `sort=key:dir,...`), and the `next` link that moves the marker on. What the keys
//! mean and which are allowed is the service's (core's list layer); this only reads.

use ferrostack_core::list::DEFAULT_LIMIT;
use ferrostack_core::Error;
use ferrostack_types::url::encode;

#[derive(Clone, Debug, Default)]
pub struct Paging {
    pub limit: Option<usize>,
    pub marker: Option<String>,
    /// (key, dir) in order; empty: the service's default.
    pub sort: Vec<(String, String)>,
}

impl Paging {
    /// Take the paging parameters out of `pairs`; the rest are the resource's filters.
    /// `default_key` is the key a lone `sort_dir` applies to.
    pub fn take(
        pairs: &[(String, String)],
        default_key: &str,
    ) -> Result<(Paging, Vec<(String, String)>), Error> {
        let mut p = Paging::default();
        let (mut keys, mut dirs) = (Vec::new(), Vec::new());
        let mut rest = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "marker" => p.marker = Some(v.clone()),
                "limit" => {
                    p.limit = Some(v.parse().map_err(|_| {
                        Error::bad_request(format!(
                            "Invalid limit {v:?}: it must be a whole number of 0 or more."
                        ))
                    })?)
                }
                "sort_key" => keys.extend(v.split(',').map(str::to_string)),
                "sort_dir" => dirs.extend(v.split(',').map(str::to_string)),
                "sort" => {
                    for part in v.split(',') {
                        let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
                        p.sort.push((k.to_string(), d.to_string()));
                    }
                }
                _ => rest.push((k.clone(), v.clone())),
            }
        }
        for (i, k) in keys.iter().enumerate() {
            let d = dirs
                .get(i)
                .or(dirs.last())
                .cloned()
                .unwrap_or_else(|| "desc".into());
            p.sort.push((k.clone(), d));
        }
        if keys.is_empty() && !dirs.is_empty() && p.sort.is_empty() {
            p.sort.push((default_key.to_string(), dirs[0].clone()));
        }
        Ok((p, rest))
    }

    /// The link to the page after `last_id`: the same query, the marker moved on.
    pub fn next_link(&self, path: &str, pairs: &[(String, String)], last_id: &str) -> String {
        let mut next: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "marker")
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        next.push(format!("marker={}", encode(last_id)));
        if self.limit.is_none() {
            next.push(format!("limit={DEFAULT_LIMIT}"));
        }
        format!("{path}?{}", next.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn both_sort_spellings_and_the_next_link() {
        let q = pairs(&[
            ("sort_key", "name,size"),
            ("sort_dir", "asc"),
            ("name", "x"),
            ("marker", "m1"),
        ]);
        let (p, rest) = Paging::take(&q, "created_at").unwrap();
        assert_eq!(
            p.sort,
            [
                ("name".to_string(), "asc".to_string()),
                ("size".into(), "asc".into())
            ]
        );
        assert_eq!(rest, pairs(&[("name", "x")]));
        assert_eq!(
            p.next_link("/v2/images", &q, "id 2"),
            "/v2/images?sort_key=name%2Csize&sort_dir=asc&name=x&marker=id%202&limit=25"
        );
        let (p, _) = Paging::take(&pairs(&[("sort", "name:asc,id")]), "created_at").unwrap();
        assert_eq!(p.sort[1], ("id".to_string(), "desc".to_string()));
        let (p, _) = Paging::take(&pairs(&[("sort_dir", "asc")]), "created_at").unwrap();
        assert_eq!(p.sort, [("created_at".to_string(), "asc".to_string())]);
        assert!(Paging::take(&pairs(&[("limit", "-1")]), "x").is_err());
    }
}
