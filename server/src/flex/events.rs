//! The audit log, in the core: every ceremony step and outcome and every
//! change is recorded as an event (vocabulary: [`EventType`]), with who and
//! where it came from. A change's event is written in the change's own
//! database transaction (the store's write methods take it); a refusal
//! changes nothing and writes its event alone ([`Flex::record_refusal`]).
//!
//! Who and where (client address, user agent, request id, acting key or
//! operator) is the request's [`Context`], which the HTTP layer sets for the
//! whole request (a task-local), so the core's methods need no extra argument.
//! Outside a request (the CLI) the context says `cli`.

use std::{cell::RefCell, future::Future};

pub use app::wire::events::{
    Event, EventPage, EventQuery, EventSummary, EventType, Outcome, Tally,
};

use super::{
    clock::Millis,
    ids::{AppId, EventId},
    Flex, FlexError,
};
use crate::store::{EventRow, EventScope, EventSelection, NewEvent};

/// Events per page at most, and by default.
pub const MAX_PAGE: i64 = 200;
pub const DEFAULT_PAGE: i64 = 50;
/// A user agent is kept to this many characters.
const USER_AGENT_CHARS: usize = 256;

tokio::task_local! {
    static CONTEXT: RefCell<Context>;
}

/// Who acts, from where: recorded with every event of the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// `api_key:{id}`, `operator:{id}`, `cli`; none for a browser's ceremony.
    pub actor: Option<String>,
}

impl Context {
    /// Runs `work` with this context for every event it records.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CONTEXT.scope(RefCell::new(self), work).await
    }

    /// The context of the running request (empty outside one).
    pub fn current() -> Self {
        CONTEXT
            .try_with(|context| context.borrow().clone())
            .unwrap_or_default()
    }

    /// Names who acts for the rest of the running request (once its API key
    /// or its operator is known).
    pub fn set_actor(actor: String) {
        let _ = CONTEXT.try_with(|context| context.borrow_mut().actor = Some(actor));
    }

    /// A user agent as recorded: at most 256 characters.
    pub fn user_agent_of(header: &str) -> String {
        header.chars().take(USER_AGENT_CHARS).collect()
    }
}

/// A successful `event_type` of `app` (none: the console's) at `at`, with
/// the running request's context; the caller adds user, device and detail.
pub fn success(app: Option<&AppId>, event_type: EventType, at: Millis) -> NewEvent {
    let context = Context::current();
    NewEvent {
        id: EventId::generate().as_str().to_owned(),
        app_id: app.map(|id| id.as_str().to_owned()),
        event_type: event_type.as_str(),
        outcome: Outcome::Success.as_str(),
        code: None,
        external_id: None,
        device_id: None,
        actor: context.actor,
        ip: context.ip,
        user_agent: context.user_agent,
        request_id: context.request_id,
        detail: serde_json::json!({}),
        at,
    }
}

/// What a listing asks for, parsed from the API's query (or the console's form).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub outcome: Option<Outcome>,
    pub external_id: Option<String>,
    pub ip: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Older than this event (the cursor's position).
    pub before: Option<i64>,
    pub limit: i64,
}

impl EventFilter {
    /// Reads a query; every malformed field is refused with what to send instead.
    pub fn parse(query: &EventQuery) -> Result<Self, FlexError> {
        fn given(value: &Option<String>) -> Option<&str> {
            value.as_deref().filter(|v| !v.is_empty())
        }
        let event_type = given(&query.event_type)
            .map(|text| {
                EventType::parse(text).ok_or_else(|| {
                    let names: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                    FlexError::invalid(format!(
                        "type must be one of {}, not `{text}`",
                        names.join(", ")
                    ))
                })
            })
            .transpose()?;
        let outcome = given(&query.outcome)
            .map(|text| {
                Outcome::parse(text).ok_or_else(|| {
                    FlexError::invalid(format!("outcome must be success or failure, not `{text}`"))
                })
            })
            .transpose()?;
        let time = |name: &str, value: &Option<String>| {
            given(value)
                .map(|text| {
                    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as Millis)
                        .map_err(|_| {
                            FlexError::invalid(format!(
                                "{name} must be an RFC 3339 time such as 2026-01-16T00:00:00Z, not `{text}`"
                            ))
                        })
                })
                .transpose()
        };
        let before = given(&query.cursor)
            .map(|text| {
                text.parse::<i64>()
                    .ok()
                    .filter(|seq| *seq > 0)
                    .ok_or_else(|| {
                        FlexError::invalid(
                            "cursor must be the next_cursor of an earlier page, as it was given",
                        )
                    })
            })
            .transpose()?;
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(FlexError::invalid(format!(
                "limit must be between 1 and {MAX_PAGE}, not {limit}"
            )));
        }
        Ok(Self {
            event_type,
            outcome,
            external_id: given(&query.external_id).map(str::to_owned),
            ip: given(&query.ip).map(str::to_owned),
            since: time("since", &query.since)?,
            until: time("until", &query.until)?,
            before,
            limit,
        })
    }
}

