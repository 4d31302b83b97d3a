package io.vigil.server.node;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.vigil.server.cluster.ClusterView;
import io.vigil.server.cluster.EpochFence;
import io.vigil.server.cluster.FailoverController;
import io.vigil.server.cluster.RoleController;
import io.vigil.server.http.Api;
import io.vigil.server.http.RouteModule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Decides which requests this node serves. The active node serves everything. A standby serves
 * health, metrics, {@code /cluster/active} and the cluster API ({@code /api/v1/cluster}, so that a
 * cluster can be inspected and repaired through any node), and answers every other request (the
 * API, the identity provider and the callback paths of external identity providers) with a 307
 * redirect to the active node, or a 503 naming no node when none is active. When no node is active
 * a standby still issues tokens itself, so that operators can sign in to repair the cluster.
 */
final class ActiveGate implements Handler {

  /** Where the active node is, as far as this node knows. */
  record Active(String name, String url) {}

  private final FailoverController controller;
  private final String me;
  private final String myUrl;
  private final Supplier<Optional<String>> ineligible;

  /**
   * @param ineligible why this node may not take the role (its data protection cannot be used), or
   *     empty; such a node answers {@code /health/ready} with 503 and the reason, and does not
   *     issue tokens itself
   */
  ActiveGate(
      FailoverController controller,
      String me,
      String myUrl,
      Supplier<Optional<String>> ineligible) {
    this.controller = controller;
    this.me = me;
    this.myUrl = myUrl;
    this.ineligible = ineligible;
  }

