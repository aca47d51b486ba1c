//! Image data: streamed upload (PUT .../file), staging for an import (PUT .../stage),
//! streamed download with Range and Content-MD5 (GET .../file).

use super::prelude::*;

pub(crate) async fn upload(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> GResult<StatusCode> {
    s.services
        .images
        .image_upload(&ctx, &id, data_body(&headers, body)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A request body of image data as the service's upload stream (never buffered),
/// refused unless it is declared as bytes.
pub fn data_body(headers: &HeaderMap, body: Body) -> Result<UploadBody, Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/octet-stream") {
        return Err(Error::bad_request(format!(
            "Unsupported Content-Type {ct:?} for image data: send application/octet-stream."
        )));
    }
    Ok(Box::pin(body.into_data_stream().map_err(|e| e.to_string())))
}

/// PUT /v2/images/{id}/stage: the data for a later glance-direct import.
pub(crate) async fn stage(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> GResult<StatusCode> {
    s.services
        .images
        .image_stage(&ctx, &id, data_body(&headers, body)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parse a single `bytes=a-b` range against `len`.
pub(crate) fn range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
        ),
    };
    (start <= end && end < len).then_some((start, end))
}

pub(crate) async fn download(
    State(s): State<AppState>,
    Authed(ctx): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> GResult<Response> {
    let (img, path) = s.services.images.image_data(&ctx, &id).await?;
    let Some(path) = path else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut f = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Error::internal(format!("image {id}: data file missing: {e}")))?;
    let len = f.metadata().await.map_err(Error::internal)?.len();
    let mut resp_headers = HeaderMap::new();
    resp_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    resp_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, count) = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => match range(r, len) {
            Some((a, b)) => {
                let cr = format!("bytes {a}-{b}/{len}");
                resp_headers.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&cr).map_err(Error::internal)?,
                );
                (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
            }
            None => {
                let mut resp = (StatusCode::RANGE_NOT_SATISFIABLE, Json(json!({
                    "code": 416, "title": "Requested Range Not Satisfiable",
                    "message": format!("The range {r:?} is not within the image's {len} bytes."),
                })))
                    .into_response();
                resp.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}")).map_err(Error::internal)?,
                );
                return Ok(resp);
            }
        },
        None => {
            if let Some(md5) = img
                .checksum
                .as_deref()
                .and_then(|c| HeaderValue::from_str(c).ok())
            {
                resp_headers.insert("content-md5", md5);
            }
            (StatusCode::OK, 0, len)
        }
    };
    f.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(Error::internal)?;
    resp_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        f.take(count),
        1024 * 1024,
    ));
    Ok((status, resp_headers, body).into_response())
}
