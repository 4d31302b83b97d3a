package io.vigil.client;

/**
 * A server to register: what {@code POST /api/v1/servers} takes, and the {@code server} of a
 * component's registration. The management server reads the body with this same record, so the two
 * cannot drift.
 *
 * @param type one of {@link ServerType}'s ids, such as {@code recording-server}
 * @param address where clients reach the server, such as {@code https://rs1.example.com:7563}
 * @param version the server's software version
 * @param heartbeatIntervalSeconds how often it will send a heartbeat; null for the default (5)
 */
public record NewServer(
    String name, String type, String address, String version, Integer heartbeatIntervalSeconds) {}
