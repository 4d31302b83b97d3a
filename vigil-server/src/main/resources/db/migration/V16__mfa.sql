-- Multi-factor sign-in for local users (docs/identity.md, "Multi-factor sign-in").

-- A user's TOTP authenticator: the secret encrypted by the data protector (purpose
-- identity.mfa.totp-secret), whether it was confirmed with a code (until then it is pending and
-- does not guard sign-in), and the last time step a code was accepted for, so that no code is
-- accepted twice. Times are the database's.
CREATE TABLE user_mfa (
    user_id           UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_protected  BYTEA NOT NULL,
    confirmed         BOOLEAN NOT NULL,
    last_used_step    BIGINT NOT NULL,
    created_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    confirmed_at      TIMESTAMP WITH TIME ZONE
);

-- Recovery codes, as SHA-256 hashes of random 80-bit values; a used code's row is deleted.
CREATE TABLE user_mfa_recovery_codes (
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  VARCHAR(64) NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Sign-ins on the sign-in page whose password was right and whose one-time code is still awaited:
-- keyed by the SHA-256 of a random value the page carries, bound to the authorization request,
-- limited in attempts and in time (by the database clock).
CREATE TABLE mfa_signin_states (
    state_hash         VARCHAR(64) PRIMARY KEY,
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    authorize_request  TEXT NOT NULL,
    attempts           INTEGER NOT NULL,
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- How the user proved who they are, for the ID token's amr claim ("pwd", or "pwd otp").
ALTER TABLE authorization_codes ADD COLUMN amr VARCHAR(50);

-- When true, administrators who sign in with a password must have a second factor; until they
-- enrol one their tokens carry no roles (docs/identity.md).
ALTER TABLE site_settings ADD COLUMN require_mfa_for_administrators BOOLEAN DEFAULT FALSE NOT NULL;
