package io.vigil.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A node's configuration: the sections of {@code appsettings.json} in the data directory, after
 * environment overrides and command-line flags. Every field has its default here; {@code
 * docs/configuration.md} lists them with the reason for each.
 *
 * <p>Loaded by {@link SettingsLoader}; validated once at start-up and treated as read-only after.
 */
public final class Settings {

  @JsonProperty("Node")
  public NodeSection node = new NodeSection();

  @JsonProperty("Http")
  public HttpSection http = new HttpSection();

  @JsonProperty("Database")
  public DatabaseSection database = new DatabaseSection();

  @JsonProperty("DataProtectionSettings")
  public DataProtectionSection dataProtection = new DataProtectionSection();

  @JsonProperty("Identity")
  public IdentitySection identity = new IdentitySection();

  @JsonProperty("Cluster")
  public ClusterSection cluster = new ClusterSection();

  @JsonProperty("Collector")
  public CollectorSection collector = new CollectorSection();

  @JsonProperty("Events")
  public EventsSection events = new EventsSection();

  /** Where the node keeps its files; not read from the file itself (the file lives in it). */
  public transient Path dataDir;

  /**
   * The {@code admin} user's password on first start (VIGIL_ADMIN_PASSWORD), or null to generate
   * one. Only from the environment: a password has no place in a configuration file.
   */
  public transient String adminPassword;

  public static final class NodeSection {
    /** The node's name in the cluster; defaults to the host name. */
    @JsonProperty("Name")
    public String name;

    /**
     * The URL other nodes and clients use to reach this node; defaults to http://host:port, or
     * https://host:port when the node serves HTTPS.
     */
    @JsonProperty("AdvertisedUrl")
    public String advertisedUrl;

    /**
     * Whether the node installs the Amazon Corretto Crypto Provider (native RSA signing, about
     * three times the JDK's rate) where it loads; false keeps the JDK's providers.
     */
    @JsonProperty("NativeCrypto")
    public boolean nativeCrypto = true;
  }

  public static final class HttpSection {
    @JsonProperty("Host")
    public String host = "0.0.0.0";

    @JsonProperty("Port")
    public int port = 8080;

    /** Largest request body accepted; larger bodies get 413 before any handler runs. */
    @JsonProperty("MaxRequestBytes")
    public long maxRequestBytes = 1024 * 1024;

    /**
     * How long a request body may take to arrive in full; a slower one is answered 408 and its
     * connection closed. The body is read without holding a request thread meanwhile.
     */
    @JsonProperty("RequestBodyTimeoutSeconds")
    public int requestBodyTimeoutSeconds = 10;

    /** Open connections the node accepts in all; beyond it new ones wait in the listen backlog. */
    @JsonProperty("MaxConnections")
    public int maxConnections = 1000;

    /**
     * Open connections from one client address; beyond it a new one is closed at once. Trusted
     * proxies are exempt, since every client behind one shares its address.
     */
    @JsonProperty("MaxConnectionsPerAddress")
    public int maxConnectionsPerAddress = 32;

    /** Largest request line plus headers; more is answered 414 or 431. */
    @JsonProperty("MaxRequestHeaderBytes")
    public int maxRequestHeaderBytes = 8192;

    /** A connection that sends and receives nothing this long is closed. */
    @JsonProperty("IdleTimeoutSeconds")
    public int idleTimeoutSeconds = 30;

    /**
     * Lets {@code vigil node} serve plain HTTP when no certificate is configured: only for a node
     * behind a proxy that terminates TLS. Without it, and without {@link TlsSection#thumbprint},
     * the node refuses to start.
     */
    @JsonProperty("AllowPlainHttp")
    public boolean allowPlainHttp = false;

    @JsonProperty("Tls")
    public TlsSection tls = new TlsSection();

