//! The console's pages, one component per route, under `ConsoleLayout`.

use leptos::prelude::*;
use leptos_router::{
    components::Outlet,
    hooks::{use_params_map, use_query_map},
};

use super::{
    api::{
        check_invite, current_operator, get_app, get_user, list_apps, list_events, list_keys,
        list_users, list_webhooks, overview, CreateApp, CreateKey, RenamePasskey,
        RevokeAllPasskeys, RevokeKey, RevokePasskey, RotateSigningKey, SetAuthenticatorPolicy,
        SetSignedResults, SignOut, UpdateApp,
    },
    ceremony::{CopyButton, InviteRegister, PasskeySignIn},
    when, AppOverview, AppView, ConsolePasskey, NewKeyView, OperatorView, UserView,
};
use crate::{
    pages::{island_hydrated, message},
    wire::events::{Event, EventType, Outcome, Tally},
    IslandScripts,
};

/// The signed-in operator, loaded once per page by the layout.
#[derive(Clone, Copy)]
struct Operator(Resource<Result<Option<OperatorView>, ServerFnError>>);

/// A parameter of the page's route (the server renders the page; islands get
/// it as a prop).
fn route_param(name: &str) -> String {
    use_params_map()
        .read_untracked()
        .get(name)
        .unwrap_or_default()
}

/// `None` as "never".
fn when_or_never(at: &Option<String>) -> String {
    at.as_deref().map(when).unwrap_or_else(|| "never".into())
}

/// A query value, percent-encoded.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The error of a finished action, for people.
fn action_error<T, S>(value: S) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, ServerFnError>>> + Send + Sync + 'static,
{
    move || {
        value.get().and_then(Result::err).map(|error| {
            view! { <p class="error" role="alert" data-testid="console-error">{message(&error)}</p> }
        })
    }
}

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    // Read again after a sign-out (the layout stays while its pages change).
    let operator = Resource::new(move || sign_out.version().get(), |_| current_operator());
    provide_context(Operator(operator));
    view! {
        <header class="site-header console-header">
            <a href="/console" class="brand">"Latchkey console"</a>
            <Transition fallback=|| ()>
                {move || operator.get().map(|found| match found {
                    Ok(Some(operator)) => view! {
                        <nav aria-label="Console">
                            <a href="/console">"Overview"</a>
                            <a href="/console/apps">"Apps"</a>
                            <a href="/console/events">"Events"</a>
                            <span class="hint" data-testid="operator-name">{operator.name}</span>
                            <ActionForm action=sign_out>
                                <button type="submit" class="secondary" data-testid="console-sign-out">"Sign out"</button>
                            </ActionForm>
                        </nav>
                    }.into_any(),
                    _ => ().into_any(),
                })}
            </Transition>
        </header>
        <div class="console">
            <Outlet/>
        </div>
    }
}