  @Override
  public void handle(Context ctx) {
    String path = ctx.path();
    Optional<String> problem = ineligible.get();
    if (problem.isPresent() && path.equals("/health/ready")) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("status", "DOWN");
      body.put("code", "not_eligible");
      body.put("reason", problem.get());
      ctx.status(503).json(body);
      ctx.skipRemainingHandlers();
      return;
    }
    if (path.equals("/health/ready") && roleFailed()) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("status", "DOWN");
      body.put("code", "role_failed");
      body.put(
          "reason",
          "The management role is marked failed, so no node serves it; see vigil cluster status"
              + " for why, fix the cause and run vigil cluster reset.");
      ctx.status(503).json(body);
      ctx.skipRemainingHandlers();
      return;
    }
    if (path.equals("/health/ready")) {
      Problem owning = ownerProblem();
      if (owning != null) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "DOWN");
        body.put("code", owning.code());
        body.put("reason", owning.message());
        ctx.status(503).json(body);
        ctx.skipRemainingHandlers();
        return;
      }
    }
    if (servedByEveryNode(path)) {
      return;
    }
    // Everything else belongs to the active node: the API, the identity provider under /idp and
    // the callback paths of external identity providers (such as /signin-oidc), which an operator
    // configures and a standby therefore cannot list.
    boolean api = path.startsWith("/api/");
    if (controller.isActive()) {
      String needed = api ? BuiltinResources.MANAGEMENT_SERVER : BuiltinResources.IDENTITY_PROVIDER;
      if (running(needed)) {
        return;
      }
      // The owner is starting (or restarting) the resource: answering from a half-started
      // service would give misleading protocol errors, such as an unknown built-in client.
      ctx.status(503)
          .header("Retry-After", "1")
          .json(
              body(
                  "resource_starting",
                  "Node "
                      + me
                      + " is active, but its "
                      + needed
                      + " resource is not running yet (it is starting or restarting); retry in a"
                      + " moment.",
                  new Active(me, myUrl)));
      ctx.skipRemainingHandlers();
      return;
    }
    Active active = active();
    if (active != null && !active.name().equals(me) && active.url() != null) {
      String query = ctx.queryString();
      ctx.status(307)
          .header("Location", active.url() + path + (query == null ? "" : "?" + query))
          .json(
              body(
                  "not_active",
                  "Node "
                      + me
                      + " is a standby; the active node is "
                      + active.name()
                      + " at "
                      + active.url()
                      + ".",
                  active));
      ctx.skipRemainingHandlers();
      return;
    }
    if (problem.isPresent()) {
      ctx.status(503)
          .json(
              body(
                  "data_protection_unavailable",
                  "No node is active, and node " + me + " cannot serve: " + problem.get(),
                  null));
      ctx.skipRemainingHandlers();
      return;
    }
    if (path.equals("/idp/connect/token") || path.startsWith("/idp/.well-known/")) {
      return;
    }
    ctx.status(503)
        .json(
            body(
                "no_active_node",
                "No node is active for the management role right now (a failover may be in progress); retry in a few seconds, or see vigil cluster status.",
                null));
    ctx.skipRemainingHandlers();
  }

  /** Health, metrics, the active-node probe and the cluster API: answered by any node itself. */
  private static boolean servedByEveryNode(String path) {
    return path.startsWith("/health/")
        || path.equals("/metrics")
        || path.equals("/cluster/active")
        || path.startsWith("/api/v1/cluster");
  }

  /** Whether the last observation found the role marked failed. */
  private boolean roleFailed() {
    ClusterView view = controller.lastView();
    return view != null && view.roleFailed();
  }

  private boolean running(String resource) {
    RoleController.Status s = controller.status();
    return s != null
        && s.resources().stream()
            .anyMatch(
                r ->
                    r.name().equals(resource) && r.state() == RoleController.ResourceState.RUNNING);
  }

  /** Why the node is not ready, with a stable code. */
  private record Problem(String code, String message) {}

  /**
   * Why this node, which owns the role, does not serve everything: it stops its resources or gives
   * the role up, maintenance left a resource stopped, or a resource is starting. Null when the node
   * serves, and on a standby.
   */
  private Problem ownerProblem() {
    if (!controller.isActive() || controller.isServing()) {
      return null;
    }
    if (stopping()) {
      return new Problem(
          "resource_stopping",
          "This node owns the role but is stopping its resources (" + stoppingReason() + ").");
    }
    ClusterView view = controller.lastView();
    if (view != null && view.maintenance()) {
      return new Problem(
          "maintenance",
          "This node owns the role, but the cluster is in maintenance and not every resource runs;"
              + " nothing is started automatically: start them with vigil cluster resource start,"
              + " or end maintenance.");
    }
    return new Problem(
        "resource_starting",
        "This node owns the role but not all of its resources are running yet.");
  }

  /** Whether the owner is giving the role up or stopping a resource. */
  private boolean stopping() {
    RoleController.Status s = controller.status();
    return s != null
        && (s.steppingDown() != null
            || s.resources().stream()
                .anyMatch(
                    r ->
                        r.state() == RoleController.ResourceState.STOPPING
                            || r.state() == RoleController.ResourceState.STOP_FAILED));
  }

  private String stoppingReason() {
    RoleController.Status s = controller.status();
    return s == null || s.steppingDown() == null ? "a resource is stopping" : s.steppingDown();
  }

  /** The node that owns the role by the last observation, with its URL, or null. */
  Active active() {
    if (controller.isActive()) {
      return new Active(me, myUrl);
    }
    ClusterView view = controller.lastView();
    if (view == null || view.lease().owner() == null || view.lease().expired()) {
      return null;
    }
    String owner = view.lease().owner().name();
    return new Active(owner, controller.nodeUrl(owner));
  }

  private static Map<String, Object> body(String code, String message, Active active) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("code", code);
    body.put("message", message);
    body.put("active", active == null ? null : active.name());
    body.put("url", active == null ? null : active.url());
    return body;
  }

  /**
   * {@code GET /cluster/active}: 200 on the active node once every resource of the role runs (the
   * signal a load balancer routes on), 503 otherwise, naming the active node when there is one.
   */
  RouteModule routes() {
    return (Api api) -> {
      // Which epoch a request's writes committed under: what lets a client (or a checker) tell
      // that no write was ever accepted under a stale one.
      api.after(
          ctx -> {
            Long epoch = EpochFence.takeCommittedEpoch();
            if (epoch != null) {
              ctx.header("Vigil-Epoch", Long.toString(epoch));
            }
          });
      api.open(
          HandlerType.GET,
          "/cluster/active",
          ctx -> {
            Answer a = activeAnswer();
            ctx.status(a.status()).json(a.body());
          });
      // For load balancers' health checks (HAProxy's option httpchk, as on Patroni's /primary):
      // the same status, no body.
      for (HandlerType method : List.of(HandlerType.HEAD, HandlerType.OPTIONS)) {
        api.open(
            method,
            "/cluster/active",
            ctx -> {
              ctx.status(activeAnswer().status());
              ctx.header("Allow", "GET, HEAD, OPTIONS");
              ctx.header("Content-Length", "0");
            });
      }
    };
  }

  /** What {@code /cluster/active} answers: its status and the body a GET gets. */
  private record Answer(int status, Map<String, Object> body) {}

  private Answer activeAnswer() {
    if (controller.isServing()) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("active", me);
      body.put("url", myUrl);
      body.put("epoch", controller.status().epoch());
      return new Answer(200, body);
    } else if (roleFailed()) {
      return new Answer(
          503,
          body(
              "role_failed",
              "The management role is marked failed, so no node serves it; see vigil"
                  + " cluster status for why, fix the cause and run vigil cluster"
                  + " reset.",
              null));
    } else if (ownerProblem() instanceof Problem p) {
      return new Answer(503, body(p.code(), p.message(), new Active(me, myUrl)));
    } else {
      Active active = active();
      return new Answer(
          503,
          body(
              active == null ? "no_active_node" : "not_active",
              active == null
                  ? "No node is active right now."
                  : "This node is a standby; " + active.name() + " is active.",
              active));
    }
  }
}
