//! Where a person stands in the circles of the people they watch over, for other modules (safety
//! lets family answer a safety check for the watched person's household). Only circles that are
//! watching count: the watched person (or their guardian) consented and the circle is open, so
//! proposing a circle around someone gives no standing in it.

use crate::policy::Resource;
use kernel::Result;
use kernel::on_db;
use kernel::store::Db;

/// A watched person and the member's place in their circle.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub circle_id: String,
    /// The watched person.
    pub person_id: String,
    /// The member's role in the circle (`family`, `care_manager`, …).
    pub role: String,
    pub guardian: bool,
    pub has_guardian: bool,
}

impl Watched {
    /// The circle as the policy sees it, from the member's side.
    pub fn resource(&self) -> Resource {
        Resource::Circle {
            person_id: self.person_id.clone(),
            role: Some(self.role.clone()),
            guardian: self.guardian,
            has_guardian: self.has_guardian,
        }
    }
}

/// The people `member` watches over, with their role in each watching circle.
pub async fn watched_by(db: &Db, member: &str) -> Result<Vec<Watched>> {
    let sql = format!(
        "SELECT c.id, c.person_id, m.role, c.guardian_id FROM watch_members m \
         JOIN watch_circles c ON c.id = m.circle_id WHERE m.person_id = $1 AND {} ORDER BY c.created_at",
        crate::store::WATCHING
    );
    let rows: Vec<(String, String, String, Option<String>)> =
        on_db!(db, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(member)
            .fetch_all(p)
            .await)?;
    Ok(rows
        .into_iter()
        .map(|(circle_id, person_id, role, guardian)| Watched {
            circle_id,
            person_id,
            role,
            guardian: guardian.as_deref() == Some(member),
            has_guardian: guardian.is_some(),
        })
        .collect())
}
