package io.vigil.server.cluster;

import io.vigil.server.http.Text;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An operator-defined resource made of three shell commands (start, stop and an optional check)
 * plus dependencies: the counterpart of the seed's "Add a resource &gt; Generic Service".
 *
 * <p>Each command runs through the platform shell ({@code /bin/sh -c} on Linux and macOS, {@code
 * cmd.exe /c} on Windows) in the configured working directory, with stdin from the null device,
 * stdout and stderr merged, and a clean environment ({@link CommandEnvironment}: never the node's
 * secrets) plus {@code VIGIL_RESOURCE} (the resource name), {@code VIGIL_NODE} (the node name),
 * {@code VIGIL_EPOCH} (the epoch given to the last {@link #start}; absent before the first start)
 * and {@code VIGIL_INSTANCE} (the node process's instance id), which every process the commands
 * start inherits: {@link #forceStop} and the dead man's switch ({@link Watchdog}) find them by it
 * (see {@link ResourceProcesses}). Exit code 0 means success. The last {@value #OUTPUT_TAIL_BYTES}
 * bytes of output are kept for the failure message, where they appear {@linkplain CommandOutput
 * quoted} so that the API can hide them from readers who may not change the cluster; the output is
 * drained on its own thread so a chatty command never blocks on a full pipe.
 *
 * <p>Each command gets the matching timeout of the {@link ResourcePolicy}. A command that overruns,
 * or whose calling thread is interrupted, is killed together with every process it started
 * (politely first, forcibly after {@value #KILL_GRACE_MILLIS} ms), and the call returns only once
 * they are gone. A command that exits normally may leave background processes behind on purpose (a
 * start command that launches a daemon); they are not touched, and their output is still drained.
 *
 * <p>A stop that fails or overruns is followed by {@link #forceStop}, which ends every process
 * marked with this node process's instance id and the resource's name, also daemons that detached
 * themselves (double fork, {@code setsid}); {@link ResourceProcesses} says what it cannot find.
 *
 * <p>The command text and the environment are never logged: operators put credentials in them.
 */
public final class GenericResource implements Resource {

  private static final Logger log = LoggerFactory.getLogger(GenericResource.class);

  /** Longest accepted command, in characters; longer logic belongs in a script. */
  public static final int MAX_COMMAND_LENGTH = 4096;

  /** How much of the combined stdout and stderr a failure message can draw on. */
  static final int OUTPUT_TAIL_BYTES = 4096;

  /** Time between the polite and the forced kill of a command that overran. */
  static final long KILL_GRACE_MILLIS = 1000;

  /** Lines of output quoted in a failure message. */
  private static final int MESSAGE_LINES = 5;

  /**
   * How long to wait for the output of a command that exited: a background process it started may
   * hold the pipe open forever, so the wait must be short and bounded.
   */
  private static final long OUTPUT_WAIT_MILLIS = 300;

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,62}");
  static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
  private static final File NULL_FILE = new File(WINDOWS ? "NUL" : "/dev/null");

  /**
   * What an operator defines.
   *
   * @param name unique within the role, {@code [a-z][a-z0-9-]{0,62}}
   * @param startCommand shell command that starts the resource and exits 0 once it runs
   * @param stopCommand shell command that stops it and exits 0; must succeed when not running
   * @param checkCommand shell command that exits 0 when healthy; null for no health check
   * @param dependsOn names of the resources that must run before this one
   * @param policy timeouts and restart limits
   */
  public record Definition(
      String name,
      String startCommand,
      String stopCommand,
      String checkCommand,
      List<String> dependsOn,
      ResourcePolicy policy) {}

  private final Definition definition;
  private final List<String> dependsOn;
  private final String nodeName;
  private final File workingDirectory;
  private final String instance;
  private final Map<String, String> environment;
  private volatile Long lastEpoch;

  /**
   * A resource that runs its commands in the current working directory.
   *
   * @throws IllegalArgumentException when the definition is invalid (see {@link #validate})
   */
  public GenericResource(Definition definition, String nodeName) {
    this(definition, nodeName, null);
  }

  /**
   * A resource that runs its commands in {@code workingDirectory} (normally the node's data
   * directory), or in the current one when it is null.
   *
   * @throws IllegalArgumentException when the definition is invalid (see {@link #validate})
   */
  public GenericResource(Definition definition, String nodeName, Path workingDirectory) {
    this(definition, nodeName, workingDirectory, "local-" + java.util.UUID.randomUUID());
  }

  /**
   * A resource of node process {@code instance} (its instance id, which marks every process the
   * commands start) that runs its commands in {@code workingDirectory} with the clean environment
   * of {@link CommandEnvironment} and no variables of the operator's.
   *
   * @throws IllegalArgumentException when the definition is invalid (see {@link #validate})
   */
  public GenericResource(
      Definition definition, String nodeName, Path workingDirectory, String instance) {
    this(
        definition,
        nodeName,
        workingDirectory,
        instance,
        CommandEnvironment.of(System.getenv(), List.of()));
  }

  /**
   * A resource of node process {@code instance} whose commands run in {@code workingDirectory} with
   * exactly {@code environment} (normally {@link CommandEnvironment#of}) and the variables the
   * resource sets itself.
   *
   * @throws IllegalArgumentException when the definition is invalid (see {@link #validate})
   */
  public GenericResource(
      Definition definition,
      String nodeName,
      Path workingDirectory,
      String instance,
      Map<String, String> environment) {
    validate(definition);
    if (nodeName == null || nodeName.isBlank()) {
      throw new IllegalArgumentException(
          "node name of generic resource " + definition.name() + " is missing: pass the node name");
    }
    this.definition = definition;
    this.dependsOn = List.copyOf(definition.dependsOn());
    this.nodeName = nodeName;
    this.workingDirectory = workingDirectory == null ? null : workingDirectory.toFile();
    this.instance = instance;
    this.environment = Map.copyOf(environment);
  }

  /**
   * Checks a definition as an operator entered it.
   *
   * @throws IllegalArgumentException naming the field, what is wrong and how to fix it
   */
  public static void validate(Definition definition) {
    if (definition == null) {
      throw new IllegalArgumentException("generic resource definition is missing");
    }
    String name = definition.name();
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "name of generic resource "
              + (name == null ? "is missing" : "'" + Text.excerpt(name) + "' is invalid")
              + ": use 1 to 63 lower-case letters, digits and hyphens, starting with a letter,"
              + " e.g. 'backup-agent'");
    }
    requireCommand(name, "start", definition.startCommand());
    requireCommand(name, "stop", definition.stopCommand());
    if (definition.checkCommand() != null) {
      requireCommand(name, "check", definition.checkCommand());
    }
    List<String> dependencies = definition.dependsOn();
    if (dependencies == null) {
      throw new IllegalArgumentException(
          "dependsOn of generic resource " + name + " is missing: give an empty list for none");
    }
    Set<String> seen = new HashSet<>();
    for (String dependency : dependencies) {
      if (dependency == null || !NAME.matcher(dependency).matches()) {
        throw new IllegalArgumentException(
            "dependsOn of generic resource "
                + name
                + " contains "
                + (dependency == null ? "an empty entry" : "'" + dependency + "'")
                + ", which is not a resource name: list names such as 'management-server'");
      }
      if (dependency.equals(name)) {
        throw new IllegalArgumentException(
            "generic resource " + name + " depends on itself: remove it from its dependsOn");
      }
      if (!seen.add(dependency)) {
        throw new IllegalArgumentException(
            "dependsOn of generic resource "
                + name
                + " lists '"
                + dependency
                + "' twice: list each dependency once");
      }
    }
    ResourcePolicy policy = definition.policy();
    if (policy == null) {
      throw new IllegalArgumentException(
          "policy of generic resource " + name + " is missing: use the default policy");
    }
    requirePositive(name, "start timeout", policy.startTimeout());
    requirePositive(name, "stop timeout", policy.stopTimeout());
  }

  private static void requireCommand(String name, String which, String command) {
    if (command == null || command.isBlank()) {
      throw new IllegalArgumentException(
          which
              + " command of generic resource "
              + name
              + " is "
              + (command == null ? "missing" : "blank")
              + (which.equals("check")
                  ? ": leave it out for no health check, or give a command that exits 0 when"
                      + " healthy"
                  : ": give the shell command that " + which + "s it"));
    }
    if (command.length() > MAX_COMMAND_LENGTH) {
      throw new IllegalArgumentException(
          which
              + " command of generic resource "
              + name
              + " is "
              + command.length()
              + " characters long, more than the "
              + MAX_COMMAND_LENGTH
              + " allowed: put the commands in a script and call the script");
    }
    for (int i = 0; i < command.length(); i++) {
      char c = command.charAt(i);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        throw new IllegalArgumentException(
            which
                + " command of generic resource "
                + name
                + " contains the control character U+"
                + String.format(Locale.ROOT, "%04X", (int) c)
                + " at position "
                + (i + 1)
                + ": a shell command is text; remove it");
      }
    }
  }

  private static void requirePositive(String name, String what, Duration timeout) {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException(
          what + " of generic resource " + name + " must be positive, e.g. 30 seconds");
    }
  }

  @Override
  public String name() {
    return definition.name();
  }

  @Override
  public List<String> dependsOn() {
    return dependsOn;
  }

  @Override
  public ResourcePolicy policy() {
    return definition.policy();
  }

  /** Its daemons outlive a paused or killed JVM: the switch ends them. */
  @Override
  public boolean needsDeadMansSwitch() {
    return true;
  }

  /** The definition this resource was built from. */
  public Definition definition() {
    return definition;
  }

  /**
   * Runs the start command under {@code epoch}.
   *
   * @throws CommandFailedException when it exits non-zero
   * @throws TimeoutException when it overran the start timeout (it has been killed)
   * @throws InterruptedException when the calling thread was interrupted (it has been killed)
   * @throws IOException when the shell cannot be run at all
   */
  @Override
  public void start(long epoch) throws Exception {
    // Recorded before running, so a stop after an abandoned start sees the epoch it belongs to.
    lastEpoch = epoch;
    requireSuccess("start", definition.startCommand(), definition.policy().startTimeout());
  }

  /**
   * Runs the stop command.
   *
   * @throws CommandFailedException when it exits non-zero
   * @throws TimeoutException when it overran the stop timeout (it has been killed)
   * @throws InterruptedException when the calling thread was interrupted (it has been killed)
   * @throws IOException when the shell cannot be run at all
   */
  @Override
  public void stop() throws Exception {
    requireSuccess("stop", definition.stopCommand(), definition.policy().stopTimeout());
  }

  /**
   * Ends every process the resource's commands started on this node process that still runs: a
   * polite kill, a forced one after {@value #KILL_GRACE_MILLIS} ms.
   *
   * @return true when none is left; false when one survived, or where processes cannot be found (no
   *     {@code /proc})
   */
  @Override
  public boolean forceStop() {
    if (!ResourceProcesses.supported()) {
      return false;
    }
    List<ProcessHandle> left =
        ResourceProcesses.end(instance, name(), Long.MAX_VALUE, KILL_GRACE_MILLIS).left();
    if (!left.isEmpty()) {
      log.warn(
          "Resource {}: processes {} still run after a forced kill",
          name(),
          left.stream().map(ProcessHandle::pid).toList());
    }
    return left.isEmpty();
  }

  /**
   * Runs the check command: null when it exits 0 or there is none, otherwise {@code check command
   * exited with CODE, output «OUTPUT»} (or {@code , no output}).
   *
   * @throws TimeoutException when it overran the check timeout (it has been killed)
   * @throws InterruptedException when the calling thread was interrupted (it has been killed)
   * @throws IOException when the shell cannot be run at all
   */
  @Override
  public String check() throws Exception {
    String command = definition.checkCommand();
    if (command == null) {
      return null;
    }
    Outcome outcome = run("check", command, definition.policy().checkTimeout());
    if (outcome.exitCode() == 0) {
      return null;
    }
    return "check command exited with " + outcome.exitCode() + outcome.summary();
  }

  private void requireSuccess(String which, String command, Duration timeout) throws Exception {
    Outcome outcome = run(which, command, timeout);
    if (outcome.exitCode() != 0) {
      throw new CommandFailedException(
          which
              + " command of resource "
              + name()
              + " exited with "
              + outcome.exitCode()
              + outcome.summary(),
          outcome.exitCode(),
          outcome.output());
    }
  }

  private Outcome run(String which, String command, Duration timeout)
      throws IOException, InterruptedException, TimeoutException {
    ProcessBuilder builder =
        new ProcessBuilder(
                WINDOWS ? List.of("cmd.exe", "/c", command) : List.of("/bin/sh", "-c", command))
            .directory(workingDirectory)
            .redirectInput(ProcessBuilder.Redirect.from(NULL_FILE))
            .redirectErrorStream(true);
    Map<String, String> environment = builder.environment();
    environment.clear();
    environment.putAll(this.environment);
    environment.put("VIGIL_RESOURCE", name());
    environment.put("VIGIL_NODE", nodeName);
    environment.put(ResourceProcesses.INSTANCE, instance);
    Long epoch = lastEpoch;
    if (epoch == null) {
      environment.remove("VIGIL_EPOCH");
    } else {
      environment.put("VIGIL_EPOCH", Long.toString(epoch));
    }
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new IOException(
          which
              + " command of resource "
              + name()
              + " could not be run: "
              + e.getMessage()
              + " (check that the working directory "
              + (workingDirectory == null ? "(the current one)" : workingDirectory)
              + " exists and that "
              + (WINDOWS ? "cmd.exe" : "/bin/sh")
              + " can be run)",
          e);
    }
    log.debug("Resource {}: {} command running as pid {}", name(), which, process.pid());
    OutputTail tail = new OutputTail();
    Thread reader =
        Thread.ofVirtual()
            .name("resource-" + name() + "-" + which + "-output")
            .start(() -> tail.drain(process.getInputStream()));
    boolean exited;
    try {
      exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      killTree(process);
      log.info("Resource {}: {} command killed because its caller was interrupted", name(), which);
      throw e;
    }
    if (!exited) {
      killTree(process);
      reader.join(OUTPUT_WAIT_MILLIS);
      String output = tail.text();
      throw new TimeoutException(
          which
              + " command of resource "
              + name()
              + " timed out after "
              + timeout.toMillis()
              + " ms and was killed"
              + outputPart(output));
    }
    reader.join(OUTPUT_WAIT_MILLIS);
    int code = process.exitValue();
    log.debug("Resource {}: {} command exited with {}", name(), which, code);
    return new Outcome(code, tail.text());
  }

  /**
   * Ends {@code process} and all its descendants and returns once they are gone (or after two kill
   * rounds, when something refuses to die even to a forced kill). Descendants are collected before
   * the process is killed, since they stop being its descendants once it is gone.
   */
  private void killTree(Process process) {
    AtomicBoolean interrupted = new AtomicBoolean(Thread.interrupted());
    try {
      List<ProcessHandle> tree = tree(process.toHandle());
      tree.forEach(ProcessHandle::destroy);
      if (!ResourceProcesses.awaitEnd(tree, KILL_GRACE_MILLIS, interrupted)) {
        // Collect again: a process may have started children while it was asked to stop.
        List<ProcessHandle> survivors = new ArrayList<>();
        for (ProcessHandle handle : tree) {
          if (!ResourceProcesses.ended(handle)) {
            survivors.addAll(tree(handle));
          }
        }
        survivors.forEach(ProcessHandle::destroyForcibly);
        if (!ResourceProcesses.awaitEnd(survivors, KILL_GRACE_MILLIS, interrupted)) {
          log.warn(
              "Resource {}: processes {} did not end after a forced kill",
              name(),
              survivors.stream()
                  .filter(h -> !ResourceProcesses.ended(h))
                  .map(ProcessHandle::pid)
                  .toList());
        }
      }
    } finally {
      if (interrupted.get()) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static List<ProcessHandle> tree(ProcessHandle root) {
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(root);
    root.descendants().forEach(tree::add);
    return tree;
  }

  /** {@code , output «LAST LINES»}, or {@code , no output} when there was none. */
  static String outputPart(String output) {
    String lines = lastLines(output);
    return lines == null ? ", no output" : ", output " + CommandOutput.quote(lines);
  }

  /** The last few non-blank lines of {@code output}, joined with " | "; null when none. */
  static String lastLines(String output) {
    List<String> lines = new ArrayList<>();
    for (String line : output.split("\\R")) {
      if (!line.isBlank()) {
        lines.add(line.strip());
      }
    }
    if (lines.isEmpty()) {
      return null;
    }
    return String.join(
        " | ", lines.subList(Math.max(0, lines.size() - MESSAGE_LINES), lines.size()));
  }

  private record Outcome(int exitCode, String output) {
    String summary() {
      return outputPart(output);
    }
  }

  /** A command that ran and exited non-zero. */
  public static final class CommandFailedException extends Exception {
    private final int exitCode;
    private final String output;

    CommandFailedException(String message, int exitCode, String output) {
      super(message);
      this.exitCode = exitCode;
      this.output = output;
    }

    public int exitCode() {
      return exitCode;
    }

    /** The last {@value GenericResource#OUTPUT_TAIL_BYTES} bytes of combined stdout and stderr. */
    public String output() {
      return output;
    }
  }

  /** Keeps the last {@link #OUTPUT_TAIL_BYTES} bytes of a stream, read until it ends. */
  private static final class OutputTail {
    private final byte[] ring = new byte[OUTPUT_TAIL_BYTES];
    private long written;

    void drain(InputStream in) {
      byte[] buffer = new byte[1024];
      try (in) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          append(buffer, n);
        }
      } catch (IOException e) {
        // The pipe closes when the process is killed; what was read so far is the tail.
      }
    }

    private synchronized void append(byte[] buffer, int n) {
      for (int i = 0; i < n; i++) {
        ring[(int) (written++ % ring.length)] = buffer[i];
      }
    }

    synchronized String text() {
      int size = (int) Math.min(written, ring.length);
      byte[] bytes = new byte[size];
      long start = written - size;
      for (int i = 0; i < size; i++) {
        bytes[i] = ring[(int) ((start + i) % ring.length)];
      }
      int from = 0;
      if (start > 0) {
        // The tail may begin inside a UTF-8 sequence: skip its continuation bytes.
        while (from < size && (bytes[from] & 0xC0) == 0x80) {
          from++;
        }
      }
      return new String(bytes, from, size - from, StandardCharsets.UTF_8);
    }
  }
}
