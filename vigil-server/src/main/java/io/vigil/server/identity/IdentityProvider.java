package io.vigil.server.identity;

import io.javalin.http.Context;
import io.vigil.server.audit.AuditLog;
import io.vigil.server.cluster.Fence;
import io.vigil.server.config.ConfigException;
import io.vigil.server.config.OwnerOnlyFiles;
import io.vigil.server.config.Settings;
import io.vigil.server.events.EventStore;
import io.vigil.server.http.Authenticator;
import io.vigil.server.http.ClientAddress;
import io.vigil.server.http.RouteModule;
import io.vigil.server.identity.external.ClientAssertionKeys;
import io.vigil.server.identity.external.ExternalProviders;
import io.vigil.server.identity.external.ExternalRoutes;
import io.vigil.server.identity.external.ExternalSignIn;
import io.vigil.server.protect.DataProtector;
import io.vigil.server.security.Permission;
import io.vigil.server.security.Principal;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import org.jdbi.v3.core.Jdbi;

/**
 * Vigil's OpenID Connect provider: the {@code /idp} endpoints, the users and OAuth clients it signs
 * in, their management API, and the {@link Authenticator} that checks the API's bearer tokens.
 *
 * <p>{@link #start} is idempotent and safe when several nodes start at once: it takes the row lock
 * of {@code identity_signing_state} and, under it, installs the first signing key, the built-in
 * clients {@code vigil-cli} and {@code vigil-console}, and the first user {@code admin}
 * (administrator) when there are no users. That user's password is the one given (the node reads
 * {@code VIGIL_ADMIN_PASSWORD}); when none is given a random one is generated and printed once to
 * standard output, never to the log, and only by the node whose transaction created the user.
 *
 * <p>Sign-in throttling counts failures in this node's memory (see {@link LoginThrottle}); the
 * addresses users signed in from, and everything else, live in the shared database, so after a
 * failover the new node verifies the old node's tokens and accepts its refresh tokens.
 */
public final class IdentityProvider {

  /** The name of the file in the data directory that holds a generated administrator password. */
  public static final String GENERATED_PASSWORD_FILE = "initial-admin-password";

  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(IdentityProvider.class);

  private static final Principal SYSTEM =
      new Principal("system", "system", "system", Set.of(), Set.of());

  private final Settings settings;
  private final Jdbi jdbi;
  private final Fence fence;
  private final String adminPassword;
  private final PrintStream out;
  private final SigningKeys keys;
  private final UserService users;
  private final ClientService clients;
  private final TokenVerifier verifier;
  private final IdpEndpoints endpoints;
  private final DevicePages devicePages;
  private final ManagementRoutes management;
  private final ExternalRoutes external;
  private final PasswordChecks passwordChecks;
  private final MfaService mfa;

  /**
   * A provider hashing passwords with {@link PasswordHasher#PRODUCTION_ITERATIONS}.
   *
   * @param adminPassword the first administrator's password, or null to generate one
   */
  public IdentityProvider(
      Settings settings,
      Jdbi jdbi,
      Fence fence,
      DataProtector protector,
      Clock clock,
      String adminPassword) {
    this(
        settings,
        jdbi,
        fence,
        protector,
        ClientAssertionKeys.none(),
        runtimeTls(),
        clock,
        adminPassword);
  }

  /**
   * A provider hashing passwords with {@link PasswordHasher#PRODUCTION_ITERATIONS}.
   *
   * @param assertionKeys the node's personal certificate store, for external providers that
   *     authenticate Vigil with {@code private_key_jwt}
   * @param outboundTls what external providers' HTTPS certificates must chain to
   * @param adminPassword the first administrator's password, or null to generate one
   */
  public IdentityProvider(
      Settings settings,
      Jdbi jdbi,
      Fence fence,
      DataProtector protector,
      ClientAssertionKeys assertionKeys,
      SSLContext outboundTls,
      Clock clock,
      String adminPassword) {
    this(
        settings,
        jdbi,
        fence,
        protector,
        assertionKeys,
        outboundTls,
        clock,
        adminPassword,
        PasswordHasher.PRODUCTION_ITERATIONS,
        System.out);
  }

