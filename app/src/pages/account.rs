use leptos::server_fn::ServerFn as _;
use leptos::{prelude::*, task::spawn_local};

use super::{
    account_resource, background_signal, island_hydrated, message, stop_background, Status,
    StatusLine,
};
use crate::{
    api::{
        add_passkey, approval_start, change_email, list_passkeys, passkey_added, passkey_app_id,
        passkey_signals, remove_passkey, rename_passkey, Approval, PasskeyView, SignOut,
    },
    passkey::{self, AuthenticateOptions, PasskeyError, PasskeyFlex, RegisterOptions},
    IslandScripts,
};

/// `2026-11-26T05:40:39.123Z` → `2026-11-26 05:40 UTC`.
fn when(rfc3339: &str) -> String {
    let minutes: String = rfc3339.chars().take(16).collect();
    format!("{} UTC", minutes.replace('T', " "))
}

/// Adds a passkey to the signed-in account, as the guide does (with a dialog,
/// or as an automatic upgrade when `options.conditional`).
async fn add_a_passkey(options: RegisterOptions) -> Result<(), PasskeyError> {
    let server = |e: ServerFnError| PasskeyError::Server {
        code: "site".into(),
        message: message(&e),
    };
    let transaction_id = add_passkey().await.map_err(server)?;
    let app_id = passkey_app_id().await.map_err(server)?;
    let nonce = PasskeyFlex::new(&app_id)
        .register(&transaction_id, options)
        .await?;
    passkey_added(nonce).await.map_err(server)
}

/// Tells the password manager which of the account's passkeys still work, and
/// the account's name (the Signal API, where the browser has it).
async fn signal_account() {
    if let Ok(Some(signals)) = passkey_signals().await {
        passkey::signal_current(&signals);
    }
}

