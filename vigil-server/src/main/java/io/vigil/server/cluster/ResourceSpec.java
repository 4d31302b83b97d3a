package io.vigil.server.cluster;

import java.util.List;

/** What the controller knows of a resource: its name, dependencies and policy. */
public record ResourceSpec(String name, List<String> dependsOn, ResourcePolicy policy) {
  public ResourceSpec {
    dependsOn = List.copyOf(dependsOn);
  }

  public static ResourceSpec of(Resource r) {
    return new ResourceSpec(r.name(), r.dependsOn(), r.policy());
  }
}
