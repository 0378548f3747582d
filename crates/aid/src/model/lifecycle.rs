//! The lifecycle of a request as an explicit state machine:
//! open → offered → accepted → done → settled, with cancelled and no-show on the side.
//! Reviews (both ways) are allowed once the help was done; a changed fee needs both to confirm.

use serde::{Deserialize, Serialize};

super::text_enum!(
    State {
        Open = "open",
        Offered = "offered",
        Accepted = "accepted",
        Done = "done",
        Settled = "settled",
        Cancelled = "cancelled",
        NoShow = "no_show",
    }
);

/// Who acts, relative to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Requester,
    /// The supporter whose offer was accepted.
    Supporter,
    /// Anyone else (a supporter offering, say).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Offer,
    Accept,
    Cancel,
    Complete,
    NoShow,
    Settle,
    /// A supporter takes back their offer before it is accepted.
    Withdraw,
}

/// Why an event does not apply: a catalog key, and whether it is a clash (409) or a bad request (400/403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 409: someone was first (accepting an accepted request).
    AlreadyAccepted,
    /// 409: the request is no longer in a state that allows it.
    WrongState(State),
    /// 403: not this party's to do.
    NotYours,
    /// 400: the help has not started yet (done, no-show).
    NotStarted,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::AlreadyAccepted => "aid-already-accepted",
            Refusal::WrongState(_) => "aid-wrong-state",
            Refusal::NotYours => "aid-not-yours",
            Refusal::NotStarted => "aid-not-started",
        }
    }
}

/// The next state, or why not. `started`: the requested time has begun.
pub fn apply(state: State, event: Event, party: Party, started: bool) -> Result<State, Refusal> {
    use Event::{Accept, Cancel, Complete, Offer, Settle};
    use State::{Accepted, Done, Offered, Open, Settled};
    match (event, party) {
        (Offer, Party::Requester) => return Err(Refusal::NotYours),
        (Accept | Cancel | Event::NoShow, Party::Supporter | Party::Other) => return Err(Refusal::NotYours),
        (Complete | Settle, Party::Other) => return Err(Refusal::NotYours),
        // (The accepted supporter is told it is too late: the state says so below.)
        (Event::Withdraw, Party::Requester) => return Err(Refusal::NotYours),
        _ => {}
    }
    match (state, event) {
        (Open | Offered, Offer) => Ok(Offered),
        (Offered, Accept) => Ok(Accepted),
        (Accepted | Done | Settled, Accept) => Err(Refusal::AlreadyAccepted),
        (Open | Offered | Accepted, Cancel) => Ok(State::Cancelled),
        (Accepted, Complete | Event::NoShow) if !started => Err(Refusal::NotStarted),
        (Accepted, Complete) => Ok(Done),
        (Accepted, Event::NoShow) => Ok(State::NoShow),
        (Done, Settle) => Ok(Settled),
        // Back to open when no other offer is left (`after_withdrawal`).
        (Offered, Event::Withdraw) => Ok(Offered),
        (s, _) => Err(Refusal::WrongState(s)),
    }
}

/// The state once an offer was taken back: open again when it was the last.
pub fn after_withdrawal(offers_left: usize) -> State {
    if offers_left == 0 { State::Open } else { State::Offered }
}

/// Reviews both ways, once the help was done (settled or not).
pub fn may_review(state: State, party: Party) -> Result<(), &'static str> {
    if party == Party::Other {
        return Err("aid-not-yours");
    }
    match state {
        State::Done | State::Settled => Ok(()),
        _ => Err("aid-review-too-early"),
    }
}

/// A fee change is proposed by one party and takes effect when the other confirms.
pub fn may_change_fee(state: State, party: Party) -> bool {
    state == State::Accepted && party != Party::Other
}

/// Contact details (phone, e-mail, the exact place) are shown only between the two parties, after acceptance.
pub fn contacts_visible(state: State, party: Party) -> bool {
    party != Party::Other && matches!(state, State::Accepted | State::Done | State::Settled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path() {
        let s = apply(State::Open, Event::Offer, Party::Other, false).unwrap();
        let s = apply(s, Event::Accept, Party::Requester, false).unwrap();
        assert_eq!(
            apply(s, Event::Accept, Party::Requester, false),
            Err(Refusal::AlreadyAccepted)
        );
        assert_eq!(
            apply(s, Event::Complete, Party::Supporter, false),
            Err(Refusal::NotStarted)
        );
        let s = apply(s, Event::Complete, Party::Supporter, true).unwrap();
        assert_eq!(
            may_review(State::Accepted, Party::Requester),
            Err("aid-review-too-early")
        );
        assert!(may_review(s, Party::Supporter).is_ok());
        let s = apply(s, Event::Settle, Party::Requester, true).unwrap();
        assert_eq!(s, State::Settled);
        assert!(may_review(s, Party::Requester).is_ok());
        assert_eq!(
            apply(State::Open, Event::Accept, Party::Other, false),
            Err(Refusal::NotYours)
        );
        assert!(contacts_visible(State::Accepted, Party::Supporter));
        // An offer can be taken back until it is accepted, by the one who made it.
        assert_eq!(
            apply(State::Offered, Event::Withdraw, Party::Other, false),
            Ok(State::Offered)
        );
        assert_eq!(
            apply(State::Accepted, Event::Withdraw, Party::Supporter, false),
            Err(Refusal::WrongState(State::Accepted))
        );
        assert_eq!(
            apply(State::Offered, Event::Withdraw, Party::Requester, false),
            Err(Refusal::NotYours)
        );
        assert_eq!(
            apply(State::Open, Event::Withdraw, Party::Other, false),
            Err(Refusal::WrongState(State::Open))
        );
        assert_eq!(
            (after_withdrawal(0), after_withdrawal(2)),
            (State::Open, State::Offered)
        );
        assert!(!contacts_visible(State::Offered, Party::Requester));
    }

    fn state() -> impl Strategy<Value = State> {
        proptest::sample::select(State::ALL.to_vec())
    }

    proptest! {
        /// Finished states stay finished; nothing reaches `accepted` but an accepted offer.
        #[test]
        fn finished_stays_finished(s in state(), started in any::<bool>(), p in 0u8..3, e in 0u8..7) {
            let party = [Party::Requester, Party::Supporter, Party::Other][p as usize];
            let event = [Event::Offer, Event::Accept, Event::Cancel, Event::Complete, Event::NoShow, Event::Settle, Event::Withdraw][e as usize];
            if let Ok(next) = apply(s, event, party, started) {
                prop_assert!(!matches!(s, State::Cancelled | State::NoShow | State::Settled));
                if next == State::Accepted {
                    prop_assert_eq!((s, event, party), (State::Offered, Event::Accept, Party::Requester));
                }
                if next == State::Done {
                    prop_assert!(started);
                }
            }
        }
    }
}
