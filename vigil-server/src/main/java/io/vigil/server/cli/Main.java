package io.vigil.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Entry point of the {@code vigil} command. Exit codes are in {@link ExitCodes}: failures the user
 * can act on print one line {@code error: <message> (<code>)} on stderr; an unexpected failure also
 * prints its stack trace, because it is a bug to report.
 */
@Command(
    name = "vigil",
    mixinStandardHelpOptions = true,
    versionProvider = VersionCommand.Provider.class,
    description = "Vigil: a highly available management server for video management systems.",
    footer = {
      "",
      "Exit codes: 0 ok, 1 error, 2 usage, 3 authentication failed, 4 not found, 5 conflict,",
      "6 another vigil configure is running, 7 management server unreachable (configure),",
      "8 invalid certificate (configure)."
    })
public final class Main implements Runnable {

  @Spec CommandSpec spec;

  private Main() {}

  public static void main(String[] args) {
    int code = run(Terminal.system(), args);
    // A node returns after its shutdown hook has closed it; the JVM is already exiting then.
    System.exit(code);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "Missing command: run \"vigil --help\" for the list.");
  }

  static int run(Terminal terminal, String... args) {
    return commandLine(terminal).execute(args);
  }

  static CommandLine commandLine(Terminal terminal) {
    return commandLine(terminal, ConfigureCommand.INSTALLED);
  }

  /**
   * The command line, with {@code vigil configure} acting on the components {@code components}
   * finds (tests add their own).
   */
  static CommandLine commandLine(Terminal terminal, ConfigureCommand.Components components) {
    CommandLine cli =
        new CommandLine(new Main())
            .addSubcommand(new NodeCommand.Run(terminal))
            .addSubcommand(new NodeCommand.StartDev(terminal))
            .addSubcommand(new LoginCommand.Login(terminal))
            .addSubcommand(new LoginCommand.Logout(terminal))
            .addSubcommand(UserCommand.commandLine(terminal))
            .addSubcommand(IdentityCommand.commandLine(terminal))
            .addSubcommand(ServerCommand.commandLine(terminal))
            .addSubcommand(MonitorCommand.commandLine(terminal))
            .addSubcommand(EventCommand.commandLine(terminal))
            .addSubcommand(AlarmCommand.commandLine(terminal))
            .addSubcommand(ComponentCommand.commandLine(terminal))
            .addSubcommand(ClusterCommand.commandLine(terminal))
            .addSubcommand(ProtectCommand.commandLine(terminal))
            .addSubcommand(ConfigureCommand.commandLine(terminal, components))
            .addSubcommand(new VersionCommand(terminal))
            .addSubcommand(new WarmupCommand(terminal));
    cli.setOut(terminal.out());
    cli.setErr(terminal.err());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          CliException failure = e instanceof CliException c ? c : StartupFailure.explain(e, null);
          if (failure != null) {
            terminal.err().println(failure.line());
            terminal.err().flush();
            return failure.exitCode();
          }
          terminal.err().println("error: unexpected failure, please report it: " + e);
          e.printStackTrace(terminal.err());
          terminal.err().flush();
          return ExitCodes.ERROR;
        });
    return cli;
  }
}
