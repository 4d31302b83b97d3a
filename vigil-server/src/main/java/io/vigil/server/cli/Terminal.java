package io.vigil.server.cli;

import java.io.Console;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.charset.Charset;
import java.util.Map;

/**
 * What a command sees of the world: the environment, standard streams and, when a person sits at an
 * interactive terminal, a way to ask for a password without echo. Tests pass their own.
 *
 * @param passwords null when there is no interactive terminal; commands then ask for another source
 *     (VIGIL_PASSWORD, --password-stdin) instead of waiting for input that never comes
 */
record Terminal(
    Map<String, String> env,
    PrintWriter out,
    PrintWriter err,
    InputStream in,
    PasswordPrompt passwords) {

  /** Reads a password without echo; null when the user ends input. */
  @FunctionalInterface
  interface PasswordPrompt {
    char[] read(String prompt);
  }

  static Terminal system() {
    Charset cs = Charset.defaultCharset();
    Console console = interactiveConsole();
    return new Terminal(
        System.getenv(),
        new PrintWriter(new java.io.OutputStreamWriter(System.out, cs), true),
        new PrintWriter(new java.io.OutputStreamWriter(System.err, cs), true),
        System.in,
        console == null ? null : prompt -> console.readPassword("%s", prompt));
  }

  /**
   * The console when standard input and output are a terminal. From JDK 22 {@code System.console()}
   * may return a console for redirected streams too, and {@code isTerminal()} tells them apart; on
   * JDK 21 a non-null console is always a terminal.
   */
  @SuppressWarnings(
      "SystemConsoleNull") // isTerminal() is asked for below, reflectively while the release is 21
  private static Console interactiveConsole() {
    Console console = System.console();
    if (console == null) {
      return null;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return (boolean) isTerminal.invoke(console) ? console : null;
    } catch (NoSuchMethodException e) {
      return console;
    } catch (ReflectiveOperationException e) {
      return null;
    }
  }
}
