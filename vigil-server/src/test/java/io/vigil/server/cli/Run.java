package io.vigil.server.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/** One invocation of the {@code vigil} command in-process, with captured output. */
final class Run {
  final Map<String, String> env = new HashMap<>();

  {
    // Stored sign-ins go to a folder of this run's own, never the user's.
    try {
      env.put(
          "XDG_CONFIG_HOME", java.nio.file.Files.createTempDirectory("vigil-config-").toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  String stdin = "";
  Deque<String> typed;
  String out;
  String err;
  int exit;

  Run env(String name, String value) {
    env.put(name, value);
    return this;
  }

  Run stdin(String text) {
    stdin = text;
    return this;
  }

  /** Simulates an interactive terminal where the user types these answers in order. */
  Run typing(String... answers) {
    typed = new ArrayDeque<>(java.util.List.of(answers));
    return this;
  }

  Run exec(String... args) {
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    Terminal terminal =
        new Terminal(
            Map.copyOf(env),
            new PrintWriter(o, true),
            new PrintWriter(e, true),
            new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            typed == null ? null : prompt -> typed.isEmpty() ? null : typed.poll().toCharArray());
    exit = Main.run(terminal, args);
    out = o.toString();
    err = e.toString();
    return this;
  }
}
