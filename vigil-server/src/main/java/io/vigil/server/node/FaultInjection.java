package io.vigil.server.node;

import io.javalin.http.Handler;
import java.util.Map;

/**
 * Test-only fault injection, off unless the environment sets {@code VIGIL_FAULT_INJECTION=on}: then
 * a request carrying {@code X-Vigil-Fault-Delay-Ms: N} waits N ms after the node decided to serve
 * it and before its handler runs, so that a test can stop or cut off the node while a write is in
 * flight and watch fencing refuse it.
 */
final class FaultInjection {

  static final String HEADER = "X-Vigil-Fault-Delay-Ms";

  private FaultInjection() {}

  static Handler fromEnvironment(Map<String, String> env) {
    if (!"on".equals(env.get("VIGIL_FAULT_INJECTION"))) {
      return ctx -> {};
    }
    return ctx -> {
      String delay = ctx.header(HEADER);
      if (delay != null) {
        Thread.sleep(Math.min(60_000, Long.parseLong(delay.trim())));
      }
    };
  }
}