/// Whose events to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    App(&'a AppId),
    /// The console's own events (operators).
    Console,
    All,
}

impl Flex {
    /// Records a refusal of `event_type` (nothing changed, so the event is
    /// written alone). A failure of Latchkey itself (`internal_server_error`) is
    /// logged, not recorded: the database may be what failed.
    pub async fn record_refusal(
        &self,
        app: Option<&AppId>,
        event_type: EventType,
        external_id: Option<&str>,
        error: &FlexError,
    ) {
        if matches!(error, FlexError::Internal(_)) {
            return;
        }
        let event = NewEvent {
            outcome: Outcome::Failure.as_str(),
            code: Some(error.code()),
            external_id: external_id.map(str::to_owned),
            ..success(app, event_type, self.now())
        };
        self.write_refusal(&event).await;
    }

    /// Writes a refusal's event alone (it changed nothing) and counts it; a
    /// failure to write is logged, and the refusal answered all the same.
    pub(crate) async fn write_refusal(&self, event: &NewEvent) {
        match self.store.insert_event(event).await {
            Ok(()) => self.wrote(event),
            Err(error) => {
                tracing::warn!(%error, event = event.event_type, "could not record a refusal in the audit log")
            }
        }
    }

    /// Counts an event the store committed (`latchkey_events_written_total`).
    pub(crate) fn wrote(&self, event: &NewEvent) {
        self.metrics.events_written(event.event_type, event.outcome);
    }

    /// Records the outcome of a ceremony step: a success was recorded with its
    /// change (by the store), a refusal is recorded here. Hands `result` back.
    pub(crate) async fn recorded<T>(
        &self,
        app: &AppId,
        event_type: EventType,
        external_id: Option<&str>,
        result: Result<T, FlexError>,
    ) -> Result<T, FlexError> {
        match &result {
            // The store wrote the step's event with its change.
            Ok(_) => self
                .metrics
                .events_written(event_type.as_str(), Outcome::Success.as_str()),
            Err(error) => {
                self.record_refusal(Some(app), event_type, external_id, error)
                    .await
            }
        }
        result
    }

    /// A page of events, newest first.
    pub async fn list_events(
        &self,
        scope: Scope<'_>,
        filter: &EventFilter,
    ) -> Result<EventPage, FlexError> {
        let scope = match scope {
            Scope::App(id) => EventScope::App(id.as_str()),
            Scope::Console => EventScope::Console,
            Scope::All => EventScope::All,
        };
        let selection = EventSelection {
            event_type: filter.event_type.map(EventType::as_str),
            outcome: filter.outcome.map(Outcome::as_str),
            external_id: filter.external_id.as_deref(),
            ip: filter.ip.as_deref(),
            since: filter.since,
            until: filter.until,
            before_seq: filter.before,
        };
        // One more than asked: whether there is a next page.
        let mut rows = self
            .store
            .list_events(scope, &selection, filter.limit + 1)
            .await?;
        let more = rows.len() as i64 > filter.limit;
        rows.truncate(filter.limit as usize);
        let next_cursor = more
            .then(|| rows.last().map(|row| row.seq.to_string()))
            .flatten();
        let events = rows.into_iter().map(event_of).collect::<Result<_, _>>()?;
        Ok(EventPage {
            events,
            next_cursor,
        })
    }