  /**
   * @param pbkdf2Iterations PBKDF2 iterations for new password hashes; production uses {@link
   *     PasswordHasher#PRODUCTION_ITERATIONS}, tests a lower count to run fast
   * @param out where the node says in which file a generated administrator password is
   */
  public IdentityProvider(
      Settings settings,
      Jdbi jdbi,
      Fence fence,
      DataProtector protector,
      Clock clock,
      String adminPassword,
      int pbkdf2Iterations,
      PrintStream out) {
    this(
        settings,
        jdbi,
        fence,
        protector,
        ClientAssertionKeys.none(),
        runtimeTls(),
        clock,
        adminPassword,
        pbkdf2Iterations,
        out);
  }

  /**
   * @param pbkdf2Iterations PBKDF2 iterations for new password hashes; production uses {@link
   *     PasswordHasher#PRODUCTION_ITERATIONS}, tests a lower count to run fast
   * @param out where the node says in which file a generated administrator password is
   */
  public IdentityProvider(
      Settings settings,
      Jdbi jdbi,
      Fence fence,
      DataProtector protector,
      ClientAssertionKeys assertionKeys,
      SSLContext outboundTls,
      Clock clock,
      String adminPassword,
      int pbkdf2Iterations,
      PrintStream out) {
    if (adminPassword != null && PasswordHasher.policyViolation(adminPassword) != null) {
      throw new ConfigException(
          "VIGIL_ADMIN_PASSWORD is not acceptable: "
              + PasswordHasher.policyViolation(adminPassword)
              + " Or leave it unset to have a password generated.");
    }
    this.settings = settings;
    this.jdbi = jdbi;
    this.fence = fence;
    this.adminPassword = adminPassword;
    this.out = out;
    String issuer = settings.issuer();
    PasswordHasher hasher = new PasswordHasher(pbkdf2Iterations);
    this.passwordChecks =
        new PasswordChecks(
            settings.identity.passwordChecksAtOnce(),
            Duration.ofMillis(settings.identity.passwordCheckWaitMillis));
    this.keys =
        new SigningKeys(
            fence,
            protector,
            clock,
            Duration.ofDays(settings.identity.signingKeyRotationDays),
            com.nimbusds.jose.JWSAlgorithm.parse(settings.identity.signingAlgorithm));
    this.users = new UserService(fence, hasher, clock);
    this.clients = new ClientService(fence, protector, clock);
    this.verifier = new TokenVerifier(issuer, keys, clock);
    // Wrong one-time codes are counted apart from wrong passwords, so that the right password does
    // not wipe out the count of wrong codes.
    this.mfa =
        new MfaService(fence, protector, new LoginThrottle(clock, signInPolicy(settings.identity)));
    ExternalProviders providers =
        new ExternalProviders(fence, protector, clock, redirectBase(settings));
    AuthorizationCodes codes = new AuthorizationCodes(fence, clock);
    DeviceAuthorizations devices = new DeviceAuthorizations(fence);
    this.devicePages =
        new DevicePages(issuer, devices, new UserCodeGuesses(clock), codes, users, fence);
    this.external = new ExternalRoutes(providers);
    LoginThrottle throttle = new LoginThrottle(clock, signInPolicy(settings.identity));
    this.endpoints =
        new IdpEndpoints(
            issuer,
            keys,
            new TokenSigner(issuer, keys, clock, settings.identity.accessTokenLifetime()),
            verifier,
            users,
            clients,
            codes,
            new RefreshTokens(fence, clock, settings.identity.refreshTokenReuseGrace()),
            throttle,
            passwordChecks,
            new RequestRate(clock, settings.identity.tokenRequestsPerMinute),
            hasher,
            clock,
            settings.identity.refreshTokenLifetime(),
            new ExternalSignIn(providers, fence, protector, assertionKeys, outboundTls, clock),
            devices,
            fence,
            mfa,
            new MfaSignInStates(fence),
            EventStore.siteEvents(),
            settings.nodeName());
    this.management = new ManagementRoutes(users, clients, mfa, throttle);
  }