    /**
     * IP addresses and CIDR ranges of the proxies (load balancers) whose {@code Forwarded} and
     * {@code X-Forwarded-*} headers name the client; from any other peer those headers are ignored.
     */
    @JsonProperty("TrustedProxies")
    public java.util.List<String> trustedProxies = java.util.List.of();

    /** Whether the node serves HTTPS: a certificate thumbprint is configured. */
    public boolean tlsEnabled() {
      return tls.thumbprint != null && !tls.thumbprint.isBlank();
    }
  }

  public static final class TlsSection {
    /**
     * SHA-1 thumbprint of the HTTPS certificate in the node's personal certificate store. A change
     * in {@code appsettings.json} is picked up while the node runs.
     */
    @JsonProperty("Thumbprint")
    public String thumbprint;

    /**
     * Whether {@code VIGIL_TLS_THUMBPRINT} set {@link #thumbprint}; then a later change of the file
     * does not replace it, exactly as at start-up.
     */
    public transient boolean thumbprintFromEnvironment;
  }

  public static final class DatabaseSection {
    /** JDBC URL; empty means the embedded H2 file database under the data directory. */
    @JsonProperty("Url")
    public String url;

    @JsonProperty("User")
    public String user;

    @JsonProperty("Password")
    public String password;

    @JsonProperty("PoolSize")
    public int poolSize = 10;
  }

  public static final class DataProtectionSection {
    /**
     * The machine protector's key file. One per machine (all nodes of the machine share it), like
     * DPAPI's machine scope. Empty means the platform default (see docs/configuration.md).
     */
    @JsonProperty("MachineKeyFile")
    public String machineKeyFile;

    /** How long a data key is used for new encryptions before a new one is made. */
    @JsonProperty("KeyLifetimeDays")
    public int keyLifetimeDays = 90;

    @JsonProperty("ProtectKeysWithCertificate")
    public CertificateSection protectKeysWithCertificate = new CertificateSection();
  }

  public static final class CertificateSection {
    /**
     * SHA-1 thumbprint of the certificate in the node's personal store that wraps the key ring's
     * keys; empty means the machine key file. Case, spaces and colons are ignored.
     */
    @JsonProperty("Thumbprint")
    public String thumbprint;

    /** Certificates used before, kept for unwrapping keys they wrapped; never for new keys. */
    @JsonProperty("OlderThumbprints")
    public java.util.List<String> olderThumbprints = java.util.List.of();
  }

  public static final class IdentitySection {
    /** Issuer URL; defaults to the advertised URL + "/idp". */
    @JsonProperty("Issuer")
    public String issuer;

    @JsonProperty("AccessTokenLifetimeSeconds")
    public long accessTokenLifetimeSeconds = 300;

    @JsonProperty("RefreshTokenLifetimeSeconds")
    public long refreshTokenLifetimeSeconds = 8 * 3600;

    /**
     * How long after a refresh a client may present the same refresh token again, as long as the
     * token it was given has not been used: the response may have been lost in a failover.
     */
    @JsonProperty("RefreshTokenReuseGraceSeconds")
    public long refreshTokenReuseGraceSeconds = 30;

    @JsonProperty("SigningKeyRotationDays")
    public int signingKeyRotationDays = 30;

    /**
     * What new token signing keys are made for: {@code RS256} (RSA 2048, every relying party takes
     * it) or {@code ES256} (EC P-256). A change rotates to a key of the new algorithm.
     */
    @JsonProperty("SigningAlgorithm")
    public String signingAlgorithm = "RS256";

    /** Failed sign-ins of one user from one address before each further attempt waits. */
    @JsonProperty("SignInFailuresBeforeDelay")
    public int signInFailuresBeforeDelay = 5;

    /** The longest wait between attempts of one user from one address; waits double up to it. */
    @JsonProperty("SignInMaxDelaySeconds")
    public long signInMaxDelaySeconds = 15 * 60;

