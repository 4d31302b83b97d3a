-- The device authorization grant (RFC 8628): a device (the CLI without a browser) asks for a device
-- code and a user code; the user enters the user code at /idp/device, signs in and approves; the
-- device polls the token endpoint with the device code. The device code is a random 256-bit value
-- and every value a browser step is bound to (the sign-in state, the consent token) too; all are
-- stored as SHA-256 hashes. The user code (8 letters of 20) is stored as its hash as well: it is
-- short-lived and guesses are throttled per address, so the hash only keeps it off backups' pages.
-- Times are the database's: expires_at and last_polled_at are compared with CURRENT_TIMESTAMP.
CREATE TABLE device_authorizations (
    device_code_hash     VARCHAR(64) PRIMARY KEY,
    user_code_hash       VARCHAR(64) NOT NULL,
    client_id            VARCHAR(64) NOT NULL,
    scope                VARCHAR(500) NOT NULL,
    -- pending, approved, denied or redeemed (DeviceFlow.Status)
    status               VARCHAR(16) NOT NULL,
    interval_seconds     INT NOT NULL,
    last_polled_at       TIMESTAMP WITH TIME ZONE,
    expires_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    -- the user who signed in at the device page, once they have
    user_id              UUID,
    auth_time            TIMESTAMP WITH TIME ZONE,
    -- the sign-in through the authorization endpoint in progress: its state's hash and the PKCE
    -- verifier of its code, which alone cannot redeem anything (the code is stored as a hash)
    sign_in_state_hash   VARCHAR(64),
    sign_in_verifier     VARCHAR(128),
    -- the hash of the token the approve/deny form carries, issued to the browser that signed in
    consent_hash         VARCHAR(64),
    -- the refresh-token family the redeemed code started: a replay of the device code revokes it
    family_id            UUID,
    CONSTRAINT device_authorizations_user_code UNIQUE (user_code_hash)
);
CREATE INDEX device_authorizations_sign_in ON device_authorizations (sign_in_state_hash);
CREATE INDEX device_authorizations_consent ON device_authorizations (consent_hash);
