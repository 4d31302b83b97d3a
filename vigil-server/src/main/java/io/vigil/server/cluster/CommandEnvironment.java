package io.vigil.server.cluster;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The environment a generic resource's commands run with: not the node's, which holds its secrets
 * ({@code VIGIL_DB_PASSWORD}, {@code VIGIL_ADMIN_PASSWORD}, whatever a service manager added), but
 * the few variables a shell needs to behave as an operator expects, plus the ones the operator
 * names in {@code Cluster.ResourceEnvironment}.
 *
 * <p>Always passed when the node has them: on Linux and macOS {@value #UNIX_LIST} and every {@code
 * LC_*}; on Windows {@value #WINDOWS_LIST} (names compared without case, as Windows does). {@link
 * GenericResource} then adds its own {@link #RESERVED} variables, which the operator cannot name. A
 * variable named but not set on the node is left out, as an unset variable would be.
 */
public final class CommandEnvironment {

  static final String UNIX_LIST = "PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, TZ, TMPDIR";

  static final String WINDOWS_LIST =
      "SystemRoot, SystemDrive, windir, ComSpec, PATH, PATHEXT, TEMP, TMP, USERPROFILE, USERNAME,"
          + " USERDOMAIN, COMPUTERNAME, HOMEDRIVE, HOMEPATH, APPDATA, LOCALAPPDATA, ProgramData,"
          + " ProgramFiles, ProgramFiles(x86), CommonProgramFiles, NUMBER_OF_PROCESSORS,"
          + " PROCESSOR_ARCHITECTURE, OS";

  /** Set by {@link GenericResource} for each command; an operator's list may not name them. */
  public static final Set<String> RESERVED =
      Set.of("VIGIL_RESOURCE", "VIGIL_NODE", "VIGIL_EPOCH", ResourceProcesses.INSTANCE);

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

  private CommandEnvironment() {}

  /**
   * The environment for commands on this platform.
   *
   * @param node the node's own environment ({@code System.getenv()})
   * @param operatorNames the variables the operator passes on as well
   * @throws IllegalArgumentException when a name is not a variable name or is reserved
   */
  public static Map<String, String> of(Map<String, String> node, List<String> operatorNames) {
    return of(node, operatorNames, GenericResource.WINDOWS);
  }

  static Map<String, String> of(
      Map<String, String> node, List<String> operatorNames, boolean windows) {
    validate(operatorNames);
    Set<String> wanted = new java.util.HashSet<>();
    for (String name : (windows ? WINDOWS_LIST : UNIX_LIST).split(", ")) {
      wanted.add(key(name, windows));
    }
    operatorNames.forEach(n -> wanted.add(key(n, windows)));
    Map<String, String> result = new TreeMap<>();
    node.forEach(
        (name, value) -> {
          if (wanted.contains(key(name, windows)) || (!windows && name.startsWith("LC_"))) {
            result.put(name, value);
          }
        });
    return Map.copyOf(result);
  }

  /**
   * Checks the names an operator listed.
   *
   * @throws IllegalArgumentException naming the entry and the fix
   */
  public static void validate(List<String> operatorNames) {
    if (operatorNames == null) {
      throw new IllegalArgumentException("is missing: give [] to pass no variable of your own");
    }
    for (String name : operatorNames) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "contains "
                + (name == null ? "an empty entry" : "'" + name + "'")
                + ", which is not a variable name: use letters, digits and underscores, e.g."
                + " \"BACKUP_TARGET\"");
      }
      if (RESERVED.stream().anyMatch(r -> r.equalsIgnoreCase(name))) {
        throw new IllegalArgumentException(
            "names "
                + name
                + ", which Vigil sets itself for every command: remove it from the list");
      }
    }
  }

  private static String key(String name, boolean windows) {
    return windows ? name.toUpperCase(Locale.ROOT) : name;
  }
}
