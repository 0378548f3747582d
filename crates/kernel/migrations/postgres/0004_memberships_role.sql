-- Staff of the departments (the welfare desk, the duty officers) are looked up by role on every
-- step of an escalation ladder; without this, each lookup read every resident's membership.
CREATE INDEX memberships_role ON memberships(role, organisation_id);