  /** The sign-in throttle's limits: the settings, and fixed defaults for the rest. */
  static LoginThrottle.Policy signInPolicy(Settings.IdentitySection s) {
    LoginThrottle.Policy d = LoginThrottle.Policy.DEFAULTS;
    Duration maxDelay = Duration.ofSeconds(s.signInMaxDelaySeconds);
    return new LoginThrottle.Policy(
        s.signInFailuresBeforeDelay,
        d.firstDelay(),
        maxDelay,
        s.signInFailuresPerAddress,
        d.failuresPerUserFromNewAddresses(),
        d.addressWindow(),
        maxDelay.compareTo(d.forgetAfter()) > 0 ? maxDelay : d.forgetAfter());
  }

  /** The Java runtime's default TLS context: its trust store only. */
  private static SSLContext runtimeTls() {
    try {
      return SSLContext.getDefault();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the Java runtime offers no TLS", e);
    }
  }

  /** The OAuth clients: component registration creates a component's client through it. */
  public ClientService clients() {
    return clients;
  }

  /** Ensures signing keys, built-in clients and the first administrator exist; idempotent. */
  public void start() {
    // This node takes the role: while another node had it, clients may have changed.
    clients.forgetCached();
    List<String> origins = consoleOrigins();
    // Fast path for every start after the first: nothing to create, so no lock to wait for.
    boolean settled =
        jdbi.withHandle(
            h ->
                h.createQuery(
                                "SELECT COUNT(*) FROM identity_signing_state s WHERE"
                                    + " s.current_kid IS NOT NULL AND EXISTS (SELECT 1 FROM users)")
                            .mapTo(Long.class)
                            .one()
                        > 0
                    && ClientService.builtInsCurrent(h, origins, settings.issuer()));
    String password = adminPassword != null ? adminPassword : Secrets.random256().substring(0, 24);
    // The slow parts (a 600,000-iteration hash, an RSA key) happen before the fenced transaction,
    // where they could outlast its idle timeout, and only when the database still lacks what they
    // are for: a node whose built-in clients merely need its own origins must start fast.
    boolean noUsers =
        !settled
            && jdbi.withHandle(
                h -> h.createQuery("SELECT COUNT(*) FROM users").mapTo(Long.class).one() == 0);
    boolean noKey =
        !settled
            && jdbi.withHandle(
                h ->
                    h.createQuery(
                                "SELECT COUNT(*) FROM identity_signing_state WHERE current_kid IS NULL")
                            .mapTo(Long.class)
                            .one()
                        > 0);
    String adminHash = noUsers ? users.hashForBootstrap(password) : null;
    // Written before the administrator exists, so a password that reaches the database always
    // reaches its file too; deleted again when another node (or an earlier start) created it.
    Path pending = noUsers && adminPassword == null ? writeGeneratedPassword(password) : null;
    var firstKey = noKey ? keys.newKey() : null;
    boolean created =
        !settled
            && fence.write(
                h -> {
                  // The bootstrap lock: a second node starting now waits here, then finds
                  // everything in place.
                  h.createQuery("SELECT id FROM identity_signing_state WHERE id = 1 FOR UPDATE")
                      .mapTo(Integer.class)
                      .one();
                  keys.ensureFirst(h, firstKey);
                  clients.ensureBuiltIns(h, origins, settings.issuer());
                  return users.bootstrapAdmin(h, SYSTEM, password, adminHash);
                });
    keys.reload();
    // Rotates now when the key is due, or was made for another algorithm than the configured one.
    keys.current();
    int hashed = clients.hashEncryptedSecrets();
    if (hashed > 0) {
      LOG.info(
          "Replaced {} client secrets stored encrypted by an earlier version with hashes", hashed);
    }
    if (pending != null) {
      if (created) {
        Path file = generatedPasswordFile(settings.dataDir).toAbsolutePath();
        try {
          Files.move(pending, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
          file = pending;
        }
        // The password itself goes to no stream: a service manager's journal keeps what a
        // service prints.
        out.println(
            "Generated a password for user admin; it is in "
                + file
                + ", readable by this account alone.");
        out.println(
            "Sign in with it, change it (PUT /api/v1/users/{id}/password), then delete the file.");
      } else {
        deleteQuietly(pending);
      }
    }
  }

  /** The file a generated administrator password is written to, in the data directory. */
  public static Path generatedPasswordFile(Path dataDir) {
    return dataDir.resolve(GENERATED_PASSWORD_FILE);
  }

  private Path writeGeneratedPassword(String password) {
    if (settings.dataDir == null) {
      throw new IllegalStateException("a generated administrator password needs a data directory");
    }
    // A name of its own: of two providers starting at once on one folder, one keeps its file.
    Path file =
        settings
            .dataDir
            .resolve("." + GENERATED_PASSWORD_FILE + "-" + UUID.randomUUID())
            .toAbsolutePath();
    try {
      OwnerOnlyFiles.write(file, (password + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new ConfigException(
          "Cannot write the generated administrator password to "
              + file
              + " ("
              + e.getMessage()
              + "). Give the service account write access to its data directory, or set"
              + " VIGIL_ADMIN_PASSWORD to choose the password.");
    }
    return file;
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("Could not delete {}: {}", file, e.getMessage());
    }
  }

  /**
   * Deletes the authorization codes and refresh-token families that can never be redeemed again
   * ({@link ExpiredGrants}). A fenced write: only the role's owner purges.
   */
  public void purgeExpired() {
    ExpiredGrants.Purged purged = fence.write(ExpiredGrants::purge);
    if (purged.any()) {
      LOG.info(
          "Purged {} expired authorization codes, {} device authorizations and {} refresh tokens"
              + " of expired sessions",
          purged.authorizationCodes(),
          purged.deviceAuthorizations(),
          purged.refreshTokens());
    }
  }

  /**
   * Checks that the provider can sign tokens: its current signing key loads and unwraps.
   *
   * @return null when healthy, otherwise what is wrong
   */
  public String check() {
    try {
      keys.current();
      return null;
    } catch (RuntimeException e) {
      return "signing key unavailable: " + e.getMessage();
    }
  }

  /**
   * The {@code /idp} endpoints, external providers' callback paths, and {@code /api/v1/users},
   * {@code /api/v1/clients}, {@code /api/v1/identity/…}.
   */
  public RouteModule routes() {
    return api -> {
      api.onPermissionRefused(this::auditRefusal);
      management.register(api);
      external.register(api);
      devicePages.register(api);
      // Last: its catch-all callback route must not shadow the management routes.
      endpoints.register(api);
    };
  }

  /** A request refused for lack of a permission: who, from where, which route and permission. */
  private void auditRefusal(Context ctx, Principal principal, Permission permission, String route) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("client", principal.clientId());
    details.put("permission", permission.name().toLowerCase(Locale.ROOT));
    details.put("path", ctx.path());
    fence.run(
        h ->
            AuditLog.recordEvent(
                h,
                principal.name(),
                principal.subject(),
                ClientAddress.of(ctx).address(),
                "permission.refused",
                "route",
                route,
                details));
  }

  /** Verifies the API's bearer tokens (see {@link TokenVerifier}). */
  public Authenticator authenticator() {
    return verifier;
  }

  /** The bound on concurrent password checks; tests fill it. */
  PasswordChecks passwordChecks() {
    return passwordChecks;
  }

  /** Users, for other parts of the node (the CLI goes through HTTP instead). */
  public UserService users() {
    return users;
  }

  /**
   * The origin external providers send browsers back to: the issuer's, which every node of a
   * cluster shares (the cluster address), so one redirect URI registered at a provider serves all.
   */
  static String redirectBase(Settings settings) {
    String issuer = settings.issuer();
    return issuer.endsWith("/idp")
        ? issuer.substring(0, issuer.length() - 4)
        : settings.advertisedUrl();
  }

  private List<String> consoleOrigins() {
    List<String> origins = new ArrayList<>();
    for (String url : List.of(settings.advertisedUrl(), settings.issuer())) {
      URI uri = URI.create(url);
      String origin =
          uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
      if (!origins.contains(origin)) {
        origins.add(origin);
      }
    }
    return origins;
  }
}
