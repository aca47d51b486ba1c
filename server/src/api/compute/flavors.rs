//! /flavors: list, detail, show, create, description update (2.55), delete, access
//! lists (os-flavor-access and the add/removeTenantAccess actions) and extra specs.

use ferrostack_compute::{FlavorQuery, NewFlavor};
use ferrostack_types::compute::Flavor;

use super::fields::{flag, int, text};
use super::prelude::*;
use super::{base, body_object, inner, next_link};

pub(crate) fn flavor_view(st: &AppState, f: &Flavor, mv: Mv) -> Value {
    let mut v = json!({
        "id": f.id, "name": f.name, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        // Before 2.75 Nova shows no swap as "".
        "swap": if f.swap == 0 && !mv.at_least(75) { json!("") } else { json!(f.swap) },
        "rxtx_factor": f.rxtx_factor,
        "os-flavor-access:is_public": f.is_public,
        "OS-FLV-DISABLED:disabled": f.disabled,
        "links": [
            {"rel": "self", "href": format!("{}/v2.1/flavors/{}", base(st), f.id)},
            {"rel": "bookmark", "href": format!("{}/flavors/{}", base(st), f.id)},
        ],
    });
    if mv.at_least(55) {
        v["description"] = json!(f.description);
    }
    if mv.at_least(61) {
        v["extra_specs"] = json!(f.extra_specs);
    }
    v
}

fn flavor_query(q: Option<&str>, ctx: &Ctx) -> NResult<FlavorQuery> {
    let mut fq = FlavorQuery {
        is_public: Some(true),
        ..Default::default()
    };
    for (k, v) in Filters::pairs(q) {
        let int = |v: &str| -> NResult<i64> {
            v.parse().map_err(|_| {
                NovaError(Error::bad_request(format!(
                    "Invalid input for query parameters {k}. Value: {v}."
                )))
            })
        };
        match k.as_str() {
            "is_public" => {
                fq.is_public = match v.to_ascii_lowercase().as_str() {
                    "none" => None,
                    "false" | "0" | "no" => Some(false),
                    _ => Some(true),
                }
            }
            "minRam" => fq.min_ram = Some(int(&v)?),
            "minDisk" => fq.min_disk = Some(int(&v)?),
            _ => {}
        }
    }
    // Non-admins see the flavors they may use whatever they ask (Nova's rule).
    if !ctx.is_admin() && fq.is_public == Some(true) {
        fq.is_public = None;
    }
    Ok(fq)
}

async fn list(
    st: AppState,
    ctx: Ctx,
    mv: Mv,
    q: Option<String>,
    detail: bool,
) -> NResult<Json<Value>> {
    let fq = flavor_query(q.as_deref(), &ctx)?;
    let all = st.services.compute.flavor_list(&ctx, &fq).await?;
    let pairs = Filters::pairs(q.as_deref());
    let marker = pairs
        .iter()
        .find(|(k, _)| k == "marker")
        .map(|(_, v)| v.clone());
    let limit = pairs
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let start = match &marker {
        Some(m) => all
            .iter()
            .position(|f| &f.id == m)
            .map(|i| i + 1)
            .ok_or_else(|| NovaError(Error::bad_request(format!("marker [{m}] not found"))))?,
        None => 0,
    };
    let page: Vec<&Flavor> = all
        .iter()
        .skip(start)
        .take(limit.unwrap_or(usize::MAX).max(1))
        .collect();
    let flavors: Vec<Value> = page
        .iter()
        .map(|f| {
            if detail {
                flavor_view(&st, f, mv)
            } else {
                let full = flavor_view(&st, f, mv);
                let mut b = json!({"id": f.id, "name": f.name, "links": full["links"]});
                if mv.at_least(55) {
                    b["description"] = json!(f.description);
                }
                b
            }
        })
        .collect();
    let mut body = json!({"flavors": flavors});
    if limit.is_some() && start + page.len() < all.len() {
        if let Some(last) = page.last() {
            let path = if detail { "flavors/detail" } else { "flavors" };
            body["flavors_links"] = next_link(&st, path, q.as_deref(), &last.id);
        }
    }
    Ok(Json(body))
}

pub(crate) async fn flavor_list(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    list(st, ctx, mv, q, false).await
}

pub(crate) async fn flavor_list_detail(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    RawQuery(q): RawQuery,
) -> NResult<Json<Value>> {
    list(st, ctx, mv, q, true).await
}

pub(crate) async fn flavor_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let f = st.services.compute.flavor_get(&ctx, &id).await?;
    Ok(Json(json!({"flavor": flavor_view(&st, &f, mv)})))
}

