//! The watch module's use cases shared by its pages, its JSON API and its jobs — what a notice
//! says and to whom, and the gates a visit must pass — and those offered to the rest of machi
//! (`for_others`). `http` and `jobs` call downwards into here, never into each other.

pub mod access;
pub mod circles;
pub mod contacts;
pub mod escalations;
pub mod for_others;
pub mod listening;
pub mod notices;
pub mod signals;

use kernel::{Error, Kernel, Result};

use crate::model::{CircleRole, TrainingDates, TrainingGap};
use crate::store;

/// The training gate: a supporter or listening volunteer needs a valid privacy training
/// before visits; the refusal says why.
pub async fn require_training(k: &Kernel, person_id: &str, role: Option<&str>) -> Result<()> {
    if !role.and_then(CircleRole::parse).is_some_and(CircleRole::needs_training) {
        return Ok(());
    }
    let trainings: Vec<TrainingDates> = store::trainings_of(&k.db, person_id)
        .await?
        .into_iter()
        .map(|t| TrainingDates {
            taken_on: t.taken_on,
            expires_on: t.expires_on,
        })
        .collect();
    let name = notices::person_name(k, person_id).await?;
    match crate::model::training_gap(&trainings, k.now()) {
        None => Ok(()),
        Some(TrainingGap::Missing) => Err(Error::invalid_with("watch-training-missing", vec![("name", name)])),
        Some(TrainingGap::Expired { on }) => Err(Error::invalid_with(
            "watch-training-expired",
            vec![("name", name), ("date", on)],
        )),
        Some(TrainingGap::NotYet { from }) => Err(Error::invalid_with(
            "watch-training-not-yet",
            vec![("name", name), ("date", from)],
        )),
    }
}
