//! Where an image's data is (Glance's `locations` and `direct_url`), for operators who
//! turn `show_multiple_locations` / `show_image_direct_url` on, as Glance's operators
//! do for Nova and Cinder to find images in a shared store.
//!
//! There is one store here, the data directory, so an image has at most one location:
//! its own file. A PATCH of `/locations` is checked against that: the list it would
//! leave must be the one the image has. A location anywhere else is refused with the
//! reason — accepting one would let a tenant point an image at any URL the server can
//! reach (the server-side request forgery of OSSN-0065) or at another image's file, and
//! swap an image's bytes under the checksum users trust.

use super::*;
use ferrostack_types::image::ImageLocation;

/// The one store's name (`GET /v2/info/stores`).
pub const STORE: &str = "local";
/// How much of a refused URL an error repeats.
const URL_SHOWN: usize = 120;

impl Images {
    /// Whether `ctx` may see where `img`'s data is: the operator shows locations, and
    /// the caller owns the image or is an admin (Glance's `get_image_location`).
    fn may_see_locations(&self, ctx: &Ctx, img: &Image) -> bool {
        self.cfg.show_multiple_locations
            && (ctx.is_admin() || ctx.project_id() == Some(img.owner.as_str()))
    }

    /// The image's locations for `ctx` — its file in this cloud's store once it has
    /// data — or `None` where they are not shown (then the field is absent).
    pub fn locations(&self, ctx: &Ctx, img: &Image) -> Option<Vec<ImageLocation>> {
        if !self.may_see_locations(ctx, img) {
            return None;
        }
        Some(self.stored_locations(img))
    }

    /// `direct_url`: the image's first location, where the operator shows it.
    pub fn direct_url(&self, ctx: &Ctx, img: &Image) -> Option<String> {
        if !self.cfg.show_image_direct_url
            || !(ctx.is_admin() || ctx.project_id() == Some(img.owner.as_str()))
        {
            return None;
        }
        self.stored_locations(img).into_iter().next().map(|l| l.url)
    }

    fn stored_locations(&self, img: &Image) -> Vec<ImageLocation> {
        if !matches!(img.status.as_str(), "active" | "deactivated") {
            return Vec::new();
        }
        let path = self.data_path(&img.id);
        let path = std::path::absolute(&path).unwrap_or(path);
        vec![ImageLocation {
            url: format!("file://{}", path.display()),
            metadata: BTreeMap::from([("store".to_string(), STORE.to_string())]),
        }]
    }

    /// Check one PATCH operation on `/locations` or `/locations/<index>` (`at`): the
    /// list it leaves must be the image's own.
    pub(crate) fn check_location_patch(
        &self,
        ctx: &Ctx,
        img: &Image,
        at: Option<&str>,
        value: Option<&serde_json::Value>,
        remove: bool,
        replace: bool,
    ) -> Result<()> {
        if !self.may_see_locations(ctx, img) {
            // Glance's words, for the same case.
            return Err(Error::forbidden(
                "It's not allowed to update locations if locations are invisible.",
            ));
        }
        let have = self.stored_locations(img);
        let index = |at: &str| -> Result<usize> {
            at.parse::<usize>()
                .ok()
                .filter(|i| *i < have.len())
                .ok_or_else(|| {
                    Error::bad_request(format!(
                        "Invalid location index {at:?}: the image has {} location(s).",
                        have.len()
                    ))
                })
        };
        match (remove, replace, at) {
            (true, _, Some(at)) => {
                index(at)?;
                Err(Error::forbidden(
                    "Cannot remove last location in the image: its data is kept in this cloud's one store.",
                ))
            }
            (true, _, None) => Err(Error::forbidden(
                "Cannot remove the locations of an image; delete the image instead.",
            )),
            (false, true, None) => {
                let list = value
                    .and_then(|v| v.as_array())
                    .ok_or_else(|| {
                        Error::bad_request(
                            "Invalid value for 'locations': a list of {\"url\", \"metadata\"} objects.",
                        )
                    })?
                    .iter()
                    .map(parse_location)
                    .collect::<Result<Vec<_>>>()?;
                if list.is_empty() && !have.is_empty() {
                    return Err(Error::forbidden("Cannot set locations to empty list."));
                }
                for l in &list {
                    self.check_own(&have, l)?;
                }
                if list.len() != have.len() {
                    return Err(Error::bad_request(
                        "An image here has one location, its file in this cloud's store; a list naming it more than once is not accepted.",
                    ));
                }
                Ok(())
            }
            (false, true, Some(at)) => {
                index(at)?;
                let l = parse_location(value.unwrap_or(&serde_json::Value::Null))?;
                self.check_own(&have, &l)
            }
            (false, false, at) => {
                if let Some(at) = at.filter(|a| *a != "-") {
                    if at.parse::<usize>().map_or(true, |i| i > have.len()) {
                        return Err(Error::bad_request(format!(
                            "Invalid location index {at:?}: the image has {} location(s).",
                            have.len()
                        )));
                    }
                }
                let l = parse_location(value.unwrap_or(&serde_json::Value::Null))?;
                self.check_own(&have, &l)?;
                Err(Error::bad_request(format!(
                    "The location {} already exists.",
                    shown(&l.url)
                )))
            }
        }
    }

    /// `l` must be the image's own location (its metadata may be left out).
    fn check_own(&self, have: &[ImageLocation], l: &ImageLocation) -> Result<()> {
        let Some(own) = have.iter().find(|h| h.url == l.url) else {
            return Err(Error::bad_request(format!(
                "The location {} is not in this cloud's image store: image data is kept in one store ({STORE}) and is not read from elsewhere, so an image cannot point at another place or at another image's data. Upload the data (PUT /v2/images/{{id}}/file) or import it.",
                shown(&l.url)
            )));
        };
        if !l.metadata.is_empty() && l.metadata != own.metadata {
            return Err(Error::bad_request(
                "A location's metadata here is the store's ({\"store\": \"local\"}); it cannot be changed.",
            ));
        }
        Ok(())
    }
}

fn parse_location(v: &serde_json::Value) -> Result<ImageLocation> {
    let bad = || {
        Error::bad_request(
            "Invalid location: it must be an object {\"url\": \"…\", \"metadata\": {…}} with string metadata values.",
        )
    };
    let m = v.as_object().ok_or_else(bad)?;
    if m.keys()
        .any(|k| k != "url" && k != "metadata" && k != "validation_data")
    {
        return Err(bad());
    }
    let url = m.get("url").and_then(|u| u.as_str()).ok_or_else(bad)?;
    let metadata = match m.get("metadata") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(md) => serde_json::from_value(md.clone()).map_err(|_| bad())?,
    };
    Ok(ImageLocation {
        url: url.to_string(),
        metadata,
    })
}

/// A URL as an error repeats it: bounded, without control characters.
fn shown(url: &str) -> String {
    let mut s: String = url
        .chars()
        .filter(|c| !c.is_control())
        .take(URL_SHOWN)
        .collect();
    if url.chars().count() > URL_SHOWN {
        s.push('…');
    }
    format!("{s:?}")
}
