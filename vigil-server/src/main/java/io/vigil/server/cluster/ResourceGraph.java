package io.vigil.server.cluster;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The role's resources and their dependencies: a directed acyclic graph. Starting goes in {@link
 * #order()}, stopping in reverse; stopping a resource first stops everything that depends on it.
 */
public final class ResourceGraph {

  private final Map<String, ResourceSpec> specs = new LinkedHashMap<>();
  private final List<String> order;

  /**
   * @throws IllegalArgumentException naming the resource when a name repeats, a dependency is
   *     unknown or the dependencies form a cycle
   */
  public ResourceGraph(List<ResourceSpec> resources) {
    for (ResourceSpec r : resources) {
      if (specs.putIfAbsent(r.name(), r) != null) {
        throw new IllegalArgumentException("Resource \"" + r.name() + "\" is defined twice.");
      }
    }
    for (ResourceSpec r : resources) {
      for (String d : r.dependsOn()) {
        if (!specs.containsKey(d)) {
          throw new IllegalArgumentException(
              "Resource \""
                  + r.name()
                  + "\" depends on \""
                  + d
                  + "\", which does not exist. Known: "
                  + specs.keySet()
                  + ".");
        }
      }
    }
    order = topologicalOrder();
  }

  private List<String> topologicalOrder() {
    List<String> result = new ArrayList<>();
    Set<String> done = new HashSet<>();
    Set<String> visiting = new LinkedHashSet<>();
    for (String name : specs.keySet()) {
      visit(name, done, visiting, result);
    }
    return Collections.unmodifiableList(result);
  }

  private void visit(String name, Set<String> done, Set<String> visiting, List<String> result) {
    if (done.contains(name)) {
      return;
    }
    if (!visiting.add(name)) {
      throw new IllegalArgumentException(
          "Resources "
              + visiting
              + " depend on each other in a cycle; remove one of the dependencies.");
    }
    for (String d : specs.get(name).dependsOn()) {
      visit(d, done, visiting, result);
    }
    visiting.remove(name);
    done.add(name);
    result.add(name);
  }

  /** Every resource, dependencies before dependents. */
  public List<String> order() {
    return order;
  }

  public ResourceSpec spec(String name) {
    ResourceSpec spec = specs.get(name);
    if (spec == null) {
      throw new IllegalArgumentException(
          "No resource \"" + name + "\". Known: " + specs.keySet() + ".");
    }
    return spec;
  }

  public boolean contains(String name) {
    return specs.containsKey(name);
  }

  /** {@code name} and everything it depends on, directly or not. */
  public Set<String> withDependencies(String name) {
    return closure(name, n -> specs.get(n).dependsOn());
  }

  /** {@code name} and everything that depends on it, directly or not. */
  public Set<String> withDependents(String name) {
    return closure(name, this::directDependents);
  }

  /** The resources that name {@code name} among their dependencies. */
  public List<String> directDependents(String name) {
    List<String> result = new ArrayList<>();
    for (ResourceSpec r : specs.values()) {
      if (r.dependsOn().contains(name)) {
        result.add(r.name());
      }
    }
    return result;
  }

  private Set<String> closure(
      String start, java.util.function.Function<String, List<String>> next) {
    spec(start);
    Set<String> seen = new LinkedHashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(start));
    while (!todo.isEmpty()) {
      String n = todo.pop();
      if (seen.add(n)) {
        todo.addAll(next.apply(n));
      }
    }
    return seen;
  }
}
