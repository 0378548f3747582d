//! What aid tells people and where it points them. Notices are rendered from the catalogs in
//! each recipient's language by the kernel's outbox.

use kernel::{Kernel, Result};

/// The name a person is shown by in a notice.
pub async fn name(k: &Kernel, person: &str) -> Result<String> {
    kernel::store::people::display_name(&k.db, person).await
}

/// The request's page.
pub fn link(k: &Kernel, id: &str) -> String {
    k.link(&format!("/aid/requests/{id}"))
}

/// Notices through the outbox on the person's ordinary channels (screens and e-mail).
pub async fn notify(k: &Kernel, people: &[String], notice: &kernel::notice::Notice, dedupe: &str) -> Result<()> {
    kernel::store::outbox::notify_people(k, "aid", people, notice, dedupe).await
}
