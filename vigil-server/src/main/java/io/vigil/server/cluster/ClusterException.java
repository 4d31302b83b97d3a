package io.vigil.server.cluster;

import io.vigil.server.http.ApiException;

/** A cluster request that cannot be carried out; rendered like every API error. */
public final class ClusterException extends ApiException {
  public ClusterException(int status, String code, String message) {
    super(status, code, message);
  }
}
