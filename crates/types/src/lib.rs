//! Plain data shapes shared by the service crates (server side) and the console
//! (compiled to WASM). Serde only: nothing here may pull in tokio, sqlx or libvirt.

pub mod access;
pub mod compute;
pub mod events;
pub mod identity;
pub mod image;
pub mod network;
pub mod url;
