package io.vigil.server.node;

import io.vigil.server.cluster.Fence;
import io.vigil.server.collector.SiteEvents;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Raises {@code dataprotection.key.unwrap_failed} on the owner for a node that cannot open the
 * data-protection key ring (it cannot unwrap a key, or its certificate is not usable), as that
 * node's {@link ProtectionMonitor} publishes in {@code cluster_node_checks}. Such a node stays up
 * as a standby that never takes the role, so it cannot write the event itself: the owner reads the
 * checks instead. Each problem is raised once: the owner notes it on the node's row ({@code
 * reported_problem}), raises again only for a different problem, and forgets it when the node is
 * eligible again. Because the note is in the database, a new owner does not raise it again.
 */
final class ProtectionWatch {

  static final String UNWRAP_FAILED = "dataprotection.key.unwrap_failed";

  private final Fence fence;
  private final SiteEvents events;

  ProtectionWatch(Fence fence, SiteEvents events) {
    this.fence = fence;
    this.events = events;
  }

  private record Failing(String node, String problem) {}

  /**
   * Checks once.
   *
   * @return how many events it raised
   */
  int check() {
    return fence.write(
        h -> {
          h.createUpdate(
                  "UPDATE cluster_node_checks SET reported_problem = NULL WHERE eligible = TRUE"
                      + " AND reported_problem IS NOT NULL")
              .execute();
          List<Failing> failing =
              h.createQuery(
                      "SELECT node, problem FROM cluster_node_checks WHERE eligible = FALSE AND"
                          + " (reported_problem IS NULL OR reported_problem <> problem) ORDER BY"
                          + " node FOR UPDATE")
                  .map((rs, ctx) -> new Failing(rs.getString("node"), rs.getString("problem")))
                  .list();
          for (Failing f : failing) {
            String problem = f.problem() == null ? "(no reason given)" : f.problem();
            h.createUpdate("UPDATE cluster_node_checks SET reported_problem = :p WHERE node = :n")
                .bind("p", problem)
                .bind("n", f.node())
                .execute();
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("node", f.node());
            data.put("problem", problem);
            events.raise(
                h,
                UNWRAP_FAILED,
                "node:" + f.node(),
                "critical",
                "Node "
                    + f.node()
                    + " cannot open the data-protection key ring and cannot take the role: "
                    + problem,
                data);
          }
          return failing.size();
        });
  }
}
