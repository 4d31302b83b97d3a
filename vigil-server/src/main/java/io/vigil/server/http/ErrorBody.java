package io.vigil.server.http;

/** The JSON body of every error response. */
public record ErrorBody(String code, String message) {}
