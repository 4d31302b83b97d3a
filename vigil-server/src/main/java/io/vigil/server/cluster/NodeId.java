package io.vigil.server.cluster;

import java.util.Objects;

/** A node's name in the cluster ({@code Node.Name}); its text is the name itself. */
public record NodeId(String name) implements Comparable<NodeId> {

  public NodeId {
    Objects.requireNonNull(name);
  }

  /** The node of {@code name}, or null for null. */
  public static NodeId of(String name) {
    return name == null ? null : new NodeId(name);
  }

  /** The name of {@code node}, or null for null. */
  public static String nameOf(NodeId node) {
    return node == null ? null : node.name;
  }

  @Override
  public int compareTo(NodeId o) {
    return name.compareTo(o.name);
  }

  @Override
  public String toString() {
    return name;
  }
}
