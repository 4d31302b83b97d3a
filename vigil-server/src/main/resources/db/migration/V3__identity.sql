-- The identity provider: users, OAuth clients, signing keys, authorization codes, refresh tokens.
-- No column holds a plaintext password, secret or private key: passwords are PBKDF2 hashes, client
-- secrets and private keys are encrypted by the data protector, codes and refresh tokens are SHA-256
-- hashes of random 256-bit values.

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    username       VARCHAR(64) NOT NULL,
    -- lower-cased user name: user names are unique regardless of case
    username_key   VARCHAR(64) NOT NULL,
    display_name   VARCHAR(200) NOT NULL,
    roles          VARCHAR(500) NOT NULL,
    password_hash  VARCHAR(300) NOT NULL,
    enabled        BOOLEAN NOT NULL,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username_key)
);

CREATE TABLE oauth_clients (
    client_id         VARCHAR(64) PRIMARY KEY,
    client_type       VARCHAR(20) NOT NULL,
    secret_protected  BYTEA,
    roles             VARCHAR(500) NOT NULL,
    grants            VARCHAR(500) NOT NULL,
    redirect_uris     TEXT NOT NULL,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at        TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE identity_signing_keys (
    kid                    VARCHAR(64) PRIMARY KEY,
    private_jwk_protected  BYTEA NOT NULL,
    public_jwk             TEXT NOT NULL,
    created_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    activated_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    retired_at             TIMESTAMP WITH TIME ZONE
);

-- One row, created here. Which key signs now and which one signed before. Nodes change it only with
-- a conditional UPDATE on the kid they saw, so two nodes can never both install a current key; the
-- row is also the lock that serializes first-start bootstrap between nodes.
CREATE TABLE identity_signing_state (
    id            INT PRIMARY KEY,
    current_kid   VARCHAR(64),
    previous_kid  VARCHAR(64),
    CONSTRAINT identity_signing_state_single CHECK (id = 1)
);
INSERT INTO identity_signing_state (id, current_kid, previous_kid) VALUES (1, NULL, NULL);

CREATE TABLE authorization_codes (
    code_hash        VARCHAR(64) PRIMARY KEY,
    client_id        VARCHAR(64) NOT NULL,
    user_id          UUID NOT NULL,
    redirect_uri     TEXT NOT NULL,
    code_challenge   VARCHAR(128) NOT NULL,
    scope            VARCHAR(500) NOT NULL,
    nonce            VARCHAR(500),
    expires_at       TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash   VARCHAR(64) PRIMARY KEY,
    family_id    UUID NOT NULL,
    user_id      UUID NOT NULL,
    client_id    VARCHAR(64) NOT NULL,
    scope        VARCHAR(500) NOT NULL,
    issued_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    used         BOOLEAN NOT NULL,
    revoked      BOOLEAN NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
