//! Who may do what with alerts: emergency information is issued by the department that holds
//! the `alerts` duty only; everyone reads what reaches them.

use kernel::model::policy::{Actor, Policy, Sheet};

kernel::policy_actions! {
    /// What the alerts policy can be asked about.
    PublishAlerts = "alerts.publish",
}

/// What an alerts action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Town,
}

impl Policy for Action {
    type Resource = Resource;

    fn may(actor: &Actor, action: Action, _: &Resource) -> bool {
        if actor.person_id.is_none() {
            return false;
        }
        match action {
            Action::PublishAlerts => actor.is_staff_with_duty("alerts"),
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// The navigation shows 「警報・お知らせ」 to those who publish.
pub fn sees_nav(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::PublishAlerts, &Resource::Town)
}

/// The alerts rows of the role × action matrix.
pub fn sheet() -> Sheet {
    kernel::policy_sheet!(
        "
            actor          alrt
            anonymous      .
            self           .
            representative .
            neighbour      .
            officer_d1     .
            officer_d2     .
            staff          .
            alerts_staff   Y
            welfare_staff  .
            admin          .
            auditor        .
            medic          .
            care_manager   .
            supporter      .
            shop_owner     .
            aid_npo        .
            npo_staff      .
        ",
        |_| Resource::Town,
    )
}
