package io.vigil.server.config;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vigil.server.cluster.CommandEnvironment;
import io.vigil.server.cluster.VirtualIp;
import io.vigil.server.http.TrustedProxies;
import io.vigil.server.protect.Thumbprint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a node's {@link Settings}: defaults, then {@code appsettings.json} in the data directory,
 * then environment variables, then command-line flags (each later source wins).
 */
public final class SettingsLoader {

  public static final String FILE_NAME = "appsettings.json";

  /**
   * A section given as {@code null} keeps its defaults, as if it were left out; a list may be
   * {@code null} (the default) but may hold no {@code null} entry.
   */
  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .withConfigOverride(Settings.NodeSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.HttpSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.TlsSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.DatabaseSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(
              Settings.DataProtectionSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.CertificateSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.IdentitySection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.ClusterSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.CollectorSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(Settings.EventsSection.class, SettingsLoader::nullKeepsDefault)
          .withConfigOverride(
              java.util.List.class,
              o -> o.setSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP, Nulls.FAIL)))
          .build();

  private static void nullKeepsDefault(com.fasterxml.jackson.databind.cfg.MutableConfigOverride o) {
    o.setSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP));
  }

  private SettingsLoader() {}

  /** Command-line values that override the file and the environment; null means not given. */
  public record Overrides(Path dataDir, Integer httpPort, String httpHost) {
    public static Overrides none() {
      return new Overrides(null, null, null);
    }
  }

  /**
   * Loads settings.
   *
   * @param defaultDataDir data directory used when neither a flag nor VIGIL_DATA_DIR names one
   * @throws ConfigException naming the file, the key and the fix when something is invalid
   */
  public static Settings load(Path defaultDataDir, Map<String, String> env, Overrides flags) {
    Path dataDir =
        flags.dataDir() != null
            ? flags.dataDir()
            : env.containsKey("VIGIL_DATA_DIR")
                ? Path.of(env.get("VIGIL_DATA_DIR"))
                : defaultDataDir;
    dataDir = dataDir.toAbsolutePath().normalize();
    Path file = dataDir.resolve(FILE_NAME);
    Settings settings = readFile(file);
    settings.dataDir = dataDir;

    applyEnv(settings, env);
    if (flags.httpPort() != null) {
      settings.http.port = flags.httpPort();
    }
    if (flags.httpHost() != null) {
      settings.http.host = flags.httpHost();
    }
    validate(settings, file);
    return settings;
  }

  private static Settings readFile(Path file) {
    if (!Files.exists(file)) {
      return new Settings();
    }
    try {
      Settings settings = MAPPER.readValue(file.toFile(), Settings.class);
      if (settings == null) {
        throw new ConfigException(
            file
                + ": holds null instead of the settings object. Write {} for the defaults;"
                + " docs/configuration.md lists every setting.");
      }
      return settings;
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(
          file
              + ": unknown setting \""
              + e.getPropertyName()
              + "\" at "
              + e.getPathReference()
              + ". Remove it or correct its spelling; docs/configuration.md lists every setting.");
    } catch (JsonProcessingException e) {
      throw new ConfigException(
          file
              + ": not valid JSON or a wrong type at line "
              + e.getLocation().getLineNr()
              + ": "
              + e.getOriginalMessage()
              + ". Fix the file; docs/configuration.md lists every setting and its type.");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ").");
    }
  }

  private static void applyEnv(Settings s, Map<String, String> env) {
    set(env, "VIGIL_NODE_NAME", v -> s.node.name = v);
    set(env, "VIGIL_ADVERTISED_URL", v -> s.node.advertisedUrl = v);
    set(
        env,
        "VIGIL_NATIVE_CRYPTO",
        v -> s.node.nativeCrypto = parseBoolean("VIGIL_NATIVE_CRYPTO", v));
    set(env, "VIGIL_HTTP_HOST", v -> s.http.host = v);
    set(env, "VIGIL_HTTP_PORT", v -> s.http.port = parseInt("VIGIL_HTTP_PORT", v));
    set(
        env,
        "VIGIL_HTTP_ALLOW_PLAIN",
        v -> s.http.allowPlainHttp = parseBoolean("VIGIL_HTTP_ALLOW_PLAIN", v));
    set(
        env,
        "VIGIL_TLS_THUMBPRINT",
        v -> {
          s.http.tls.thumbprint = v;
          s.http.tls.thumbprintFromEnvironment = true;
        });
    set(
        env,
        "VIGIL_HTTP_TRUSTED_PROXIES",
        v ->
            s.http.trustedProxies =
                java.util.Arrays.stream(v.split(","))
                    .map(String::strip)
                    .filter(e -> !e.isEmpty())
                    .toList());
    set(
        env,
        "VIGIL_HTTP_MAX_CONNECTIONS",
        v -> s.http.maxConnections = parseInt("VIGIL_HTTP_MAX_CONNECTIONS", v));
    set(
        env,
        "VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
        v ->
            s.http.maxConnectionsPerAddress =
                parseInt("VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS", v));
    set(env, "VIGIL_DB_URL", v -> s.database.url = v);
    set(env, "VIGIL_DB_USER", v -> s.database.user = v);
    set(env, "VIGIL_DB_PASSWORD", v -> s.database.password = v);
    set(env, "VIGIL_MACHINE_KEY_FILE", v -> s.dataProtection.machineKeyFile = v);
    set(env, "VIGIL_ISSUER", v -> s.identity.issuer = v);
    set(env, "VIGIL_VIRTUAL_IP_ADDRESS", v -> s.cluster.virtualIp.address = v);
    set(env, "VIGIL_VIRTUAL_IP_INTERFACE", v -> s.cluster.virtualIp.iface = v);
    String admin = env.get("VIGIL_ADMIN_PASSWORD");
    s.adminPassword = admin == null || admin.isEmpty() ? null : admin;
  }

  private static void set(
      Map<String, String> env, String name, java.util.function.Consumer<String> setter) {
    String value = env.get(name);
    if (value != null && !value.isBlank()) {
      setter.accept(value.trim());
    }
  }

  private static void parseThumbprint(String value, Path file) {
    try {
      Thumbprint.parse(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          "Http.Tls.Thumbprint in " + file + " (or VIGIL_TLS_THUMBPRINT): " + e.getMessage());
    }
  }

  private static boolean parseBoolean(String name, String value) {
    if (value.equalsIgnoreCase("true")) {
      return true;
    }
    if (value.equalsIgnoreCase("false")) {
      return false;
    }
    throw new ConfigException(
        "Environment variable " + name + "=\"" + value + "\" is not true or false.");
  }

  private static int parseInt(String name, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new ConfigException(
          "Environment variable " + name + "=\"" + value + "\" is not a whole number.");
    }
  }

  /**
   * {@code Http.Tls.Thumbprint} as a start of the node would see it now: {@code
   * VIGIL_TLS_THUMBPRINT} when that set it at start-up, else the value in {@code appsettings.json}
   * as the file reads today. Lets a running node follow {@code vigil protect use --tls}.
   *
   * @return the thumbprint text, or null when none is configured any more
   * @throws ConfigException when the file cannot be read or is invalid
   */
  public static String currentTlsThumbprint(Settings running) {
    if (running.http.tls.thumbprintFromEnvironment) {
      return running.http.tls.thumbprint;
    }
    Path file = running.dataDir.resolve(FILE_NAME);
    Settings now = readFile(file);
    String thumbprint = now.http == null || now.http.tls == null ? null : now.http.tls.thumbprint;
    if (thumbprint == null || thumbprint.isBlank()) {
      return null;
    }
    parseThumbprint(thumbprint, file);
    return thumbprint.strip();
  }

  /**
   * Why a PostgreSQL URL listing several hosts is unsafe, or null: without {@code
   * targetServerType=primary} a connection may land on a standby (or on the other server after a
   * failover), and the lease, the advisory lock and every write must be on the one primary.
   */
  static String multiHostProblem(String url) {
    if (url == null || !url.startsWith("jdbc:postgresql://")) {
      return null;
    }
    String rest = url.substring("jdbc:postgresql://".length());
    int slash = rest.indexOf('/');
    String hosts = slash < 0 ? rest : rest.substring(0, slash);
    if (!hosts.contains(",")) {
      return null;
    }
    int q = rest.indexOf('?');
    String query = q < 0 ? "" : rest.substring(q + 1);
    for (String param : query.split("&")) {
      int eq = param.indexOf('=');
      if (eq > 0 && param.substring(0, eq).equalsIgnoreCase("targetServerType")) {
        String value = param.substring(eq + 1);
        if (value.equalsIgnoreCase("primary") || value.equalsIgnoreCase("master")) {
          return null;
        }
      }
    }
    return "lists several database servers but does not ask for the primary: add"
        + " targetServerType=primary to it (e.g. jdbc:postgresql://db1:5432,db2:5432/vigil"
        + "?targetServerType=primary), so that the lease, the lock and every write reach the"
        + " primary and never a standby.";
  }

  private static void validateLimits(Settings.HttpSection h, Path file) {
    between("Http.RequestBodyTimeoutSeconds", h.requestBodyTimeoutSeconds, 1, 3600, file);
    between("Http.IdleTimeoutSeconds", h.idleTimeoutSeconds, 1, 3600, file);
    between("Http.MaxRequestHeaderBytes", h.maxRequestHeaderBytes, 1024, 65536, file);
    between("Http.MaxConnections", h.maxConnections, 1, 1_000_000, file);
    if (h.maxConnectionsPerAddress < 1 || h.maxConnectionsPerAddress > h.maxConnections) {
      throw new ConfigException(
          "Http.MaxConnectionsPerAddress "
              + h.maxConnectionsPerAddress
              + " is out of range in "
              + file
              + " (or VIGIL_HTTP_MAX_CONNECTIONS_PER_ADDRESS): use 1 to Http.MaxConnections ("
              + h.maxConnections
              + ").");
    }
  }

  private static void between(String name, long value, long min, long max, Path file) {
    if (value < min || value > max) {
      throw new ConfigException(
          name + " " + value + " is out of range in " + file + ": use " + min + " to " + max + ".");
    }
  }

  /** The values {@code Identity.SigningAlgorithm} takes. */
  private static final java.util.List<String> SIGNING_ALGORITHMS =
      java.util.List.of("RS256", "ES256");

  private static void validate(Settings s, Path file) {
    if (s.http.tls == null) {
      s.http.tls = new Settings.TlsSection();
    }
    if (s.http.tlsEnabled()) {
      s.http.tls.thumbprint = s.http.tls.thumbprint.strip();
      parseThumbprint(s.http.tls.thumbprint, file);
    }
    if (s.http.trustedProxies == null) {
      s.http.trustedProxies = java.util.List.of();
    }
    try {
      TrustedProxies.parse(s.http.trustedProxies);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          "Http.TrustedProxies in "
              + file
              + " (or VIGIL_HTTP_TRUSTED_PROXIES): "
              + e.getMessage()
              + " List the load balancers' addresses, e.g. [\"10.0.0.5\", \"10.1.0.0/16\"].");
    }
    if (s.http.port < 0 || s.http.port > 65535) {
      throw new ConfigException(
          "Http.Port "
              + s.http.port
              + " is out of range: use 1-65535 (or 0 for any free port) in "
              + file
              + ", VIGIL_HTTP_PORT or --http-port.");
    }
    if (s.http.maxRequestBytes < 1024) {
      throw new ConfigException(
          "Http.MaxRequestBytes " + s.http.maxRequestBytes + " is too small: use at least 1024.");
    }
    validateLimits(s.http, file);
    between("Events.RetentionDays", s.events.retentionDays, 0, 36500, file);
    between("Events.ClosedAlarmRetentionDays", s.events.closedAlarmRetentionDays, 0, 36500, file);
    between("Events.AlarmRetentionDays", s.events.alarmRetentionDays, 0, 36500, file);
    var c = s.cluster;
    if (c.renewIntervalMillis < 50
        || c.renewDeadlineMillis <= c.renewIntervalMillis
        || c.leaseMillis <= c.renewDeadlineMillis) {
      throw new ConfigException(
          "Cluster timing in "
              + file
              + " is unsafe: it needs RenewIntervalMillis < RenewDeadlineMillis < LeaseMillis (now "
              + c.renewIntervalMillis
              + " / "
              + c.renewDeadlineMillis
              + " / "
              + c.leaseMillis
              + "), so that an owner stops before its lease can expire.");
    }
    if (c.pollIntervalMillis < 10
        || c.failoverLimit < 0
        || c.restartLimit < 0
        || c.checkIntervalMillis < 100
        || c.checkTimeoutMillis < 100) {
      throw new ConfigException(
          "Cluster settings in "
              + file
              + " are out of range: PollIntervalMillis >= 10, CheckIntervalMillis and CheckTimeoutMillis >= 100, limits >= 0.");
    }
    try {
      CommandEnvironment.validate(c.resourceEnvironment);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("Cluster.ResourceEnvironment in " + file + " " + e.getMessage());
    }
    if (c.virtualIp == null) {
      c.virtualIp = new Settings.VirtualIpSection();
    }
    VirtualIp.Config vip = s.virtualIp();
    if (vip != null) {
      String wrong =
          VirtualIp.problem(
              vip, VirtualIp.linux(), VirtualIp.installed("ip"), VirtualIp.installed("arping"));
      if (wrong != null) {
        throw new ConfigException(wrong + " (in " + file + " or VIGIL_VIRTUAL_IP_*)");
      }
    }
    String problem = multiHostProblem(s.database.url);
    if (problem != null) {
      throw new ConfigException("Database.Url (or VIGIL_DB_URL) " + problem);
    }
    if (s.collector.missedHeartbeats < 1
        || s.collector.missedHeartbeats > 100
        || s.collector.sweepIntervalMillis < 100
        || s.collector.sweepIntervalMillis > 60_000
        || s.collector.monitorTickSeconds < 5
        || s.collector.monitorTickSeconds > 600
        || s.collector.monitorHistoryDays < 0
        || s.collector.monitorHistoryDays > 3650
        || s.collector.heartbeatBatchMillis < 0
        || s.collector.heartbeatBatchMillis > 1000) {
      throw new ConfigException(
          "Collector settings in "
              + file
              + " are out of range: MissedHeartbeats 1-100, SweepIntervalMillis 100-60000,"
              + " MonitorTickSeconds 5-600, MonitorHistoryDays 0-3650, HeartbeatBatchMillis 0-1000.");
    }
    if (s.database.poolSize < 2) {
      throw new ConfigException("Database.PoolSize must be at least 2 in " + file + ".");
    }
    if (s.dataProtection.keyLifetimeDays < 1) {
      throw new ConfigException(
          "DataProtectionSettings.KeyLifetimeDays must be at least 1 in " + file + ".");
    }
    if (s.identity.accessTokenLifetimeSeconds < 10
        || s.identity.refreshTokenLifetimeSeconds < s.identity.accessTokenLifetimeSeconds) {
      throw new ConfigException(
          "Identity token lifetimes are invalid in "
              + file
              + ": AccessTokenLifetimeSeconds must be >= 10 and"
              + " RefreshTokenLifetimeSeconds >= AccessTokenLifetimeSeconds.");
    }
    if (s.identity.refreshTokenReuseGraceSeconds < 0
        || s.identity.refreshTokenReuseGraceSeconds > 300) {
      throw new ConfigException(
          "Identity.RefreshTokenReuseGraceSeconds must be between 0 and 300 in " + file + ".");
    }
    Settings.IdentitySection id = s.identity;
    if (id.signingAlgorithm == null) {
      id.signingAlgorithm = "RS256";
    }
    String alg = id.signingAlgorithm.strip().toUpperCase(java.util.Locale.ROOT);
    if (!SIGNING_ALGORITHMS.contains(alg)) {
      throw new ConfigException(
          "Identity.SigningAlgorithm \""
              + id.signingAlgorithm
              + "\" is not supported in "
              + file
              + ": use \"RS256\" (the default) or \"ES256\".");
    }
    id.signingAlgorithm = alg;
    if (id.signInFailuresBeforeDelay < 1
        || id.signInFailuresPerAddress < 1
        || id.signInMaxDelaySeconds < 1
        || id.signInMaxDelaySeconds > 24 * 3600) {
      throw new ConfigException(
          "Identity sign-in throttling is out of range in "
              + file
              + ": SignInFailuresBeforeDelay and SignInFailuresPerAddress must be at least 1,"
              + " SignInMaxDelaySeconds between 1 and 86400.");
    }
    if (id.passwordChecksAtOnce < 0
        || id.passwordCheckWaitMillis < 0
        || id.passwordCheckWaitMillis > 30_000
        || id.tokenRequestsPerMinute < 1) {
      throw new ConfigException(
          "Identity request limits are out of range in "
              + file
              + ": PasswordChecksAtOnce >= 0 (0: one per processor), PasswordCheckWaitMillis"
              + " between 0 and 30000, TokenRequestsPerMinute >= 1.");
    }
  }
}
