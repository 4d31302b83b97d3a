-- Federation with external OpenID Connect providers: the providers, the claim rules that grant
-- roles, the users they sign in, and the pending sign-ins between the redirect to a provider and
-- its callback. No column holds a readable secret: client secrets and PKCE verifiers are encrypted
-- by the data protector, sign-in states are stored as SHA-256 hashes.

CREATE TABLE identity_providers (
    -- lower-case, used in URLs; never changes
    name                     VARCHAR(64) PRIMARY KEY,
    display_name             VARCHAR(200) NOT NULL,
    authority                VARCHAR(2000) NOT NULL,
    client_id                VARCHAR(500) NOT NULL,
    -- client_secret_basic, client_secret_post or private_key_jwt
    client_auth              VARCHAR(30) NOT NULL,
    client_secret_protected  BYTEA,
    -- SHA-1 thumbprint (upper-case hex) of the certificate that signs private_key_jwt assertions
    certificate_thumbprint   VARCHAR(40),
    callback_path            VARCHAR(200) NOT NULL,
    scopes                   VARCHAR(1000) NOT NULL,
    user_name_claim          VARCHAR(200) NOT NULL,
    prompt_login             BOOLEAN NOT NULL,
    enabled                  BOOLEAN NOT NULL,
    revision                 BIGINT NOT NULL,
    created_at               TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at               TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE identity_claim_rules (
    id           UUID PRIMARY KEY,
    provider     VARCHAR(64) NOT NULL REFERENCES identity_providers (name) ON DELETE CASCADE,
    claim        VARCHAR(200) NOT NULL,
    claim_value  VARCHAR(1000) NOT NULL,
    role         VARCHAR(50) NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT identity_claim_rules_unique UNIQUE (provider, claim, claim_value, role)
);

-- Users signed in by an external provider have no password and are linked by (provider, sub).
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD COLUMN external_provider VARCHAR(64) REFERENCES identity_providers (name);
ALTER TABLE users ADD COLUMN external_subject VARCHAR(255);
CREATE UNIQUE INDEX users_external_identity ON users (external_provider, external_subject);

-- Roles granted by claim rules at a user's last external sign-in; replaced at every sign-in. Roles
-- an administrator gives stay in users.roles.
CREATE TABLE user_rule_roles (
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rule_id  UUID NOT NULL REFERENCES identity_claim_rules (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, rule_id)
);
CREATE INDEX user_rule_roles_rule ON user_rule_roles (rule_id);

-- A sign-in sent to an external provider and not yet back: single-use, short-lived by the database
-- clock, readable by every node so a failover between redirect and callback loses nothing.
CREATE TABLE external_signin_states (
    state_hash               VARCHAR(64) PRIMARY KEY,
    provider                 VARCHAR(64) NOT NULL,
    nonce                    VARCHAR(200) NOT NULL,
    code_verifier_protected  BYTEA NOT NULL,
    -- the original /idp/connect/authorize parameters, as a JSON object
    authorize_request        TEXT NOT NULL,
    created_at               TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX external_signin_states_created ON external_signin_states (created_at);
