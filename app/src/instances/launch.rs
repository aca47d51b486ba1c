//! Launch instance: name, image, flavor, networks, key pair (chosen, or imported or
//! generated here), user data, count, availability zone and server group. As the choice changes,
//! the dialog asks the service whether it would go through now — what it uses of the
//! project's quota, and the scheduler's dry run — and says why not before the user
//! clicks; the launch itself is checked again by the service.

use super::prelude::*;

#[component]
pub(crate) fn LaunchDialog(close: Callback<()>, changed: RwSignal<u64>) -> impl IntoView {
    let choices = Resource::new(|| (), |_| launch_choices());
    let name = RwSignal::new(String::new());
    let image = RwSignal::new(String::new());
    let flavor = RwSignal::new(String::new());
    let key = RwSignal::new(String::new());
    let user_data = RwSignal::new(String::new());
    let count = RwSignal::new("1".to_string());
    let zone = RwSignal::new(String::new());
    let group = RwSignal::new(String::new());
    let nets = RwSignal::new(Vec::<String>::new());
    let new_key_name = RwSignal::new(String::new());
    let new_key_public = RwSignal::new(String::new());
    let adding_key = RwSignal::new(false);
    let private_key = RwSignal::new(None::<String>);
    let extra_keys = RwSignal::new(Vec::<String>::new());
    let failed = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let toasts = toaster();

    // The dry run, whenever what it depends on changes.
    let check = Resource::new(
        move || (flavor.get(), zone.get(), count.get(), group.get()),
        |(f, z, c, g)| async move {
            if f.is_empty() {
                return None;
            }
            Some(launch_check(f, z, c, g).await)
        },
    );
    // Defaults once the choices are there: the first image and flavor.
    Effect::new(move |_| {
        if let Some(Ok(c)) = choices.get() {
            if image.get_untracked().is_empty() {
                if let Some((id, _)) = c.images.first() {
                    image.set(id.clone());
                }
            }
            if flavor.get_untracked().is_empty() {
                if let Some((id, _)) = c.flavors.first() {
                    flavor.set(id.clone());
                }
            }
            // The only network there is, ticked (as Nova's auto allocation would).
            if c.networks.len() == 1 && nets.with_untracked(Vec::is_empty) {
                nets.set(vec![c.networks[0].0.clone()]);
            }
        }
    });
    let refusal = move || -> Option<String> {
        match check.get() {
            Some(Some(Ok(c))) => c.over_quota.or(c.no_room),
            Some(Some(Err(e))) => Some(crate::auth::reason(&e)),
            _ => None,
        }
    };
    let problem = move || -> Option<String> {
        let n = name.get();
        if n.trim().is_empty() {
            return Some("Enter a name.".into());
        }
        if image.get().is_empty() {
            return Some("Choose an image.".into());
        }
        if flavor.get().is_empty() {
            return Some("Choose a flavor.".into());
        }
        let c = count.get();
        if c.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .is_none()
        {
            return Some("Count is a whole number from 1 to 100.".into());
        }
        None
    };
    let tried = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tried.set(true);
        if problem().is_some() || refusal().is_some() {
            return;
        }
        busy.set(true);
        failed.set(None);
        leptos::task::spawn_local(async move {
            let r = launch_instances(
                name.get_untracked(),
                image.get_untracked(),
                flavor.get_untracked(),
                key.get_untracked(),
                user_data.get_untracked(),
                count.get_untracked(),
                zone.get_untracked(),
                group.get_untracked(),
                nets.get_untracked().join(","),
            )
            .await;
            busy.set(false);
            match r {
                Ok(done) => {
                    toasts.say(true, done.message);
                    changed.update(|n| *n += 1);
                    close.run(());
                }
                Err(e) => {
                    failed.set(Some(crate::auth::reason(&e)));
                    changed.update(|n| *n += 1);
                }
            }
        });
    };
    let add_key = move |_| {
        let (n, p) = (new_key_name.get_untracked(), new_key_public.get_untracked());
        leptos::task::spawn_local(async move {
            match instance_do(InstanceOp::KeypairCreate {
                name: n.clone(),
                public_key: p,
            })
            .await
            {
                Ok(done) => {
                    extra_keys.update(|k| k.push(n.trim().to_string()));
                    key.set(n.trim().to_string());
                    private_key.set(done.reveal.map(|r| r.secret));
                    adding_key.set(false);
                    toasts.say(true, done.message);
                }
                Err(e) => failed.set(Some(crate::auth::reason(&e))),
            }
        });
    };
    let select = move |test: &'static str,
                       sig: RwSignal<String>,
                       options: Vec<(String, String)>| {
        view! {
            <select data-test=test prop:value=move || sig.get() on:change=move |ev| sig.set(event_target_value(&ev))>
                {options.into_iter().map(|(v, l)| {
                    let selected = v == sig.get_untracked();
                    view! { <option value=v selected=selected>{l}</option> }
                }).collect_view()}
            </select>
        }
    };
    view! {
        <div class="modal-backdrop"></div>
        <div class="modal modal-wide" role="dialog" aria-modal="true" aria-label="Launch instance" data-test="modal"
            on:keydown=move |ev| if ev.key() == "Escape" { close.run(()) }>
            <h2>"Launch instance"</h2>
            // A transition, not a suspense: the dry run re-asked on each change keeps the
            // form on the page instead of replacing it with the fallback meanwhile.
            <Transition fallback=|| view! { <p class="muted">"Loading the choices…"</p> }>
                {move || choices.get().map(|c| match c {
                    Err(e) => view! { <Refused e/> }.into_any(),
                    Ok(c) => {
                        let mut keys: Vec<(String, String)> = vec![(String::new(), "No key pair".into())];
                        keys.extend(c.keypairs.iter().map(|k| (k.clone(), k.clone())));
                        let zones: Vec<(String, String)> = std::iter::once((String::new(), "Any zone".to_string()))
                            .chain(c.zones.iter().map(|z| (z.clone(), z.clone()))).collect();
                        let groups: Vec<(String, String)> = std::iter::once((String::new(), "No server group".to_string()))
                            .chain(c.groups.clone()).collect();
                        view! {
                            <form class="form" novalidate on:submit=submit>
                                <label><span>"Name *"</span>
                                    <input type="text" data-test="field-name" prop:value=move || name.get()
                                        on:input=move |ev| name.set(event_target_value(&ev))/>
                                </label>
                                <label><span>"Image *"</span>{select("field-image", image, c.images.clone())}</label>
                                <label><span>"Flavor *"</span>{select("field-flavor", flavor, c.flavors.clone())}</label>
                                <label><span>"Count"</span>
                                    <input type="text" inputmode="numeric" data-test="field-count" prop:value=move || count.get()
                                        on:input=move |ev| count.set(event_target_value(&ev))/>
                                </label>
                                <fieldset class="choices" data-test="field-networks">
                                    <legend>"Networks"</legend>
                                    {if c.networks.is_empty() {
                                        view! { <p class="muted">"No network yet: the instance gets none (create one in Network > Networks)."</p> }.into_any()
                                    } else {
                                        c.networks.iter().map(|(id, label)| {
                                            let (id1, id2) = (id.clone(), id.clone());
                                            view! {
                                                <label class="check">
                                                    <input type="checkbox" data-test="field-network" value=id.clone()
                                                        prop:checked=move || nets.with(|n| n.contains(&id1))
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            nets.update(|n| { n.retain(|x| *x != id2); if on { n.push(id2.clone()); } });
                                                        }/>
                                                    <span>{label.clone()}</span>
                                                </label>
                                            }
                                        }).collect_view().into_any()
                                    }}
                                </fieldset>
                                <label><span>"Availability zone"</span>{select("field-zone", zone, zones)}</label>
                                <label><span>"Server group"</span>{select("field-group", group, groups)}</label>
                                <label><span>"Key pair"</span>
                                    {move || {
                                        let mut all = keys.clone();
                                        all.extend(extra_keys.get().into_iter().map(|k| (k.clone(), k)));
                                        select("field-key", key, all)
                                    }}
                                    <button type="button" class="btn btn-small btn-secondary" data-test="add-key"
                                        on:click=move |_| adding_key.set(true)>"Import or create a key pair"</button>
                                </label>
                                <Show when=move || adding_key.get()>
                                    <fieldset class="inline-form" data-test="new-key">
                                        <label><span>"Key pair name"</span>
                                            <input type="text" data-test="field-key-name" prop:value=move || new_key_name.get()
                                                on:input=move |ev| new_key_name.set(event_target_value(&ev))/>
                                        </label>
                                        <label><span>"Public key (leave empty to have one made)"</span>
                                            <textarea rows="2" data-test="field-key-public" prop:value=move || new_key_public.get()
                                                on:input=move |ev| new_key_public.set(event_target_value(&ev))></textarea>
                                        </label>
                                        <button type="button" class="btn btn-small" data-test="save-key" on:click=add_key>"Save key pair"</button>
                                    </fieldset>
                                </Show>
                                {move || private_key.get().map(|k| view! {
                                    <div class="reveal" data-test="private-key">
                                        <p>"The private key, shown once: save it now."</p>
                                        <pre>{k}</pre>
                                    </div>
                                })}
                                <label><span>"User data (cloud-init)"</span>
                                    <textarea rows="3" data-test="field-user_data" prop:value=move || user_data.get()
                                        on:input=move |ev| user_data.set(event_target_value(&ev))></textarea>
                                </label>
                                <div class="launch-check" data-test="launch-check">
                                    {move || match check.get() {
                                        Some(Some(Ok(c))) => view! {
                                            <ul class="quota-lines">
                                                {c.quota.iter().map(|(r, used, asked, limit)| {
                                                    let lim = if *limit < 0 { "unlimited".to_string() } else { limit.to_string() };
                                                    view! { <li data-test=format!("quota-{r}")>{format!("{r}: {used} used + {asked} = {} of {lim}", used + asked)}</li> }
                                                }).collect_view()}
                                            </ul>
                                            {c.over_quota.map(|q| view! { <p class="error" data-test="launch-quota-refusal">{q}</p> })}
                                            {c.no_room.map(|q| view! { <p class="error" data-test="launch-capacity-refusal">{q}</p> })}
                                        }.into_any(),
                                        Some(Some(Err(e))) => view! { <p class="error" data-test="launch-check-error">{crate::auth::reason(&e)}</p> }.into_any(),
                                        _ => view! { <p class="muted">"Checking quota and capacity…"</p> }.into_any(),
                                    }}
                                </div>
                                {move || tried.get().then(problem).flatten().map(|p| view! { <p class="error" data-test="field-error">{p}</p> })}
                                {move || failed.get().map(|f| view! { <p class="error" role="alert" data-test="modal-error">{f}</p> })}
                                <div class="actions">
                                    <button type="button" class="btn btn-secondary" data-test="dialog-cancel" on:click=move |_| close.run(())>"Cancel"</button>
                                    <button type="submit" class="btn" data-test="dialog-submit"
                                        disabled=move || busy.get() || refusal().is_some()>"Launch"</button>
                                </div>
                            </form>
                        }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
}