/// Asks one of the signed-in account's passkeys to approve exactly `approval`
/// (a step-up sign-in); returns the nonce that carries the approval.
async fn approve(approval: Approval) -> Result<String, String> {
    let transaction_id = approval_start(approval).await.map_err(|e| message(&e))?;
    let app_id = passkey_app_id().await.map_err(|e| message(&e))?;
    PasskeyFlex::new(&app_id)
        .authenticate(AuthenticateOptions {
            transaction_id: Some(transaction_id),
            ..AuthenticateOptions::default()
        })
        .await
        .map_err(|e| e.to_string())
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let account = account_resource();
    view! {
        <Transition fallback=|| view! { <p>"Loading your account…"</p> }>
            {move || account.get().map(|account| match account {
                Ok(Some(account)) => view! {
                    <Account email=account.email after_password=after_password_sign_in()/>
                    <noscript>
                        <p class="card warn">
                            "Passkeys need JavaScript: turn it on to add, rename or remove them."
                        </p>
                    </noscript>
                    <IslandScripts/>
                }.into_any(),
                Ok(None) => view! {
                    <section class="card narrow">
                        <h1>"You are signed out"</h1>
                        <p><a href="/signin">"Sign in"</a> " to see your account."</p>
                    </section>
                }.into_any(),
                Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// Whether the person just signed in (or up) with their password: asked once,
/// on the server, which renders the page.
fn after_password_sign_in() -> bool {
    #[cfg(feature = "ssr")]
    return crate::api::server::take_after_password();
    #[cfg(not(feature = "ssr"))]
    false
}

/// The account's controls: passkeys (add, rename, remove, the automatic
/// upgrade right `after_password`), the email change, and signing out (a plain
/// form, which works before the island has hydrated).
#[island(lazy)]
fn Account(email: String, after_password: bool) -> impl IntoView {
    island_hydrated();
    let email = RwSignal::new(email);
    let version = RwSignal::new(0_u32);
    let passkeys = Resource::new(move || version.get(), |_| list_passkeys());
    let refresh = move || version.update(|v| *v += 1);
    let can_register = RwSignal::new(None::<bool>);
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<Status>);
    // Right after a password sign-in: an automatic upgrade where the browser
    // can create a passkey without a dialog, else the visible offer. Its abort
    // signal exists from the start, so that anything the person starts first,
    // even before the upgrade's requests are out, stops it.
    let offer = RwSignal::new(false);
    let upgrading = RwSignal::new(false);
    Effect::new(move |_| {
        let signal = background_signal();
        spawn_local(async move {
            let can = passkey::can_register_passkey().await;
            can_register.set(Some(can));
            if !(can && after_password) {
                return stop_background();
            }
            if !passkey::can_use_conditional_create().await {
                stop_background();
                return offer.set(true);
            }
            let Some(signal) = signal.filter(|signal| !signal.aborted()) else {
                return;
            };
            let options = RegisterOptions {
                conditional: true,
                signal: Some(signal),
                ..RegisterOptions::default()
            };
            upgrading.set(true);
            let result = add_a_passkey(options).await;
            upgrading.set(false);
            match result {
                Ok(()) => {
                    status.set(Some(Status::Done(
                        "Your password manager saved a passkey for this account. Next time, sign in with it.".into(),
                    )));
                    refresh();
                }
                Err(PasskeyError::Aborted) => {}
                Err(_) => offer.set(true),
            }
        });
    });
    let add = move |_| {
        stop_background();
        offer.set(false);
        busy.set(true);
        status.set(Some(Status::Working(
            "Follow your browser's prompt to create the passkey…".into(),
        )));
        spawn_local(async move {
            let result = add_a_passkey(RegisterOptions::default()).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    status.set(Some(Status::Done(
                        "Passkey added. Next time, sign in with it.".into(),
                    )));
                    refresh();
                }
                Err(error) => status.set(Some(Status::Failed(error.to_string()))),
            }
        });
    };

    view! {
        <section class="card">
            <h1>"Your account"</h1>
            <p>"Signed in as " <strong data-testid="account-email">{move || email.get()}</strong> "."</p>
            <form method="post" action=SignOut::url()>
                <button type="submit" class="secondary" on:click=move |_| stop_background()>"Sign out"</button>
            </form>
        </section>
        <Transition fallback=|| ()>
            {move || passkeys.get().map(|list| {
                let has_passkeys = list.is_ok_and(|list| !list.is_empty());
                view! { <ChangeEmail email has_passkeys/> }
            })}
        </Transition>
        <section class="card" aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <Show when=move || offer.get()>
                <p class="hint" data-testid="passkey-offer">
                    "You signed in with your password. Add a passkey, and next time your "
                    "fingerprint, face or screen lock is enough."
                </p>
            </Show>
            <Show when=move || upgrading.get()>
                <p class="hint" data-testid="passkey-upgrade">
                    "Your password manager may offer to save a passkey for this account."
                </p>
            </Show>
            {move || match can_register.get() {
                None => view! { <p class="hint">"Checking whether this browser can create passkeys…"</p> }.into_any(),
                Some(true) => view! {
                    <button type="button" data-testid="add-passkey" disabled=move || busy.get() on:click=add>
                        {move || if busy.get() { "Adding a passkey…" } else { "Add a passkey" }}
                    </button>
                }.into_any(),
                Some(false) => view! {
                    <p class="warn" data-testid="passkey-unsupported">
                        "This browser cannot create a passkey here: it has no authenticator that can verify "
                        "you (a fingerprint, a face or a screen lock). Add one from a phone or computer that "
                        "has one; you can keep using your password meanwhile."
                    </p>
                }.into_any(),
            }}
            <StatusLine status/>
            <Transition fallback=|| view! { <p>"Loading your passkeys…"</p> }>
                {move || passkeys.get().map(|list| match list {
                    Ok(list) if list.is_empty() => view! {
                        <p data-testid="no-passkeys">"No passkeys yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="passkeys">
                            {list.into_iter().map(|p| view! { <PasskeyRow passkey=p on_change=refresh/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PasskeyRow(
    passkey: PasskeyView,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let name = RwSignal::new(passkey.name.clone());
    let id = StoredValue::new(passkey.id.clone());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        stop_background();
        busy.set(true);
        spawn_local(async move {
            let result = rename_passkey(id.get_value(), name.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    editing.set(false);
                    error.set(None);
                    on_change();
                    signal_account().await;
                }
                Err(e) => error.set(Some(message(&e))),
            }
        });
    };
    let remove = move |_| {
        stop_background();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let passkey_id = id.get_value();
            let approval = Approval::RemovePasskey {
                passkey_id: passkey_id.clone(),
            };
            let result = match approve(approval).await {
                Ok(nonce) => remove_passkey(passkey_id, nonce)
                    .await
                    .map_err(|e| message(&e)),
                Err(e) => Err(e),
            };
            busy.set(false);
            match result {
                Ok(()) => {
                    on_change();
                    signal_account().await;
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let label = passkey.name.clone();
    let provider = passkey
        .provider
        .clone()
        .unwrap_or_else(|| "Unknown provider".into());
    let last_used = passkey
        .last_used_at
        .as_deref()
        .map(when)
        .unwrap_or_else(|| "never".into());

    view! {
        <li class="passkey" data-testid="passkey">
            {passkey.icon_light.clone().map(|src| view! {
                <img class="provider-icon" src=src alt="" width="32" height="32"/>
            })}
            <div class="passkey-body">
                <Show when=move || editing.get() fallback=move || view! {
                    <p class="passkey-name" data-testid="passkey-name">{move || name.get()}</p>
                }>
                    <form class="inline-form" on:submit=save>
                        <label class="visually-hidden" for=format!("name-{}", id.get_value())>"Passkey name"</label>
                        <input id=format!("name-{}", id.get_value()) bind:value=name maxlength="100" required=true/>
                        <button type="submit" disabled=move || busy.get()>"Save"</button>
                        <button type="button" class="secondary" on:click=move |_| editing.set(false)>"Cancel"</button>
                    </form>
                </Show>
                <p class="meta">
                    {provider} " · added " {when(&passkey.created_at)} " · last used " {last_used} " · "
                    {if passkey.synced { "synced across your devices" } else { "on one device only" }}
                </p>
                <Show when=move || confirming.get()>
                    <p class="warn" role="alert">
                        "Remove \"" {label.clone()} "\"? You will no longer be able to sign in with it. "
                        "To confirm, approve the removal with one of your passkeys. "
                        <button type="button" class="danger" data-testid="confirm-remove" disabled=move || busy.get() on:click=remove>
                            {move || if busy.get() { "Approve with your passkey…" } else { "Yes, remove" }}
                        </button>
                        <button type="button" class="secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                    </p>
                </Show>
                {move || error.get().map(|text| view! { <p class="error" role="alert">{text}</p> })}
            </div>
            <div class="passkey-actions">
                <button type="button" class="secondary" on:click=move |_| editing.set(true)
                    aria-label=format!("Rename {}", passkey.name)>"Rename"</button>
                <button type="button" class="secondary" on:click=move |_| confirming.set(true)
                    aria-label=format!("Remove {}", passkey.name)>"Remove"</button>
            </div>
        </li>
    }
}

/// Changes the account's email: approved with a passkey when the account has
/// one (a step-up of exactly this change), else with the password.
#[component]
fn ChangeEmail(email: RwSignal<String>, has_passkeys: bool) -> impl IntoView {
    let new_email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let status = RwSignal::new(None::<Status>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        stop_background();
        busy.set(true);
        let with_passkey = has_passkeys;
        status.set(Some(Status::Working(if with_passkey {
            "Approve the change with one of your passkeys…".into()
        } else {
            "Changing your email…".into()
        })));
        spawn_local(async move {
            let wanted = new_email.get_untracked();
            let result = if with_passkey {
                match approve(Approval::ChangeEmail {
                    email: wanted.clone(),
                })
                .await
                {
                    Ok(nonce) => change_email(wanted, Some(nonce), None).await,
                    Err(e) => Err(ServerFnError::ServerError(e)),
                }
            } else {
                change_email(wanted, None, Some(password.get_untracked())).await
            };
            busy.set(false);
            match result {
                Ok(changed) => {
                    status.set(Some(Status::Done(format!("Your email is now {changed}."))));
                    email.set(changed);
                    new_email.set(String::new());
                    password.set(String::new());
                    signal_account().await;
                }
                Err(e) => status.set(Some(Status::Failed(message(&e)))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Email"</h2>
            <form class="form" on:submit=submit>
                <label for="new-email">"New email"</label>
                <input id="new-email" type="email" autocomplete="email" required=true
                    data-testid="new-email" bind:value=new_email/>
                {(!has_passkeys).then(|| view! {
                    <label for="email-password">"Your password"</label>
                    <input id="email-password" type="password" autocomplete="current-password"
                        required=true bind:value=password/>
                })}
                <button type="submit" data-testid="change-email" disabled=move || busy.get()>
                    {move || match (busy.get(), has_passkeys) {
                        (true, true) => "Approve with your passkey…",
                        (true, false) => "Changing…",
                        (false, true) => "Change email (approve with a passkey)",
                        (false, false) => "Change email",
                    }}
                </button>
            </form>
            <StatusLine status/>
        </section>
    }
}
