-- The identity provider's issuer, shared by every node of a cluster: tokens issued by one node must
-- verify on all of them. Recorded by the first node that starts unless Identity.Issuer is configured.
CREATE TABLE identity_issuer (
    id      INTEGER PRIMARY KEY,
    issuer  VARCHAR(2000) NOT NULL,
    CONSTRAINT identity_issuer_single_row CHECK (id = 1)
);
