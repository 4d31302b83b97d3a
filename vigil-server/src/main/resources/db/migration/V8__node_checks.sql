-- What each node found when it checked itself: whether it can take the role (it can unwrap every
-- key of the ring, its certificates are valid), why not, and the details, for `vigil cluster
-- validate`. A node that cannot take the role stays up as a standby that never acquires it.
CREATE TABLE cluster_node_checks (
    node        VARCHAR(200) PRIMARY KEY,
    checked_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    eligible    BOOLEAN NOT NULL,
    problem     TEXT,
    report      TEXT NOT NULL
);
