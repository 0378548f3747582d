//! The escalation ladder: the circle's members in their order (first contact, then the next
//! after N minutes without 「今から訪問します」), and finally the welfare desk.

/// Who a step calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'a> {
    Member(&'a str),
    WelfareDesk,
    /// Past the welfare desk: nobody more to call; the escalation stays open until handled.
    Done,
}

/// Step `n` of a ladder of members (in order).
pub fn step(ladder: &[String], n: usize) -> Step<'_> {
    match ladder.get(n) {
        Some(m) => Step::Member(m),
        None if n == ladder.len() => Step::WelfareDesk,
        None => Step::Done,
    }
}

/// When the step called at `called_at` gives way to the next (None once at the welfare desk).
pub fn next_step_at(ladder_len: usize, n: usize, called_at: i64, minutes: u32) -> Option<i64> {
    (n < ladder_len).then(|| called_at + minutes as i64 * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn walks_members_then_the_desk() {
        let l = vec!["daughter".to_string(), "neighbour".to_string()];
        assert_eq!(step(&l, 0), Step::Member("daughter"));
        assert_eq!(step(&l, 1), Step::Member("neighbour"));
        assert_eq!(step(&l, 2), Step::WelfareDesk);
        assert_eq!(step(&l, 3), Step::Done);
        assert_eq!(next_step_at(2, 0, 1000, 30), Some(1000 + 1_800_000));
        assert_eq!(next_step_at(2, 2, 1000, 30), None);
        // Nobody on the ladder: the desk is called first.
        assert_eq!(step(&[], 0), Step::WelfareDesk);
    }

    proptest! {
        /// Every ladder ends at the welfare desk, exactly once, after all its members.
        #[test]
        fn every_ladder_ends_at_the_desk(n in 0usize..8) {
            let l: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
            let steps: Vec<Step> = (0..n + 3).map(|i| step(&l, i)).collect();
            prop_assert_eq!(steps.iter().filter(|s| **s == Step::WelfareDesk).count(), 1);
            prop_assert_eq!(steps.iter().position(|s| *s == Step::WelfareDesk), Some(n));
        }
    }
}