    /**
     * Failed sign-ins from one address, across users, within 5 minutes before that address is
     * refused for users that never signed in from it (password spraying).
     */
    @JsonProperty("SignInFailuresPerAddress")
    public int signInFailuresPerAddress = 20;

    /** Password checks (PBKDF2) that may run at once; 0 means one per processor. */
    @JsonProperty("PasswordChecksAtOnce")
    public int passwordChecksAtOnce = 0;

    /** How long a sign-in waits for a free password check before it is answered 503. */
    @JsonProperty("PasswordCheckWaitMillis")
    public long passwordCheckWaitMillis = 1000;

    /** Token-endpoint and sign-in requests per minute per client id and client address. */
    @JsonProperty("TokenRequestsPerMinute")
    public int tokenRequestsPerMinute = 300;

    /** The number of password checks that may run at once, after resolving 0. */
    public int passwordChecksAtOnce() {
      return passwordChecksAtOnce > 0
          ? passwordChecksAtOnce
          : Runtime.getRuntime().availableProcessors();
    }

    public Duration accessTokenLifetime() {
      return Duration.ofSeconds(accessTokenLifetimeSeconds);
    }

    public Duration refreshTokenLifetime() {
      return Duration.ofSeconds(refreshTokenLifetimeSeconds);
    }

    public Duration refreshTokenReuseGrace() {
      return Duration.ofSeconds(refreshTokenReuseGraceSeconds);
    }
  }

  /** The data collector: when a registered server counts as offline. */
  public static final class CollectorSection {
    /**
     * How many heartbeat intervals (each server's own {@code heartbeatIntervalSeconds}) may pass
     * without a heartbeat before the server is marked offline.
     */
    @JsonProperty("MissedHeartbeats")
    public int missedHeartbeats = 3;

    /** How often the owner looks for servers that stopped sending heartbeats. */
    @JsonProperty("SweepIntervalMillis")
    public long sweepIntervalMillis = 1000;

    /**
     * How long a heartbeat waits for others to share its transaction (group commit); 0 writes each
     * at once unless others arrived during the previous write.
     */
    @JsonProperty("HeartbeatBatchMillis")
    public int heartbeatBatchMillis = 20;

    /**
     * How often the owner's system monitor averages each figure's calculation interval, writes a
     * history point per server and figure and raises threshold events.
     */
    @JsonProperty("MonitorTickSeconds")
    public int monitorTickSeconds = 30;

    /** Days the system monitor keeps hourly history; 0 keeps it for ever. */
    @JsonProperty("MonitorHistoryDays")
    public int monitorHistoryDays = 90;
  }

  /** The event server. */
  public static final class EventsSection {
    /** Days an event is kept after it was received; 0 keeps events for ever. */
    @JsonProperty("RetentionDays")
    public int retentionDays = 30;

    /** Days a closed alarm is kept after its last change; 0 keeps closed alarms for ever. */
    @JsonProperty("ClosedAlarmRetentionDays")
    public int closedAlarmRetentionDays = 3;

    /** Days an alarm in any other state is kept after its last change; 0 keeps them for ever. */
    @JsonProperty("AlarmRetentionDays")
    public int alarmRetentionDays = 30;
  }

  /**
   * The failover controller's timing and the role's placement policy. The defaults give a crash
   * failover in about a second (lock fast path) and a hang or cut-off failover in about four (lease
   * path), without false failovers on a busy machine; docs/cluster.md explains each.
   */
  public static final class ClusterSection {
    @JsonProperty("LeaseMillis")
    public long leaseMillis = 4000;

    @JsonProperty("RenewIntervalMillis")
    public long renewIntervalMillis = 1000;

    @JsonProperty("RenewDeadlineMillis")
    public long renewDeadlineMillis = 2500;

    @JsonProperty("PollIntervalMillis")
    public long pollIntervalMillis = 100;

    @JsonProperty("HandoverGraceMillis")
    public long handoverGraceMillis = 2000;

