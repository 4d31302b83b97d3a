-- The management server's configuration: registered servers, hardware, cameras, site settings.
-- name_key is the lower-cased name, so names are unique regardless of case on both databases.
-- revision is the optimistic-concurrency counter behind ETag / If-Match.

CREATE TABLE servers (
    id             UUID PRIMARY KEY,
    name           VARCHAR(200) NOT NULL,
    name_key       VARCHAR(200) NOT NULL,
    type           VARCHAR(50) NOT NULL,
    address        VARCHAR(2000) NOT NULL,
    sw_version     VARCHAR(100),
    status         VARCHAR(20) NOT NULL,
    revision       BIGINT NOT NULL,
    registered_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at   TIMESTAMP WITH TIME ZONE,
    CONSTRAINT servers_name_unique UNIQUE (name_key)
);

CREATE TABLE hardware (
    id                   UUID PRIMARY KEY,
    name                 VARCHAR(200) NOT NULL,
    name_key             VARCHAR(200) NOT NULL,
    recording_server_id  UUID NOT NULL REFERENCES servers (id),
    address              VARCHAR(2000) NOT NULL,
    model                VARCHAR(200),
    username             VARCHAR(200),
    password_protected   BYTEA,
    enabled              BOOLEAN NOT NULL,
    revision             BIGINT NOT NULL,
    created_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT hardware_name_unique UNIQUE (name_key)
);
CREATE INDEX hardware_recording_server ON hardware (recording_server_id);

CREATE TABLE cameras (
    id           UUID PRIMARY KEY,
    name         VARCHAR(200) NOT NULL,
    name_key     VARCHAR(200) NOT NULL,
    hardware_id  UUID NOT NULL REFERENCES hardware (id),
    channel      INTEGER NOT NULL,
    enabled      BOOLEAN NOT NULL,
    revision     BIGINT NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT cameras_name_unique UNIQUE (name_key),
    CONSTRAINT cameras_channel_unique UNIQUE (hardware_id, channel)
);

CREATE TABLE site_settings (
    id                         INTEGER PRIMARY KEY,
    site_name                  VARCHAR(200) NOT NULL,
    management_server_address  VARCHAR(2000),
    revision                   BIGINT NOT NULL,
    updated_at                 TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT site_settings_single_row CHECK (id = 1)
);
INSERT INTO site_settings (id, site_name, management_server_address, revision, updated_at)
VALUES (1, 'Vigil site', NULL, 1, CURRENT_TIMESTAMP);
