//! Project > Images and Admin > Images: the images a project can use (its own, public,
//! shared with it) or, for admins, every project's; filters and marker paging as the
//! image API has them; an image's detail page with its properties, members and import
//! tasks; create with a file upload that shows real progress and can be cancelled;
//! edit, share, deactivate, delete. Every change goes through `image_do`, which calls
//! the image service: the console and the Glance API cannot disagree.

mod create;
mod detail;
mod list;
mod server;

pub use create::DISK_FORMATS;
pub use detail::ImageDetailPage;
pub use list::ImagesPanel;
pub use server::*;

/// What the panel modules share: imports and each other's items.
mod prelude {
    #![allow(unused_imports)]
    pub(crate) use leptos::prelude::*;
    pub(crate) use leptos::server_fn::codec::Json;
    pub(crate) use leptos_router::hooks::{use_params_map, use_query_map};
    pub(crate) use serde::{Deserialize, Serialize};

    pub(crate) use ferrostack_types::events::Event;
    pub(crate) use ferrostack_types::image::{Image, ImageMember, ImageTask};

    pub(crate) use crate::error::ConsoleError;
    pub(crate) use crate::home::size;
    pub(crate) use crate::kit::{
        toaster, urlencode, val, Cell, DataTable, Dialog, Done, Field, Kind, Refused, Row, Runner,
        RunnerDialog,
    };

    pub(crate) use super::{create::*, detail::*, list::*, server::*, *};
}

use prelude::*;

pub fn runner() -> Runner<ImageOp> {
    Runner::new(Action::new(|op: &ImageOp| image_do(op.clone())))
}

pub(crate) fn badge(status: &str) -> Cell {
    let class = match status {
        "active" => "ok",
        "killed" | "deactivated" => "bad",
        _ => "busy",
    };
    Cell::Badge(status.to_string(), class)
}

pub(crate) fn image_name(i: &Image) -> String {
    i.name.clone().unwrap_or_else(|| i.id.clone())
}
