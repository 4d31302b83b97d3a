package io.vigil.server.cluster;

/**
 * An operator's request to start or stop a resource by hand (a row of {@code cluster_requests}).
 * Ids grow; the owner carries out those made while it owns the role, once each.
 *
 * @param start true to start the resource (and what it depends on), false to stop it (and what
 *     depends on it)
 */
public record ManualRequest(long id, boolean start, String resource, String by) {}
