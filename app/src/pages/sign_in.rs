use leptos::{prelude::*, task::spawn_local};

use super::{go_to, go_to_account_after_password, message, Status, StatusLine};
use crate::{
    api::{passkey_app_id, passkey_sign_in_finish, passkey_sign_in_start, SignIn},
    passkey::{self, AuthenticateOptions, PasskeyError, PasskeyFlex},
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
    let sign_in = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_in.value().get() {
            go_to_account_after_password();
        }
    });
    let email = RwSignal::new(String::new());
    let status = RwSignal::new(None::<Status>);
    let busy = RwSignal::new(false);
    let can_use_passkeys = RwSignal::new(None::<bool>);
    // The autofill request waits in the background; any other ceremony aborts it first.
    let autofill = StoredValue::new_local(None::<web_sys::AbortController>);
    let stop_autofill = move || {
        if let Some(controller) = autofill.get_value() {
            controller.abort();
        }
        autofill.set_value(None);
    };

    Effect::new(move |_| {
        spawn_local(async move {
            can_use_passkeys.set(Some(passkey::can_authenticate_with_passkey().await));
            if !passkey::can_use_conditional_mediation().await {
                return;
            }
            let Ok(controller) = web_sys::AbortController::new() else {
                return;
            };
            let signal = controller.signal();
            autofill.set_value(Some(controller));
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
        stop_autofill();
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
    let password_error = move || {
        sign_in
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };

    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=sign_in attr:class="form">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username webauthn" required=true
                    bind:value=email/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password"/>
                <button type="submit" disabled=move || sign_in.pending().get() || busy.get()
                    on:click=move |_| stop_autofill()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in with password" }}
                </button>
            </ActionForm>
            <div role="status" aria-live="polite">
                {move || password_error().map(|text| view! { <p class="error" role="alert">{text}</p> })}
            </div>
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
