package io.vigil.server.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code vigil version}: this build's version and the Java runtime that runs it. */
@Command(name = "version", description = "Print the version of Vigil and of Java.")
final class VersionCommand implements Callable<Integer> {

  private final Terminal terminal;

  VersionCommand(Terminal terminal) {
    this.terminal = terminal;
  }

  @Override
  public Integer call() {
    for (String line : lines()) {
      terminal.out().println(line);
    }
    terminal.out().flush();
    return ExitCodes.OK;
  }

  /** The same text for {@code vigil --version}. */
  static final class Provider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return lines();
    }
  }

  static String[] lines() {
    return new String[] {
      "Vigil " + vigilVersion(),
      "Java "
          + Runtime.version()
          + " ("
          + System.getProperty("java.vendor", "unknown vendor")
          + ") in "
          + System.getProperty("java.home")
    };
  }

  /** {@code Implementation-Version} from the jar manifest; classes outside a jar have none. */
  static String vigilVersion() {
    String v = Main.class.getPackage().getImplementationVersion();
    return v == null ? "(development build, no jar manifest)" : v;
  }
}
