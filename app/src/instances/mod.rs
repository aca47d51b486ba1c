//! Project > Instances and Admin > Instances: the servers, whose status, task and
//! power state follow pushed server events (no polling, no reload); a row's actions
//! are exactly what the service allows in the server's state for the caller
//! (`ferrostack_compute::offered`); the launch dialog shows what a launch uses of the
//! quota and whether it fits on some host before the user clicks (the scheduler's dry
//! run); an instance's page has its overview, console log, the interactive serial and
//! VNC consoles, its action log and metadata. Every change goes through `instance_do`
//! or `launch_instances`, which call the compute service.

mod detail;
mod keypair;
mod launch;
mod list;
mod server;

pub use detail::InstanceDetailPage;
pub use keypair::KeyPairForm;
pub(crate) use launch::LaunchDialog;
pub use list::InstancesPanel;
pub use server::*;

mod prelude {
    #![allow(unused_imports)]
    pub(crate) use leptos::prelude::*;
    pub(crate) use leptos::server_fn::codec::Json;
    pub(crate) use leptos_router::hooks::{use_params_map, use_query_map};
    pub(crate) use serde::{Deserialize, Serialize};

    pub(crate) use ferrostack_types::compute::{InstanceAction, Server};

    pub(crate) use crate::error::ConsoleError;
    pub(crate) use crate::kit::{
        toaster, val, Cell, DataTable, Dialog, Done, Field, Kind, Refused, Row, Runner,
        RunnerDialog,
    };

    pub(crate) use super::{detail::*, keypair::*, launch::*, list::*, server::*, *};
}

use prelude::*;

pub fn runner() -> Runner<InstanceOp> {
    Runner::new(Action::new(|op: &InstanceOp| instance_do(op.clone())))
}

pub(crate) fn status_badge(status: &str) -> Cell {
    let class = match status {
        "ACTIVE" => "ok",
        "ERROR" => "bad",
        "SHUTOFF" | "SHELVED_OFFLOADED" | "SHELVED" | "PAUSED" | "SUSPENDED" => "off",
        _ => "busy",
    };
    Cell::Badge(status.to_string(), class)
}

/// Nova's power states in words.
pub(crate) fn power(code: i64) -> &'static str {
    match code {
        1 => "Running",
        3 => "Paused",
        4 => "Shut down",
        6 => "Crashed",
        7 => "Suspended",
        _ => "No state",
    }
}

/// The label of an action the service offers (its key is the service's name).
pub(crate) fn action_label(a: &str) -> Option<(&'static str, &'static str)> {
    Some(match a {
        "start" => ("start", "Start"),
        "stop" => ("stop", "Shut off"),
        "reboot" => ("reboot", "Reboot"),
        "pause" => ("pause", "Pause"),
        "unpause" => ("unpause", "Resume"),
        "suspend" => ("suspend", "Suspend"),
        "resume" => ("resume", "Resume"),
        "resize" => ("resize", "Resize"),
        "confirmResize" => ("confirmResize", "Confirm resize"),
        "revertResize" => ("revertResize", "Revert resize"),
        "rebuild" => ("rebuild", "Rebuild"),
        "rescue" => ("rescue", "Rescue"),
        "unrescue" => ("unrescue", "Unrescue"),
        "shelve" => ("shelve", "Shelve"),
        "unshelve" => ("unshelve", "Unshelve"),
        "createImage" => ("createImage", "Snapshot"),
        "lock" => ("lock", "Lock"),
        "unlock" => ("unlock", "Unlock"),
        "delete" => ("delete", "Delete"),
        _ => return None,
    })
}

/// What asking for `key` on `name` does: a confirmation for the ones that stop or
/// change the guest, a form for resize and snapshot, nothing for the rest.
pub(crate) fn ask(
    runner: Runner<InstanceOp>,
    key: &'static str,
    id: String,
    name: String,
    flavors: Vec<(String, String)>,
) {
    let op = |action: &str| InstanceOp::Action {
        id: id.clone(),
        action: action.to_string(),
    };
    match key {
        "delete" => runner.open(Dialog::confirm(
            format!("Delete instance {name}?"),
            "The server, its disks and its console log are removed; its snapshots stay in Images. This cannot be undone.",
            "Delete instance",
            InstanceOp::Delete { id },
        )),
        "stop" | "reboot" | "rebuild" | "rescue" | "shelve" | "revertResize" => {
            let (title, intro, submit) = match key {
                "stop" => ("Shut off", "The guest is asked to shut down, and powered off if it has not within the timeout.", "Shut off"),
                "reboot" => ("Reboot", "The guest is asked to restart.", "Reboot"),
                "rebuild" => ("Rebuild", "The root disk is made again from the server's image: what was written on it is lost.", "Rebuild"),
                "rescue" => ("Rescue", "The server boots its image as a rescue system, with its own disk attached second.", "Rescue"),
                "shelve" => ("Shelve", "The server is shut off and its host freed; its disk is kept, and unshelve starts it again on a host with room.", "Shelve"),
                _ => ("Revert resize", "The server goes back to its old flavor and host.", "Revert"),
            };
            runner.open(Dialog::confirm(format!("{title} {name}?"), intro, submit, op(key)))
        }
        "resize" => runner.open(Dialog::form(
            format!("Resize {name}"),
            "Resize",
            vec![Field::new("flavor", "New flavor", Kind::Select).required().options(
                std::iter::once((String::new(), "Choose a flavor".to_string()))
                    .chain(flavors)
                    .collect(),
            )],
            move |v| InstanceOp::Resize {
                id: id.clone(),
                flavor: val(&v, "flavor"),
            },
        )),
        "createImage" => runner.open(Dialog::form(
            format!("Snapshot {name}"),
            "Create snapshot",
            vec![Field::text("name", "Snapshot name").required().value(format!("{name}-snapshot"))],
            move |v| InstanceOp::Snapshot {
                id: id.clone(),
                name: val(&v, "name"),
            },
        )),
        other => runner.run(op(other)),
    }
}
