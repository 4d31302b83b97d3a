package io.vigil.server.http;

import io.vigil.server.security.Permission;

/**
 * One registered route: what the OpenAPI description must list.
 *
 * @param permission the permission it requires, or null for a public route
 */
public record RouteInfo(String method, String path, Permission permission) {}
