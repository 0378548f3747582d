//! A supporter's week as people think of it: seven days × 午前 (0–12時), 午後 (12–17時) and
//! 夜 (17–24時). The page shows a grid of checkboxes; matching works on `Slot`s (the JSON API's
//! `weekday:HH:MM-HH:MM`, 0 = Monday). Ticked cells next to each other on one day become one
//! slot, so help from 11時 to 13時 is covered by 午前 + 午後. The parts are the same as the
//! suggestions' 「土曜午前に対応可」, so a ticked cell and its reason agree.

use super::matching::Slot;

/// The parts of a day, in order, with their minutes `[start, end)`.
pub const PARTS: [(&str, u32, u32); 3] = [("morning", 0, 720), ("afternoon", 720, 1020), ("evening", 1020, 1440)];

/// The part of the day a minute falls in (0 morning, 1 afternoon, 2 evening).
pub fn part_of(minute: u32) -> usize {
    PARTS
        .iter()
        .position(|(_, a, b)| (*a..*b).contains(&minute))
        .unwrap_or(2)
}

/// Ticked cells: `grid[weekday][part]`, weekday 0 = Monday.
pub type Grid = [[bool; 3]; 7];

/// The cells as slots, neighbours on one day joined.
pub fn slots_of(grid: &Grid) -> Vec<Slot> {
    let mut out = Vec::new();
    for (weekday, day) in grid.iter().enumerate() {
        let mut open: Option<u32> = None;
        for (i, ticked) in day.iter().enumerate() {
            match (open, ticked) {
                (None, true) => open = Some(PARTS[i].1),
                (Some(start), false) => {
                    out.push(Slot {
                        weekday: weekday as u32,
                        start,
                        end: PARTS[i].1,
                    });
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(start) = open {
            out.push(Slot {
                weekday: weekday as u32,
                start,
                end: 1440,
            });
        }
    }
    out
}

/// The cells a list of slots touches. Slots set through the API with other hours (e.g. 8–12時)
/// tick the parts they overlap, so the page shows them; saving the page then widens them to whole parts.
pub fn grid_of(slots: &[Slot]) -> Grid {
    let mut grid = [[false; 3]; 7];
    for s in slots {
        if let Some(day) = grid.get_mut(s.weekday as usize) {
            for (i, (_, a, b)) in PARTS.iter().enumerate() {
                if s.start < *b && *a < s.end {
                    day[i] = true;
                }
            }
        }
    }
    grid
}

/// A cell's form name, `d5p0` for Saturday morning.
pub fn cell_name(weekday: usize, part: usize) -> String {
    format!("d{weekday}p{part}")
}

/// The cell a form name stands for.
pub fn parse_cell(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix('d')?;
    let (d, p) = rest.split_once('p')?;
    let (d, p): (usize, usize) = (d.parse().ok()?, p.parse().ok()?);
    (d < 7 && p < 3).then_some((d, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn saturday_morning_is_one_slot_and_back() {
        let mut g: Grid = [[false; 3]; 7];
        g[5][0] = true;
        let slots = slots_of(&g);
        assert_eq!(slots.iter().map(Slot::text).collect::<Vec<_>>(), vec!["5:00:00-12:00"]);
        assert_eq!(grid_of(&slots), g);
        assert_eq!(parse_cell(&cell_name(5, 0)), Some((5, 0)));
        assert_eq!(parse_cell("d7p0"), None);
        assert_eq!(parse_cell("x"), None);
    }

    #[test]
    fn neighbours_join_and_a_whole_day_ends_at_midnight() {
        let mut g: Grid = [[false; 3]; 7];
        g[0] = [true, true, false];
        g[6] = [true, true, true];
        g[2] = [true, false, true];
        let texts: Vec<String> = slots_of(&g).iter().map(Slot::text).collect();
        assert_eq!(
            texts,
            vec!["0:00:00-17:00", "2:00:00-12:00", "2:17:00-24:00", "6:00:00-24:00"]
        );
        // The text parses back (24:00 is the end of the day).
        let parsed: Vec<Slot> = texts.iter().filter_map(|t| Slot::parse(t)).collect();
        assert_eq!(grid_of(&parsed), g);
    }

    #[test]
    fn api_slots_tick_the_parts_they_overlap() {
        let slots = [
            Slot::parse("5:08:00-12:00").unwrap(),
            Slot::parse("1:11:00-13:00").unwrap(),
        ];
        let g = grid_of(&slots);
        assert_eq!(g[5], [true, false, false]);
        assert_eq!(g[1], [true, true, false]);
        assert_eq!(part_of(9 * 60 + 30), 0);
        assert_eq!(part_of(12 * 60), 1);
        assert_eq!(part_of(23 * 60), 2);
    }

    proptest! {
        /// grid → slots → grid is the same grid, and the slots cover exactly the ticked parts.
        #[test]
        fn grid_round_trips(bits in proptest::collection::vec(any::<bool>(), 21)) {
            let mut g: Grid = [[false; 3]; 7];
            for (i, b) in bits.iter().enumerate() {
                g[i / 3][i % 3] = *b;
            }
            let slots = slots_of(&g);
            prop_assert_eq!(grid_of(&slots), g);
            for s in &slots {
                prop_assert_eq!(Slot::parse(&s.text()), Some(*s));
            }
            for (d, day) in g.iter().enumerate() {
                for (p, (_, a, b)) in PARTS.iter().enumerate() {
                    let covered = super::super::matching::covers(&slots, d as u32, *a, b - a);
                    prop_assert_eq!(covered, day[p]);
                }
            }
        }
    }
}
