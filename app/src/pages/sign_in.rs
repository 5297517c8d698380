use leptos::server_fn::ServerFn as _;
use leptos::{prelude::*, task::spawn_local};

use super::{
    background_signal, form_echo, go_to, island_hydrated, message, stop_background, FormError,
    Status, StatusLine,
};
use crate::{
    api::{passkey_app_id, passkey_sign_in_finish, passkey_sign_in_start, SignIn},
    passkey::{self, AuthenticateOptions, PasskeyError, PasskeyFlex},
    IslandScripts,
};

/// Why a passkey sign-in did not happen: stopped on purpose (another ceremony
/// took over), or a sentence for the person.
enum Failure {
    Aborted,
    Message(String),
}

impl From<PasskeyError> for Failure {
    fn from(error: PasskeyError) -> Self {
        match error {
            PasskeyError::Aborted => Self::Aborted,
            other => Self::Message(other.to_string()),
        }
    }
}

impl From<ServerFnError> for Failure {
    fn from(error: ServerFnError) -> Self {
        Self::Message(message(&error))
    }
}

/// Runs a passkey sign-in to the end: the ceremony, then the nonce for a session.
async fn passkey_sign_in(options: AuthenticateOptions) -> Result<(), Failure> {
    let app_id = passkey_app_id().await?;
    let nonce = PasskeyFlex::new(&app_id).authenticate(options).await?;
    Ok(passkey_sign_in_finish(nonce).await?)
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let echo = form_echo("/signin");
    view! {
        <SignInForm email=echo.email error=echo.error/>
        <noscript>
            <p class="card narrow warn">
                "Passkeys need JavaScript: turn it on to use them, or sign in with your password."
            </p>
        </noscript>
        <IslandScripts/>
    }
}

/// The sign-in card: the password form is a plain form (it posts without
/// JavaScript too, and the server answers with the account page or with this
/// page, `email` kept and `error` said); the passkey buttons and the autofill
/// request run once the island has hydrated.
#[island]
fn SignInForm(email: String, error: String) -> impl IntoView {
    island_hydrated();
    let submitting = RwSignal::new(false);
    let email = RwSignal::new(email);
    let status = RwSignal::new(None::<Status>);
    let busy = RwSignal::new(false);
    let can_use_passkeys = RwSignal::new(None::<bool>);

    Effect::new(move |_| {
        spawn_local(async move {
            can_use_passkeys.set(Some(passkey::can_authenticate_with_passkey().await));
            if !passkey::can_use_conditional_mediation().await {
                return;
            }
            // The autofill request waits in the background; any other ceremony aborts it first.
            let Some(signal) = background_signal() else {
                return;
            };
            let options = AuthenticateOptions {
                conditional: true,
                signal: Some(signal),
                ..Default::default()
            };
            match passkey_sign_in(options).await {
                Ok(()) => go_to("/account"),
                Err(Failure::Aborted) => {}
                Err(Failure::Message(error)) => status.set(Some(Status::Failed(error))),
            }
        });
    });

    let run = move |label: &'static str, with_email: bool| {
        stop_background();
        busy.set(true);
        status.set(Some(Status::Working(label.to_owned())));
        spawn_local(async move {
            let result = async {
                let transaction_id = if with_email {
                    Some(passkey_sign_in_start(email.get_untracked()).await?)
                } else {
                    None
                };
                passkey_sign_in(AuthenticateOptions {
                    transaction_id,
                    ..Default::default()
                })
                .await
            }
            .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    status.set(Some(Status::Done("Signed in.".into())));
                    go_to("/account");
                }
                Err(Failure::Aborted) => status.set(None),
                Err(Failure::Message(error)) => status.set(Some(Status::Failed(error))),
            }
        });
    };

    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <form method="post" action=SignIn::url() class="form"
                on:submit=move |_| { stop_background(); submitting.set(true); }>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username webauthn" required=true
                    value=email.get_untracked() bind:value=email/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password"/>
                <button type="submit" disabled=move || submitting.get() || busy.get()>
                    {move || if submitting.get() { "Signing in…" } else { "Sign in with password" }}
                </button>
            </form>
            <FormError error/>
            <div class="passkey-sign-in">
                <h2>"Or use a passkey"</h2>
                {move || match can_use_passkeys.get() {
                    Some(false) => view! {
                        <p class="warn" data-testid="passkey-unsupported">
                            "This browser cannot use passkeys. Sign in with your password, "
                            "or try a current browser."
                        </p>
                    }.into_any(),
                    _ => view! {
                        <div class="actions">
                            <button type="button" disabled=move || busy.get() || can_use_passkeys.get().is_none()
                                on:click=move |_| {
                                    if email.get_untracked().trim().is_empty() {
                                        status.set(Some(Status::Failed("Type your email first, then choose this again.".into())));
                                    } else {
                                        run("Waiting for your passkey…", true);
                                    }
                                }>
                                "Sign in with a passkey for this email"
                            </button>
                            <button type="button" class="secondary" disabled=move || busy.get() || can_use_passkeys.get().is_none()
                                on:click=move |_| run("Waiting for you to choose a passkey…", false)>
                                "Choose a passkey"
                            </button>
                        </div>
                        <p class="hint">"Your passkeys are also offered when you click the email field."</p>
                    }.into_any(),
                }}
                <StatusLine status/>
            </div>
            <p>"No account yet? " <a href="/signup">"Make one"</a> "."</p>
        </section>
    }
}
