//! Watch's use cases offered to the rest of machi.

pub mod for_others;
