package io.vigil.server.cluster;

import io.vigil.server.http.ApiException;

/** A write refused because this node no longer owns the role: 503, retry on the active node. */
public final class FencedException extends ApiException {
  public FencedException(String message) {
    super(503, "fenced", message);
  }
}