    /// An app's finished registrations and sign-ins since `since`.
    pub async fn summarize_events(
        &self,
        app: &AppId,
        since: Millis,
    ) -> Result<EventSummary, FlexError> {
        let mut summary = EventSummary::default();
        for count in self.store.count_finishes(app.as_str(), since).await? {
            let tally = if count.event_type == EventType::RegistrationFinished.as_str() {
                &mut summary.registrations
            } else {
                &mut summary.sign_ins
            };
            if count.outcome == Outcome::Success.as_str() {
                tally.succeeded += count.count;
            } else {
                tally.failed += count.count;
                let code = count.code.unwrap_or_default();
                match summary.top_failures.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, n)) => *n += count.count,
                    None => summary.top_failures.push((code, count.count)),
                }
            }
        }
        summary
            .top_failures
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        summary.top_failures.truncate(5);
        Ok(summary)
    }

    /// Deletes the events older than `days` days; run periodically.
    pub async fn sweep_events(&self, days: u32) -> Result<u64, FlexError> {
        let before = self.now() - i64::from(days) * 24 * 60 * 60 * 1000;
        Ok(self.store.sweep_events_before(before).await?)
    }
}

pub(crate) fn event_of(row: EventRow) -> Result<Event, FlexError> {
    let unknown =
        |what: &str, text: &str| anyhow::anyhow!("a stored event has an unknown {what} `{text}`");
    Ok(Event {
        event_type: EventType::parse(&row.event_type)
            .ok_or_else(|| unknown("type", &row.event_type))?,
        outcome: Outcome::parse(&row.outcome).ok_or_else(|| unknown("outcome", &row.outcome))?,
        id: row.id,
        app_id: row.app_id,
        code: row.code,
        external_id: row.external_id,
        device_id: row.device_id,
        actor: row.actor,
        ip: row.ip,
        user_agent: row.user_agent,
        request_id: row.request_id,
        created_at: super::clock::rfc3339(Some(row.created_at)),
        detail: row.detail.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(edit: impl FnOnce(&mut EventQuery)) -> Result<EventFilter, FlexError> {
        let mut query = EventQuery::default();
        edit(&mut query);
        EventFilter::parse(&query)
    }

    #[test]
    fn a_query_parses_into_a_filter_or_says_what_is_wrong() {
        let filter = query(|q| {
            q.event_type = Some("nonce.verified".into());
            q.outcome = Some("failure".into());
            q.since = Some("2026-01-16T00:00:00Z".into());
            q.cursor = Some("42".into());
        })
        .unwrap();
        assert_eq!(filter.event_type, Some(EventType::NonceVerified));
        assert_eq!(filter.outcome, Some(Outcome::Failure));
        assert_eq!(filter.since, Some(1_768_521_600_000));
        assert_eq!(filter.before, Some(42));
        assert_eq!(filter.limit, DEFAULT_PAGE);
        // Empty fields (a form's) are no filter.
        assert_eq!(query(|q| q.ip = Some(String::new())).unwrap().ip, None);
        for (edit, words) in [
            (
                Box::new(|q: &mut EventQuery| q.event_type = Some("nonce".into()))
                    as Box<dyn FnOnce(&mut EventQuery)>,
                "type must be one of",
            ),
            (
                Box::new(|q: &mut EventQuery| q.outcome = Some("ok".into())),
                "outcome must be",
            ),
            (
                Box::new(|q: &mut EventQuery| q.since = Some("yesterday".into())),
                "since must be an RFC 3339",
            ),
            (
                Box::new(|q: &mut EventQuery| q.cursor = Some("-1".into())),
                "cursor must be",
            ),
            (
                Box::new(|q: &mut EventQuery| q.limit = Some(0)),
                "limit must be between 1 and 200",
            ),
            (
                Box::new(|q: &mut EventQuery| q.limit = Some(201)),
                "limit must be",
            ),
        ] {
            let error = query(edit).unwrap_err();
            assert_eq!(error.code(), "invalid_request");
            assert!(error.to_string().contains(words), "{error} lacks {words}");
        }
    }

    #[tokio::test]
    async fn the_context_is_the_requests_and_the_actor_can_be_named_later() {
        assert_eq!(Context::current(), Context::default());
        let context = Context {
            ip: Some("192.0.2.1".into()),
            ..Context::default()
        };
        let seen = context
            .clone()
            .scope(async {
                Context::set_actor("api_key:k".into());
                Context::current()
            })
            .await;
        assert_eq!(seen.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(seen.actor.as_deref(), Some("api_key:k"));
        assert_eq!(Context::user_agent_of(&"x".repeat(1000)).len(), 256);
    }
}
