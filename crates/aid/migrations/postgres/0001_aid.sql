-- Supporters' profiles: what they help with, where (a home point and a radius), when.
CREATE TABLE aid_supporters (
    person_id TEXT PRIMARY KEY REFERENCES people(id),
    categories TEXT NOT NULL,
    skills TEXT NOT NULL,
    radius_m BIGINT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    -- Weekly slots `weekday:HH:MM-HH:MM`, comma-separated (0 = Monday).
    availability TEXT NOT NULL,
    -- Volunteer-activity insurance: enrolled, and the categories it covers (comma-separated).
    insured BIGINT NOT NULL,
    insured_categories TEXT NOT NULL,
    languages TEXT NOT NULL,
    active BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Certifications (e.g. the childcare supporter course), recorded by the coordinator.
CREATE TABLE aid_certifications (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX aid_certifications_person ON aid_certifications(person_id);

CREATE TABLE aid_requests (
    id TEXT PRIMARY KEY,
    requester_id TEXT NOT NULL REFERENCES people(id),
    category TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    -- Shown to others; the exact point only to the accepted supporter.
    area_id TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    exact_point BIGINT NOT NULL,
    description TEXT NOT NULL,
    fee_per_hour BIGINT NOT NULL,
    -- Who may see it besides invited supporters: `invited`, `acquaintances`, `nearby`.
    audience TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    supporter_id TEXT,
    accepted_at BIGINT,
    fee_agreed BIGINT,
    fee_proposed BIGINT,
    fee_proposed_by TEXT,
    covered BIGINT,
    done_at BIGINT,
    closed_at BIGINT,
    coordinator_suggested TEXT,
    coordinator_id TEXT
);
CREATE INDEX aid_requests_requester ON aid_requests(requester_id, created_at);
CREATE INDEX aid_requests_state ON aid_requests(state, created_at);
CREATE INDEX aid_requests_supporter ON aid_requests(supporter_id);

-- Supporters asked personally (by the requester or the coordinator).
CREATE TABLE aid_invitations (
    request_id TEXT NOT NULL REFERENCES aid_requests(id),
    supporter_id TEXT NOT NULL REFERENCES people(id),
    invited_by TEXT NOT NULL,
    invited_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, supporter_id)
);
CREATE INDEX aid_invitations_supporter ON aid_invitations(supporter_id);

CREATE TABLE aid_offers (
    request_id TEXT NOT NULL REFERENCES aid_requests(id),
    supporter_id TEXT NOT NULL REFERENCES people(id),
    message TEXT,
    offered_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, supporter_id)
);

CREATE TABLE aid_settlements (
    request_id TEXT PRIMARY KEY REFERENCES aid_requests(id),
    amount BIGINT NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE aid_reviews (
    request_id TEXT NOT NULL REFERENCES aid_requests(id),
    reviewer_id TEXT NOT NULL,
    reviewee_id TEXT NOT NULL,
    rating BIGINT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, reviewer_id)
);
CREATE INDEX aid_reviews_reviewee ON aid_reviews(reviewee_id);

-- 「知り合い」: asked by one, accepted by the other. Stored once per pair (low id, high id).
CREATE TABLE aid_links (
    a TEXT NOT NULL REFERENCES people(id),
    b TEXT NOT NULL REFERENCES people(id),
    asked_by TEXT NOT NULL,
    asked_at BIGINT NOT NULL,
    accepted_at BIGINT,
    PRIMARY KEY (a, b)
);
CREATE INDEX aid_links_b ON aid_links(b);

CREATE TABLE aid_blocks (
    blocker_id TEXT NOT NULL REFERENCES people(id),
    blocked_id TEXT NOT NULL REFERENCES people(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX aid_blocks_blocked ON aid_blocks(blocked_id);

CREATE TABLE aid_reports (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES aid_requests(id),
    reporter_id TEXT NOT NULL,
    reported_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    handled_at BIGINT
);

-- Bumped whenever supporters' profiles, certifications or reviews change: each node's
-- in-memory index rebuilds when it sees a new value.
CREATE TABLE aid_meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO aid_meta (key, value) VALUES ('index_version', 1);