/// Renders `children` for a signed-in operator; otherwise says how to sign in.
#[component]
fn Signed(children: ChildrenFn) -> impl IntoView {
    let Operator(operator) = expect_context::<Operator>();
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || operator.get().map(|found| match found {
                Ok(Some(_)) => children().into_any(),
                Ok(None) => {
                    #[cfg(feature = "ssr")]
                    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                        response.set_status(http::StatusCode::UNAUTHORIZED);
                    }
                    view! {
                        <section class="card narrow" data-testid="console-signed-out">
                            <h1>"Sign in to the console"</h1>
                            <p>"You are not signed in, or your session has ended. "
                               <a href="/console/signin">"Sign in with your passkey"</a> "."</p>
                        </section>
                    }.into_any()
                }
                Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let Operator(operator) = expect_context::<Operator>();
    view! {
        <section class="card narrow">
            <h1>"Latchkey console"</h1>
            <Transition fallback=|| ()>
                {move || operator.get().map(|found| match found {
                    Ok(Some(operator)) => view! {
                        <p>"You are signed in as " {operator.name} ". " <a href="/console">"Open the console"</a> "."</p>
                    }.into_any(),
                    _ => view! {
                        <p>"Operators sign in with a passkey. No passkey yet? Ask an operator to run "
                           <code>"latchkey admin invite --name YOUR-NAME"</code> " and open the link it prints."</p>
                        <PasskeySignIn/>
                        <IslandScripts/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invite = Resource::new(token, check_invite);
    view! {
        <section class="card narrow">
            <h1>"Join the Latchkey console"</h1>
            <Transition fallback=|| view! { <p>"Checking your invite…"</p> }>
                {move || invite.get().map(|checked| match checked {
                    Ok(name) => view! {
                        <p>"Welcome, " <strong>{name}</strong> ". Create a passkey to sign in to the console "
                           "with: your device will ask you to confirm it is you. This link works once."</p>
                        <InviteRegister token=token()/>
                        <IslandScripts/>
                    }.into_any(),
                    Err(error) => view! {
                        <p class="error" data-testid="invite-refused">{message(&error)}</p>
                        <p>"Already have a passkey? " <a href="/console/signin">"Sign in"</a> "."</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <Signed>
            <Overview/>
        </Signed>
    }
}

/// "12 of 13 (92%)" for a tally.
fn tally(t: &Tally) -> String {
    let all = t.succeeded + t.failed;
    match t.success_rate() {
        Some(rate) => format!("{} of {all} succeeded ({rate:.0}%)", t.succeeded),
        None => "none".to_owned(),
    }
}

#[component]
fn Overview() -> impl IntoView {
    let apps = Resource::new(|| (), |_| overview());
    view! {
        <section class="card">
            <h1>"Overview"</h1>
            <p class="meta">"The last 24 hours, per app."</p>
            <Transition fallback=|| view! { <p>"Loading apps…"</p> }>
                {move || apps.get().map(|apps| match apps {
                    Ok(apps) if apps.is_empty() => view! {
                        <p>"No apps yet. " <a href="/console/apps">"Create the first one"</a> "."</p>
                    }.into_any(),
                    Ok(apps) => view! {
                        <table class="table" data-testid="overview">
                            <thead><tr><th>"App"</th><th>"Sign-ins"</th><th>"Registrations"</th><th>"Top failures"</th></tr></thead>
                            <tbody>
                                {apps.into_iter().map(|AppOverview { app, summary }| view! {
                                    <tr data-testid="overview-app">
                                        <td><a href=format!("/console/apps/{}", app.id)>{app.name}</a></td>
                                        <td>{tally(&summary.sign_ins)}</td>
                                        <td>{tally(&summary.registrations)}</td>
                                        <td>{if summary.top_failures.is_empty() {
                                            "none".to_owned()
                                        } else {
                                            summary.top_failures.iter().map(|(code, n)| format!("{code} ×{n}")).collect::<Vec<_>>().join(", ")
                                        }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <Signed>
            <Events/>
        </Signed>
    }
}

/// The events page's query, in the order `list_events` takes it.
const EVENT_FIELDS: [&str; 8] = [
    "app", "type", "outcome", "user", "ip", "since", "until", "cursor",
];

#[component]
fn Events() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &str| query.read().get(name).unwrap_or_default();
    let filters = move || EVENT_FIELDS.map(field);
    let events = Resource::new(
        filters,
        |[app, event_type, outcome, user, ip, since, until, cursor]| {
            list_events(app, event_type, outcome, user, ip, since, until, cursor)
        },
    );
    let apps = Resource::new(|| (), |_| list_apps());
    // The link to the next page: these filters, the next cursor.
    let next = move |cursor: String| {
        let mut pairs: Vec<String> = EVENT_FIELDS[..7]
            .iter()
            .map(|name| (name, field(name)))
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", encode(&value)))
            .collect();
        pairs.push(format!("cursor={}", encode(&cursor)));
        format!("/console/events?{}", pairs.join("&"))
    };
    view! {
        <section class="card">
            <h1>"Events"</h1>
            <form method="get" class="filters" data-testid="event-filters">
                <label>"App"
                    <select name="app">
                        <option value="">"All apps"</option>
                        <option value="console" selected=move || field("app") == "console">"The console (operators)"</option>
                        <Transition fallback=|| ()>
                            {move || apps.get().and_then(Result::ok).map(|apps| apps.into_iter().map(|app| {
                                let selected = field("app") == app.id;
                                view! { <option value=app.id.clone() selected=selected>{app.name}</option> }
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <label>"Type"
                    <select name="type">
                        <option value="">"Any"</option>
                        {EventType::ALL.into_iter().map(|t| view! {
                            <option value=t.as_str() selected=move || field("type") == t.as_str()>{t.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Outcome"
                    <select name="outcome">
                        <option value="">"Any"</option>
                        <option value="success" selected=move || field("outcome") == "success">"success"</option>
                        <option value="failure" selected=move || field("outcome") == "failure">"failure"</option>
                    </select>
                </label>
                <label>"User (external id)" <input name="user" value=move || field("user") size="14"/></label>
                <label>"IP" <input name="ip" value=move || field("ip") size="12"/></label>
                <label>"Since" <input name="since" value=move || field("since") placeholder="2026-01-16T00:00:00Z" size="20"/></label>
                <label>"Until" <input name="until" value=move || field("until") placeholder="2026-01-17T00:00:00Z" size="20"/></label>
                <button type="submit" data-testid="filter-events">"Filter"</button>
            </form>
            <Transition fallback=|| view! { <p>"Loading events…"</p> }>
                {move || events.get().map(|page| match page {
                    Ok(page) if page.events.is_empty() => view! { <p data-testid="no-events">"No events match."</p> }.into_any(),
                    Ok(page) => view! {
                        <table class="table" data-testid="events">
                            <thead><tr><th>"When"</th><th>"Type"</th><th>"Outcome"</th><th>"App"</th><th>"User"</th><th>"Actor"</th><th>"IP"</th><th>"Request"</th></tr></thead>
                            <tbody>
                                {page.events.into_iter().map(|event| view! { <EventRow event/> }).collect_view()}
                            </tbody>
                        </table>
                        {page.next_cursor.map(|cursor| view! {
                            <p><a href=next(cursor) rel="next" data-testid="older-events">"Older →"</a></p>
                        })}
                    }.into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EventRow(event: Event) -> impl IntoView {
    let failed = event.outcome == Outcome::Failure;
    let outcome = match &event.code {
        Some(code) if failed => format!("failure: {code}"),
        _ => event.outcome.as_str().to_owned(),
    };
    // A user of an app links to that user (found by external id).
    let user = match (&event.app_id, &event.external_id) {
        (Some(app), Some(external_id)) => view! {
            <a href=format!("/console/apps/{app}/users?q={}", encode(external_id)) data-testid="event-user">{external_id.clone()}</a>
        }.into_any(),
        (_, Some(external_id)) => view! { <span>{external_id.clone()}</span> }.into_any(),
        _ => ().into_any(),
    };
    let app = event.app_id.clone().map(|app| view! {
        <a href=format!("/console/apps/{app}")><code>{app.chars().take(8).collect::<String>()} "…"</code></a>
    });
    view! {
        <tr data-testid="event" data-type=event.event_type.as_str()>
            <td>{when(&event.created_at)}</td>
            <td><code class="nowrap">{event.event_type.as_str()}</code></td>
            <td class=if failed { "outcome-failure" } else { "outcome-success" }>{outcome}</td>
            <td>{app}</td>
            <td>{user}</td>
            <td><code>{event.actor.clone().unwrap_or_default()}</code></td>
            <td>{event.ip.clone().unwrap_or_default()}</td>
            <td><code title=event.request_id.clone().unwrap_or_default()>{event.request_id.clone().unwrap_or_default().chars().take(8).collect::<String>()}</code></td>
        </tr>
    }
}

#[component]
pub fn AppsPage() -> impl IntoView {
    view! {
        <Signed>
            <Apps/>
            <IslandScripts/>
        </Signed>
    }
}

/// The apps, and the form that creates one (its first key is shown once).
#[island(lazy)]
fn Apps() -> impl IntoView {
    island_hydrated();
    let create = ServerAction::<CreateApp>::new();
    let apps = Resource::new(move || create.version().get(), |_| list_apps());
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="card">
            <h1>"Apps"</h1>
            <Transition fallback=|| view! { <p>"Loading apps…"</p> }>
                {move || apps.get().map(|apps| match apps {
                    Ok(apps) => view! { <AppsTable apps/> }.into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="card" aria-labelledby="create-heading">
            <h2 id="create-heading">"Create an app"</h2>
            {move || created().map(|key| view! { <NewKey key/> })}
            <ActionForm action=create attr:class="form" attr:data-testid="create-app">
                <AppFields app=None/>
                <button type="submit" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create the app" }}
                </button>
            </ActionForm>
            {action_error(create.value())}
        </section>
    }
}

#[component]
fn AppsTable(apps: Vec<AppView>) -> impl IntoView {
    if apps.is_empty() {
        return view! { <p>"No apps yet: create one below."</p> }.into_any();
    }
    view! {
        <table class="table" data-testid="apps">
            <thead><tr><th>"Name"</th><th>"App id"</th><th>"RP ID"</th><th>"Origins"</th><th>"Created"</th></tr></thead>
            <tbody>
                {apps.into_iter().map(|app| view! {
                    <tr>
                        <td><a href=format!("/console/apps/{}", app.id)>{app.name.clone()}</a>
                            {app.builtin.then_some(" (built-in site)")}</td>
                        <td><code>{app.id}</code></td>
                        <td>{app.rp_id}</td>
                        <td>{app.origins.join(", ")}</td>
                        <td>{when(&app.created_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The fields of an app, empty (create) or filled in (edit).
#[component]
fn AppFields(app: Option<AppView>) -> impl IntoView {
    let value = |f: fn(&AppView) -> String| app.as_ref().map(f).unwrap_or_default();
    let name = value(|a| a.name.clone());
    let origins = value(|a| a.origins.join("\n"));
    let related = value(|a| a.related_origins.join("\n"));
    let rp_id = value(|a| a.rp_id.clone());
    let timeout = value(|a| a.webauthn_timeout_secs.to_string());
    let transaction = value(|a| a.transaction_ttl_secs.to_string());
    let nonce = value(|a| a.nonce_ttl_secs.to_string());
    let max = value(|a| a.max_passkeys_per_user.to_string());
    view! {
        <label for="app-name">"Name"</label>
        <input id="app-name" name="name" value=name required=true maxlength="100"/>
        <label for="app-origins">"Origins"</label>
        <textarea id="app-origins" name="origins" rows="3" required=true>{origins}</textarea>
        <p class="hint">"One a line, exactly: https://host[:port], http://localhost[:port], or android:apk-key-hash: and the app's 43-character signing-certificate hash"</p>
        // Not "… origins": the label "Origins" stays the only one that says so.
        <label for="app-related-origins">"Related sites"</label>
        <textarea id="app-related-origins" name="related_origins" rows="2">{related}</textarea>
        <p class="hint">"Related origins: web origins outside the RP ID that may use its passkeys, exactly https://host[:port], one a line (at most 5 sites); the RP ID's host serves them at /.well-known/webauthn. Blank: none."</p>
        <label for="app-rp-id">"RP ID"</label>
        <input id="app-rp-id" name="rp_id" value=rp_id placeholder="the first origin's host"/>
        <label for="app-timeout">"WebAuthn timeout (seconds, 30 to 1800)"</label>
        <input id="app-timeout" name="webauthn_timeout" value=timeout inputmode="numeric" placeholder="300"/>
        <label for="app-transaction">"Transaction lifetime (seconds, 10 to 3600)"</label>
        <input id="app-transaction" name="transaction_ttl" value=transaction inputmode="numeric" placeholder="300"/>
        <label for="app-nonce">"Nonce lifetime (seconds, 5 to 600)"</label>
        <input id="app-nonce" name="nonce_ttl" value=nonce inputmode="numeric" placeholder="60"/>
        <label for="app-max">"Passkeys per user (1 to 100)"</label>
        <input id="app-max" name="max_passkeys" value=max inputmode="numeric" placeholder="20"/>
    }
}

/// A new API key, shown once, with a copy button.
#[component]
fn NewKey(key: NewKeyView) -> impl IntoView {
    view! {
        <div class="ok new-key" data-testid="new-key">
            <p>"API key " <code>{key.key_id.clone()}</code> " of app " <a href=format!("/console/apps/{}", key.app_id)><code>{key.app_id.clone()}</code></a>
               ". It is shown only now: store it as a secret of your backend."</p>
            <p class="secret"><code data-testid="new-key-secret">{key.api_key.clone()}</code></p>
            <CopyButton text=key.api_key label="Copy the key".to_owned()/>
        </div>
    }
}

#[component]
pub fn AppPage() -> impl IntoView {
    view! {
        <Signed>
            <AppDetail app_id=route_param("app")/>
            <IslandScripts/>
        </Signed>
    }
}

/// An app's signed results: on or off, where its JWKS is, and its key's rotation.
#[component]
fn SignedResults(app: AppView, signed: ServerAction<SetSignedResults>) -> impl IntoView {
    let rotate = ServerAction::<RotateSigningKey>::new();
    let jwks = format!("/v1/apps/{}/.well-known/jwks.json", app.id);
    let on = app.signed_results;
    let app_id = app.id.clone();
    view! {
        <section class="card" aria-labelledby="signed-heading" data-testid="signed-results">
            <h2 id="signed-heading">"Signed results"</h2>
            <p data-testid="signed-results-state">
                {if on { "On: each finish also answers a JWT, verifiable against " } else { "Off: finishes answer the nonce alone. When on, they also answer a JWT, verifiable against " }}
                <a href=jwks.clone()><code>{jwks.clone()}</code></a>
            </p>
            <ActionForm action=signed attr:data-testid="toggle-signed-results">
                <input type="hidden" name="app_id" value=app.id.clone()/>
                <input type="hidden" name="on" value=if on { "false" } else { "true" }/>
                <button type="submit" disabled=move || signed.pending().get()>
                    {if on { "Turn signed results off" } else { "Turn signed results on" }}
                </button>
            </ActionForm>
            {action_error(signed.value())}
            {on.then(|| view! {
                <details>
                    <summary>"Rotate the signing key…"</summary>
                    <ActionForm action=rotate attr:data-testid="rotate-signing-key">
                        <input type="hidden" name="app_id" value=app_id.clone()/>
                        <p class="warn">"New tokens carry the new key's id; the old public key stays in the JWKS until the tokens it signed have expired."</p>
                        <button type="submit" data-testid="confirm-rotate-signing-key">"Yes, rotate the key"</button>
                    </ActionForm>
                </details>
            })}
            {move || rotate.value().get().and_then(Result::ok).map(|kid| view! {
                <p class="ok" role="status">"Rotated: new tokens carry " <code>{kid}</code> "."</p>
            })}
            {action_error(rotate.value())}
        </section>
    }
}

/// An app's authenticator policy: the AAGUIDs allowed or denied, named from
/// the bundled list, and "attested only"; a form to change them (a refusal is
/// shown, and nothing changes).
#[component]
fn AuthenticatorPolicy(
    app: AppView,
    policy: ServerAction<SetAuthenticatorPolicy>,
) -> impl IntoView {
    let current = app.policy.clone();
    let summary = match current.mode.as_str() {
        "allow" => "Only the authenticators listed may add passkeys",
        "deny" => "Any authenticator but those listed may add passkeys",
        _ => "Any authenticator may add passkeys",
    };
    let listed = current
        .aaguids
        .iter()
        .map(|a| a.aaguid.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let mode = current.mode.clone();
    let saved = move || matches!(policy.value().get(), Some(Ok(())));
    view! {
        <section class="card" aria-labelledby="policy-heading" data-testid="authenticator-policy">
            <h2 id="policy-heading">"Authenticator policy"</h2>
            <p data-testid="policy-state">
                {summary}
                {current.attested_only.then_some(", attested by a trusted CA (in effect, security keys)")}
                "."
            </p>
            {(!current.aaguids.is_empty()).then(|| view! {
                <ul data-testid="policy-aaguids">
                    {current.aaguids.iter().map(|a| view! {
                        <li><code>{a.aaguid.clone()}</code> " " {a.name.clone().unwrap_or_else(|| "(not in the bundled list)".into())}</li>
                    }).collect_view()}
                </ul>
            })}
            <ActionForm action=policy attr:class="form" attr:data-testid="edit-policy">
                <input type="hidden" name="app_id" value=app.id.clone()/>
                <label>"AAGUIDs"
                    <select name="mode">
                        <option value="none" selected=mode == "none">"any authenticator"</option>
                        <option value="allow" selected=mode == "allow">"only those listed (allow-list)"</option>
                        <option value="deny" selected=mode == "deny">"all but those listed (deny-list)"</option>
                    </select>
                </label>
                <label>"AAGUIDs, one a line"
                    <textarea name="aaguids" rows="3">{listed}</textarea>
                </label>
                <label>"Attestation"
                    <select name="attested_only">
                        <option value="false" selected=!current.attested_only>"any (the AAGUID is what the authenticator says)"</option>
                        <option value="true" selected=current.attested_only>"attested by a trusted CA only"</option>
                    </select>
                </label>
                <button type="submit" disabled=move || policy.pending().get()>"Save the policy"</button>
            </ActionForm>
            {move || saved().then(|| view! { <p class="ok" role="status">"Saved."</p> })}
            {action_error(policy.value())}
        </section>
    }
}

/// An app: its settings, signed results, authenticator policy, API keys (a
/// new one is shown once) and webhooks.
#[island(lazy)]
fn AppDetail(app_id: String) -> impl IntoView {
    island_hydrated();
    let app_id = StoredValue::new(app_id);
    let app_id = move || app_id.get_value();
    let update = ServerAction::<UpdateApp>::new();
    let create_key = ServerAction::<CreateKey>::new();
    let revoke_key = ServerAction::<RevokeKey>::new();
    let signed = ServerAction::<SetSignedResults>::new();
    let policy = ServerAction::<SetAuthenticatorPolicy>::new();
    let app = Resource::new(
        move || {
            (
                app_id(),
                update.version().get(),
                signed.version().get(),
                policy.version().get(),
            )
        },
        |(id, _, _, _)| get_app(id),
    );
    let keys = Resource::new(
        move || {
            (
                app_id(),
                create_key.version().get(),
                revoke_key.version().get(),
            )
        },
        |(id, _, _)| list_keys(id),
    );
    let updated = move || matches!(update.value().get(), Some(Ok(())));
    view! {
        <Transition fallback=|| view! { <p>"Loading the app…"</p> }>
            {move || app.get().map(|found| match found {
                Ok(app) => {
                    let signed_app = app.clone();
                    let policy_app = app.clone();
                    view! {
                    <section class="card">
                        <h1 data-testid="app-name">{app.name.clone()}</h1>
                        <p class="meta">"App id " <code>{app.id.clone()}</code> " · created " {when(&app.created_at)}</p>
                        <p><a href=format!("/console/apps/{}/users", app.id) data-testid="app-users">"Users and passkeys →"</a>
                           " · " <a href=format!("/console/events?app={}", app.id)>"Events →"</a></p>
                    </section>
                    <section class="card" aria-labelledby="settings-heading">
                        <h2 id="settings-heading">"Settings"</h2>
                        <ActionForm action=update attr:class="form" attr:data-testid="edit-app">
                            <input type="hidden" name="app_id" value=app.id.clone()/>
                            <AppFields app=Some(app.clone())/>
                            <button type="submit" disabled=move || update.pending().get()>
                                {move || if update.pending().get() { "Saving…" } else { "Save the settings" }}
                            </button>
                        </ActionForm>
                        {move || updated().then(|| view! { <p class="ok" role="status">"Saved."</p> })}
                        {action_error(update.value())}
                    </section>
                    <SignedResults app=signed_app signed/>
                    <AuthenticatorPolicy app=policy_app policy/>
                }.into_any()
                }
                Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
            })}
        </Transition>
        <section class="card" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"API keys"</h2>
            <ActionForm action=create_key attr:data-testid="create-key">
                <input type="hidden" name="app_id" value=app_id/>
                <button type="submit" disabled=move || create_key.pending().get()>
                    {move || if create_key.pending().get() { "Creating…" } else { "Create an API key" }}
                </button>
            </ActionForm>
            {move || create_key.value().get().and_then(Result::ok).map(|key| view! { <NewKey key/> })}
            {action_error(create_key.value())}
            {action_error(revoke_key.value())}
            <Transition fallback=|| view! { <p>"Loading keys…"</p> }>
                {move || keys.get().map(|found| match found {
                    Ok(keys) => view! {
                        <table class="table" data-testid="keys">
                            <thead><tr><th>"Key id (prefix)"</th><th>"Created"</th><th>"Last used"</th><th>"State"</th><th></th></tr></thead>
                            <tbody>
                                {keys.into_iter().map(|key| {
                                    let live = key.revoked_at.is_none();
                                    let revoked_id = key.id.clone();
                                    view! {
                                        <tr data-testid="key" data-key-id=key.id.clone()>
                                            <td><code title=key.id.clone()>{key.id.chars().take(8).collect::<String>()} "…"</code></td>
                                            <td>{when(&key.created_at)}</td>
                                            <td>{when_or_never(&key.last_used_at)}</td>
                                            <td>{key.revoked_at.as_deref().map(|at| format!("revoked {}", when(at))).unwrap_or_else(|| "live".into())}</td>
                                            <td>{live.then(|| view! {
                                                <details>
                                                    <summary>"Revoke…"</summary>
                                                    <ActionForm action=revoke_key>
                                                        <input type="hidden" name="app_id" value=app_id()/>
                                                        <input type="hidden" name="key_id" value=revoked_id.clone()/>
                                                        <p class="warn">"Requests with this key will be refused within a second."</p>
                                                        <button type="submit" class="danger" data-testid="confirm-revoke-key">"Yes, revoke this key"</button>
                                                    </ActionForm>
                                                </details>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
        {move || view! { <Webhooks app_id=app_id()/> }}
    }
}

/// An app's webhook endpoints and their recent deliveries (read-only: the
/// CLI and the API add, remove and rotate them).
#[component]
fn Webhooks(app_id: String) -> impl IntoView {
    let webhooks = Resource::new(move || app_id.clone(), list_webhooks);
    view! {
        <section class="card" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">"Webhooks"</h2>
            <Transition fallback=|| view! { <p>"Loading webhooks…"</p> }>
                {move || webhooks.get().map(|found| match found {
                    Ok(found) if found.is_empty() => view! {
                        <p data-testid="no-webhooks">"No webhooks: add one with " <code>"latchkey webhooks add"</code> " or the API."</p>
                    }.into_any(),
                    Ok(found) => found.into_iter().map(|endpoint| {
                        let types = if endpoint.webhook.event_types.is_empty() {
                            "every event".to_owned()
                        } else {
                            endpoint.webhook.event_types.join(", ")
                        };
                        view! {
                            <div data-testid="webhook" data-webhook-id=endpoint.webhook.id.clone()>
                                <h3><code>{endpoint.webhook.url.clone()}</code></h3>
                                <p class="meta"><code>{endpoint.webhook.id.clone()}</code> " · " {types} " · created " {when(&endpoint.webhook.created_at)}</p>
                                {if endpoint.messages.is_empty() {
                                    view! { <p>"No deliveries yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="table" data-testid="deliveries">
                                            <thead><tr><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Next attempt"</th></tr></thead>
                                            <tbody>
                                                {endpoint.messages.into_iter().map(|m| {
                                                    let last = m.attempts.last().map(|a| match (&a.status_code, &a.error) {
                                                        (Some(code), _) => format!("{code} in {} ms", a.duration_ms),
                                                        (None, Some(error)) => error.clone(),
                                                        (None, None) => String::new(),
                                                    }).unwrap_or_default();
                                                    view! {
                                                        <tr data-testid="delivery" title=m.id.clone()>
                                                            <td>{m.event_type.clone().unwrap_or_else(|| "(swept)".into())}</td>
                                                            <td>{m.status.clone()}</td>
                                                            <td>{m.attempt_count}</td>
                                                            <td>{last}</td>
                                                            <td>{m.next_attempt_at.as_deref().map(when).unwrap_or_default()}</td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </div>
                        }
                    }).collect_view().into_any(),
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Signed>
            <Users/>
        </Signed>
    }
}

#[component]
fn Users() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let app_id = move || params.read().get("app").unwrap_or_default();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move || query.read().get("page").unwrap_or_default();
    let users = Resource::new(
        move || (app_id(), q(), page()),
        |(id, q, page)| list_users(id, q, page),
    );
    view! {
        <section class="card">
            <h1>"Users"</h1>
            <p><a href=move || format!("/console/apps/{}", app_id())>"← The app"</a></p>
            <form method="get" class="inline-form" role="search">
                <label class="visually-hidden" for="user-search">"External id starts with"</label>
                <input id="user-search" name="q" value=q placeholder="External id starts with…" data-testid="user-search"/>
                <button type="submit">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p>"Loading users…"</p> }>
                {move || users.get().map(|found| match found {
                    Ok(found) if found.users.is_empty() => view! { <p data-testid="no-users">"No users match."</p> }.into_any(),
                    Ok(found) => {
                        let (current, pages) = (found.page, found.pages);
                        let link = move |to: i64| format!("/console/apps/{}/users?q={}&page={to}", app_id(), encode(&q()));
                        view! {
                            <p class="meta">{found.total} " users · page " {current} " of " {pages}</p>
                            <table class="table" data-testid="users">
                                <thead><tr><th>"External id"</th><th>"Name"</th><th>"Created"</th><th>"Last sign-in"</th><th>"Sign-ins"</th></tr></thead>
                                <tbody>
                                    {found.users.into_iter().map(|user: UserView| view! {
                                        <tr>
                                            <td><a href=format!("/console/apps/{}/users/{}", app_id(), user.id)>{user.external_id}</a></td>
                                            <td>{user.display_name}</td>
                                            <td>{when(&user.created_at)}</td>
                                            <td>{when_or_never(&user.last_login_at)}</td>
                                            <td>{user.login_count}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <nav class="actions" aria-label="Pages">
                                {(current > 1).then(|| view! { <a href=link(current - 1) rel="prev">"← Newer"</a> })}
                                {(current < pages).then(|| view! { <a href=link(current + 1) rel="next">"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <Signed>
            <User app_id=route_param("app") user_id=route_param("user")/>
            <IslandScripts/>
        </Signed>
    }
}

/// A user of an app and their passkeys: rename, revoke one, revoke all.
#[island(lazy)]
fn User(app_id: String, user_id: String) -> impl IntoView {
    island_hydrated();
    let (app_id, user_id) = (StoredValue::new(app_id), StoredValue::new(user_id));
    let (app_id, user_id) = (move || app_id.get_value(), move || user_id.get_value());
    let rename = ServerAction::<RenamePasskey>::new();
    let revoke = ServerAction::<RevokePasskey>::new();
    let revoke_all = ServerAction::<RevokeAllPasskeys>::new();
    let user = Resource::new(
        move || {
            (
                app_id(),
                user_id(),
                rename.version().get(),
                revoke.version().get(),
                revoke_all.version().get(),
            )
        },
        |(app, user, _, _, _)| get_user(app, user),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading the user…"</p> }>
            {move || user.get().map(|found| match found {
                Ok(detail) => {
                    let user = detail.user;
                    let count = detail.passkeys.len();
                    view! {
                        <section class="card">
                            <h1 data-testid="user-external-id">{user.external_id.clone()}</h1>
                            <p class="meta">{user.display_name.clone()} " · user " <code>{user.id.clone()}</code>
                               " · created " {when(&user.created_at)} " · last sign-in " {when_or_never(&user.last_login_at)}
                               " · " {user.login_count} " sign-ins"</p>
                            <p><a href=format!("/console/apps/{}/users", app_id())>"← Users"</a>
                               " · " <a href=format!("/console/events?app={}&user={}", app_id(), encode(&user.external_id))>"This user's events →"</a></p>
                        </section>
                        <section class="card" aria-labelledby="passkeys-heading">
                            <h2 id="passkeys-heading">"Passkeys (" {count} ")"</h2>
                            {action_error(rename.value())}
                            {action_error(revoke.value())}
                            {action_error(revoke_all.value())}
                            {if detail.passkeys.is_empty() {
                                view! { <p data-testid="no-passkeys">"This user has no passkeys."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="passkeys">
                                        {detail.passkeys.into_iter().map(|passkey| view! {
                                            <PasskeyItem passkey app_id=app_id() user_id=user.id.clone() rename revoke/>
                                        }).collect_view()}
                                    </ul>
                                    <details class="revoke-all">
                                        <summary>"Revoke all passkeys…"</summary>
                                        <ActionForm action=revoke_all>
                                            <input type="hidden" name="app_id" value=app_id()/>
                                            <input type="hidden" name="user_id" value=user.id.clone()/>
                                            <p class="warn">"The user will no longer sign in with any of their " {count} " passkeys."</p>
                                            <button type="submit" class="danger" data-testid="confirm-revoke-all">"Yes, revoke all"</button>
                                        </ActionForm>
                                    </details>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                }
                Err(error) => view! { <p class="error">{message(&error)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn PasskeyItem(
    passkey: ConsolePasskey,
    app_id: String,
    user_id: String,
    rename: ServerAction<RenamePasskey>,
    revoke: ServerAction<RevokePasskey>,
) -> impl IntoView {
    let provider = passkey
        .provider
        .clone()
        .unwrap_or_else(|| "Unknown provider".into());
    let (rename_app, rename_user) = (app_id.clone(), user_id.clone());
    let (rename_id, revoke_id) = (passkey.id.clone(), passkey.id.clone());
    let input_id = format!("name-{}", passkey.id);
    let (current_name, revoked_name) = (passkey.name.clone(), passkey.name.clone());
    view! {
        <li class="passkey" data-testid="passkey">
            {passkey.icon.clone().map(|src| view! { <img class="provider-icon" src=src alt="" width="32" height="32"/> })}
            <div class="passkey-body">
                <p class="passkey-name" data-testid="passkey-name">{passkey.name.clone()}</p>
                <p class="meta">
                    {provider} " · added " {when(&passkey.created_at)} " · last used " {when_or_never(&passkey.last_used_at)}
                    " · " {if passkey.synced { "synced" } else { "device-bound" }}
                    " · counter " {passkey.counter} " · used " {passkey.usage_count} " times"
                </p>
                <details>
                    <summary>"Rename…"</summary>
                    <ActionForm action=rename attr:class="inline-form">
                        <input type="hidden" name="app_id" value=rename_app/>
                        <input type="hidden" name="user_id" value=rename_user/>
                        <input type="hidden" name="device_id" value=rename_id/>
                        <label class="visually-hidden" for=input_id.clone()>"New name"</label>
                        <input id=input_id name="name" value=current_name maxlength="100" required=true data-testid="passkey-new-name"/>
                        <button type="submit" data-testid="rename-passkey">"Save"</button>
                    </ActionForm>
                </details>
                <details>
                    <summary>"Revoke…"</summary>
                    <ActionForm action=revoke>
                        <input type="hidden" name="app_id" value=app_id/>
                        <input type="hidden" name="user_id" value=user_id/>
                        <input type="hidden" name="device_id" value=revoke_id/>
                        <p class="warn">"The user will no longer sign in with \"" {revoked_name} "\"."</p>
                        <button type="submit" class="danger" data-testid="confirm-revoke-passkey">"Yes, revoke it"</button>
                    </ActionForm>
                </details>
            </div>
        </li>
    }
}
