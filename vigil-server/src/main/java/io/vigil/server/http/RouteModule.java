package io.vigil.server.http;

/** One area's routes (identity provider, management API, cluster, …), declared in one place. */
@FunctionalInterface
public interface RouteModule {
  void register(Api api);
}
