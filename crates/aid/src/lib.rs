//! aid: mutual aid (共助) — residents' requests for help (困りごと) and supporters' offers,
//! matched by trust, distance, skills, time and reviews, with agreed fees, insurance per
//! activity, settlement and receipts, reviews both ways, and a coordinator's queue for requests
//! nobody took.

pub mod model;
pub mod store;