    @JsonProperty("FailoverBackoffMillis")
    public long failoverBackoffMillis = 5000;

    @JsonProperty("FailoverLimit")
    public int failoverLimit = 3;

    @JsonProperty("FailoverPeriodMinutes")
    public int failoverPeriodMinutes = 15;

    @JsonProperty("PreferredOwners")
    public java.util.List<String> preferredOwners = java.util.List.of();

    @JsonProperty("Failback")
    public boolean failback = false;

    @JsonProperty("FailbackDelaySeconds")
    public int failbackDelaySeconds = 60;

    @JsonProperty("CheckIntervalMillis")
    public long checkIntervalMillis = 2000;

    @JsonProperty("CheckTimeoutMillis")
    public long checkTimeoutMillis = 2000;

    @JsonProperty("RestartLimit")
    public int restartLimit = 3;

    @JsonProperty("RestartPeriodMinutes")
    public int restartPeriodMinutes = 10;

    /**
     * Names of the node's environment variables that generic resources' commands get as well as the
     * few a shell needs (see {@code CommandEnvironment}); the node's others, its secrets among
     * them, never reach a command.
     */
    @JsonProperty("ResourceEnvironment")
    public java.util.List<String> resourceEnvironment = java.util.List.of();

    /**
     * The cluster's virtual IP address, which the owner adds to an interface and announces while
     * the {@code client-access-point} resource runs; none when {@code Address} is null.
     */
    @JsonProperty("VirtualIp")
    public VirtualIpSection virtualIp = new VirtualIpSection();
  }

  /** {@code Cluster.VirtualIp}: see {@code docs/configuration.md}. */
  public static final class VirtualIpSection {
    @JsonProperty("Address")
    public String address = null;

    @JsonProperty("Prefix")
    public int prefix = 32;

    @JsonProperty("Interface")
    public String iface = null;

    @JsonProperty("Announcements")
    public int announcements = 5;

    @JsonProperty("AnnounceIntervalMillis")
    public long announceIntervalMillis = 200;
  }

  /** The virtual IP address the owner manages, or null when none is configured. */
  public io.vigil.server.cluster.VirtualIp.Config virtualIp() {
    VirtualIpSection v = cluster.virtualIp;
    if (v == null || v.address == null || v.address.isBlank()) {
      return null;
    }
    return new io.vigil.server.cluster.VirtualIp.Config(
        v.address.strip(),
        v.prefix,
        v.iface == null ? null : v.iface.strip(),
        v.announcements,
        v.announceIntervalMillis);
  }

  /**
   * The thumbprint of the HTTPS certificate, or null when the node serves plain HTTP. (Reads the
   * {@code Http} section; one place so that data-protection checks can report the TLS certificate.)
   */
  public String tlsThumbprint() {
    return http.tls.thumbprint;
  }

  /** The database URL to use, the embedded H2 file database when none is configured. */
  public String databaseUrl() {
    if (database.url != null && !database.url.isBlank()) {
      return database.url;
    }
    return "jdbc:h2:file:"
        + dataDir.resolve("db").resolve("vigil").toAbsolutePath()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_ON_EXIT=FALSE";
  }

  public String advertisedUrl() {
    if (node.advertisedUrl != null && !node.advertisedUrl.isBlank()) {
      return stripSlash(node.advertisedUrl);
    }
    String host = "0.0.0.0".equals(http.host) || "::".equals(http.host) ? nodeName() : http.host;
    return (http.tlsEnabled() ? "https://" : "http://") + host + ":" + http.port;
  }

  public String issuer() {
    if (identity.issuer != null && !identity.issuer.isBlank()) {
      return stripSlash(identity.issuer);
    }
    return advertisedUrl() + "/idp";
  }

  public String nodeName() {
    if (node.name != null && !node.name.isBlank()) {
      return node.name;
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }

  private static String stripSlash(String url) {
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }
}