pub(crate) async fn flavor_create(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = inner(body_object(&body)?, "flavor")?;
    let name = text(&mut m, "name")?.ok_or_else(|| {
        NovaError(Error::bad_request(
            "Invalid input for field/attribute flavor. 'name' is a required property",
        ))
    })?;
    let id = match m.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(o) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute id. Value: {o}."
            ))
            .into())
        }
    };
    let rxtx = match m.remove("rxtx_factor") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(1.0),
        Some(o) => {
            return Err(Error::bad_request(format!(
                "Invalid input for field/attribute rxtx_factor. Value: {o}."
            ))
            .into())
        }
    };
    let is_public = flag(&mut m, "os-flavor-access:is_public")?.unwrap_or(true);
    let description = text(&mut m, "description")?;
    let new = NewFlavor {
        id,
        name,
        vcpus: int(&mut m, "vcpus", None)?,
        ram: int(&mut m, "ram", None)?,
        disk: int(&mut m, "disk", None)?,
        ephemeral: int(&mut m, "OS-FLV-EXT-DATA:ephemeral", Some(0))?,
        swap: int(&mut m, "swap", Some(0))?,
        rxtx_factor: rxtx,
        is_public,
        description,
    };
    let f = st.services.compute.flavor_create(&ctx, new).await?;
    Ok(Json(json!({"flavor": flavor_view(&st, &f, mv)})))
}

pub(crate) async fn flavor_update(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Extension(mv): Extension<Mv>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    if !mv.at_least(55) {
        return Err(Error::bad_request(
            "Updating a flavor's description needs microversion 2.55 or later.",
        )
        .into());
    }
    let mut m = inner(body_object(&body)?, "flavor")?;
    let description =
        match m.remove("description") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            _ => return Err(Error::bad_request(
                "Invalid input for field/attribute flavor. 'description' is a required property",
            )
            .into()),
        };
    let f = st
        .services
        .compute
        .flavor_update_description(&ctx, &id, description)
        .await?;
    Ok(Json(json!({"flavor": flavor_view(&st, &f, mv)})))
}

pub(crate) async fn flavor_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<StatusCode> {
    st.services.compute.flavor_delete(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

fn access_view(id: &str, projects: Vec<String>) -> Value {
    json!({"flavor_access": projects.into_iter().map(|p| json!({"flavor_id": id, "tenant_id": p})).collect::<Vec<_>>()})
}

pub(crate) async fn flavor_access(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let p = st.services.compute.flavor_access_list(&ctx, &id).await?;
    Ok(Json(access_view(&id, p)))
}

pub(crate) async fn flavor_action(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let m = body_object(&body)?;
    let tenant = |v: &Value| -> NResult<String> {
        v.get("tenant")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                NovaError(Error::bad_request(
                    "Invalid input: 'tenant' is a required property.",
                ))
            })
    };
    let c = &st.services.compute;
    let p = if let Some(v) = m.get("addTenantAccess") {
        c.flavor_access_add(&ctx, &id, &tenant(v)?).await?
    } else if let Some(v) = m.get("removeTenantAccess") {
        c.flavor_access_remove(&ctx, &id, &tenant(v)?).await?
    } else {
        return Err(Error::bad_request(
            "There is no such action: use addTenantAccess or removeTenantAccess.",
        )
        .into());
    };
    Ok(Json(access_view(&id, p)))
}

pub(crate) async fn specs_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
) -> NResult<Json<Value>> {
    let f = st.services.compute.flavor_get(&ctx, &id).await?;
    Ok(Json(json!({"extra_specs": f.extra_specs})))
}

fn specs_of(v: Value) -> NResult<BTreeMap<String, String>> {
    match v {
        Value::Object(o) => o
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Number(n) => Ok((k, n.to_string())),
                Value::Bool(b) => Ok((k, b.to_string())),
                o => Err(NovaError(Error::bad_request(format!(
                    "Invalid input for field/attribute extra_specs.{k}: {o} is not a string."
                )))),
            })
            .collect(),
        o => Err(Error::bad_request(format!(
            "Invalid input for field/attribute extra_specs: {o} is not an object."
        ))
        .into()),
    }
}

pub(crate) async fn specs_set(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let mut m = body_object(&body)?;
    let specs = specs_of(m.remove("extra_specs").ok_or_else(|| {
        NovaError(Error::bad_request(
            "Missing 'extra_specs' in the request body.",
        ))
    })?)?;
    let all = st
        .services
        .compute
        .flavor_specs_set(&ctx, &id, specs.clone())
        .await?;
    let shown: BTreeMap<&String, &String> =
        all.iter().filter(|(k, _)| specs.contains_key(*k)).collect();
    Ok(Json(json!({"extra_specs": shown})))
}

pub(crate) async fn spec_show(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
) -> NResult<Json<Value>> {
    let f = st.services.compute.flavor_get(&ctx, &id).await?;
    let v = f
        .extra_specs
        .get(&key)
        .ok_or_else(|| Error::not_found("extra spec", format!("{id}/{key}")))?;
    Ok(Json(json!({ key: v })))
}

pub(crate) async fn spec_set(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> NResult<Json<Value>> {
    let specs = specs_of(Value::Object(body_object(&body)?))?;
    if specs.len() != 1 || !specs.contains_key(&key) {
        return Err(Error::bad_request(
            "Request body and URI mismatch: the body holds exactly the key of the URL.",
        )
        .into());
    }
    st.services
        .compute
        .flavor_specs_set(&ctx, &id, specs.clone())
        .await?;
    Ok(Json(json!(specs)))
}

pub(crate) async fn spec_delete(
    State(st): State<AppState>,
    Authed(ctx): Authed,
    Path((id, key)): Path<(String, String)>,
) -> NResult<StatusCode> {
    st.services
        .compute
        .flavor_spec_delete(&ctx, &id, &key)
        .await?;
    Ok(StatusCode::OK)
}
