package io.vigil.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;

/**
 * Registers a component with the management server: creates its OAuth client (confidential, role
 * {@code component}) and registers its server with that client as the registrant, so that the
 * component may later change only its own server. Two ways:
 *
 * <ul>
 *   <li>{@link #withToken}: with a one-time registration token an administrator created ({@code
 *       vigil component token create}, {@code POST /api/v1/registration-tokens}). One call, {@code
 *       POST /api/v1/components/register}, that does both in one transaction on the server.
 *   <li>{@link #withAdministrator}: with an administrator's user name and password (the password
 *       grant as client {@code vigil-cli}, scope {@code openid vigil.api}): creates the client
 *       ({@code POST /api/v1/clients}), then registers the server with the new client's own token.
 * </ul>
 *
 * Both return the {@link ClientCredentials} to build a {@link VigilClient} with (store them
 * owner-only: the secret is shown this once) and the registered server.
 *
 * <h2>During a failover</h2>
 *
 * The calls follow {@link VigilClient}'s rules (a standby's 307, the next node when one refuses
 * connections, retries of what no node acted on, within the failover time). They differ in what
 * happens when the outcome of a call is unknown (a timeout, a connection broken during the
 * exchange, a 503 other than "not acted"):
 *
 * <ul>
 *   <li>With a token: the call is retried like an idempotent one, on the next node and within the
 *       failover time. The server answers a used token again while the server it registered has
 *       never reported (no heartbeat yet) and the registration names the same server (its name,
 *       regardless of case, and its type): a retry after the first attempt did register gets the
 *       same server and the same client with a new secret, and the first answer's secret, which may
 *       have reached no one, stops working. After the server's first heartbeat a used token answers
 *       401 {@code invalid_registration_token}, as does an expired one. When the failover time ends
 *       without an answer, {@link VigilException} has status 0 and code {@code unreachable} (or the
 *       5xx's code), and the same call with the same token may be made again later, until the token
 *       expires.
 *   <li>With administrator credentials: neither call is idempotent, and neither is retried when its
 *       outcome is unknown. An unknown outcome of creating the client fails the registration (the
 *       client, if created, has a secret nobody knows and is harmless; the message names it for
 *       deletion). An unknown outcome of registering the server is resolved here: the server is
 *       looked up by name and accepted when the new client registered it; otherwise the client is
 *       deleted again and the call fails. A definite refusal (a taken name, an invalid field)
 *       deletes the client too, so that nothing is left behind.
 * </ul>
 */
public final class ComponentRegistration {

  /** What a registration gives the component: its OAuth client, and its registered server. */
  public record Registered(ClientCredentials credentials, RegisteredServer server) {}

  private record Answer(String clientId, String clientSecret, RegisteredServer server) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<URI> nodes;
  private final Transport.Exchange exchange;
  private final Duration failoverTime;
  private final Transport.Sleeper sleeper;
  private final LongSupplier nanoTime;

  ComponentRegistration(
      List<URI> nodes,
      Transport.Exchange exchange,
      Duration failoverTime,
      Transport.Sleeper sleeper,
      LongSupplier nanoTime) {
    this.nodes = List.copyOf(nodes);
    this.exchange = exchange;
    this.failoverTime = failoverTime;
    this.sleeper = sleeper;
    this.nanoTime = nanoTime;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Registers with a one-time registration token.
   *
   * <p>Safe to retry: a registration whose answer was lost is sent again within the failover time,
   * and answered with the same client, a new secret and the same server until that server first
   * reports (see the class comment).
   *
   * @throws VigilException 401 {@code invalid_registration_token} (unknown, expired, or used by a
   *     server that has reported or has another name or type), 403 {@code type_not_allowed} (the
   *     token is for another server type), 409 {@code duplicate_name}, 400 for an invalid field;
   *     status 0 when no answer came within the failover time (see the class comment)
   */
  public Registered withToken(String registrationToken, NewServer server) {
    Objects.requireNonNull(registrationToken, "registrationToken");
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("registrationToken", registrationToken);
    body.put("server", server);
    Transport.Reply reply =
        transport()
            .send(
                new Transport.Call(
                    "POST",
                    "/api/v1/components/register",
                    ApiJson.write(body),
                    "application/json",
                    true,
                    false));
    if (reply.status() != 201) {
      throw VigilClient.error("POST", "/api/v1/components/register", reply);
    }
    Answer a = ApiJson.read(reply.body(), Answer.class);
    return new Registered(new ClientCredentials(a.clientId(), a.clientSecret()), a.server());
  }

  /**
   * Registers with an administrator's credentials: creates the component's client, then registers
   * the server as that client.
   *
   * @throws VigilException {@code authentication_failed} when the password grant is refused, 403
   *     when the user may not create clients, 409 {@code duplicate_name} when a server of that name
   *     exists, status 0 when the outcome is unknown (see the class comment)
   */
  public Registered withAdministrator(String username, String password, NewServer server) {
    Transport admin = transport();
    admin.tokens(new PasswordToken(username, password));
    String clientId = clientId(server.name());
    Map<String, Object> client = new LinkedHashMap<>();
    client.put("clientId", clientId);
    client.put("type", "confidential");
    client.put("roles", List.of("component"));
    Transport.Reply created;
    try {
      created =
          admin.send(
              new Transport.Call(
                  "POST",
                  "/api/v1/clients",
                  ApiJson.write(client),
                  "application/json",
                  false,
                  true));
    } catch (VigilException e) {
      throw new VigilException(
          e.status(),
          e.code(),
          e.getMessage()
              + " Client \""
              + clientId
              + "\" may have been created without its secret reaching this component; an"
              + " administrator may delete it.",
          e);
    }
    if (created.status() != 201) {
      throw VigilClient.error("POST", "/api/v1/clients", created);
    }
    String secret = ApiJson.tree(created.body()).path("clientSecret").asText(null);
    if (secret == null) {
      throw new VigilException(
          created.status(), "invalid_response", "The new client's secret is missing.");
    }
    ClientCredentials credentials = new ClientCredentials(clientId, secret);
    Transport component = transport();
    component.tokens(new TokenCache(clientId, secret, nanoTime));
    Transport.Reply reply;
    try {
      reply =
          component.send(
              new Transport.Call(
                  "POST",
                  "/api/v1/servers",
                  ApiJson.write(server),
                  "application/json",
                  false,
                  true));
    } catch (VigilException e) {
      if (e.status() != 0 && e.status() < 500) {
        deleteClient(admin, clientId);
        throw e;
      }
      // Unknown outcome: the server may have been registered.
      RegisteredServer found = findRegistered(admin, server, clientId);
      if (found != null) {
        return new Registered(credentials, found);
      }
      deleteClient(admin, clientId);
      throw e;
    }
    if (reply.status() != 201) {
      VigilException refused = VigilClient.error("POST", "/api/v1/servers", reply);
      deleteClient(admin, clientId);
      throw refused;
    }
    return new Registered(credentials, ApiJson.read(reply.body(), RegisteredServer.class));
  }

  /** The server named as {@code server} if {@code clientId} registered it, else null. */
  private static RegisteredServer findRegistered(
      Transport admin, NewServer server, String clientId) {
    String cursor = null;
    do {
      String path =
          "/api/v1/servers?limit=500&type="
              + URLEncoder.encode(server.type(), StandardCharsets.UTF_8)
              + (cursor == null
                  ? ""
                  : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
      Transport.Reply r = admin.send(new Transport.Call("GET", path, null, null, true, true));
      if (r.status() != 200) {
        return null;
      }
      JsonNode page = ApiJson.tree(r.body());
      for (JsonNode s : page.path("items")) {
        if (s.path("name").asText().equalsIgnoreCase(server.name().strip())
            && clientId.equals(s.path("registeredBy").asText(null))) {
          return ApiJson.read(s.toString(), RegisteredServer.class);
        }
      }
      cursor = page.path("nextCursor").asText(null);
    } while (cursor != null);
    return null;
  }

  private static void deleteClient(Transport admin, String clientId) {
    try {
      admin.send(
          new Transport.Call(
              "DELETE",
              "/api/v1/clients/" + URLEncoder.encode(clientId, StandardCharsets.UTF_8),
              null,
              null,
              true,
              true));
    } catch (VigilException ignored) {
      // Best effort: a client without a server and without a known secret is harmless.
    }
  }

  /**
   * A client id for the component of server {@code name}: the name in the characters a client id
   * allows, and 8 random hex digits, as the server makes one for a token's registration.
   */
  static String clientId(String name) {
    String base =
        name.strip()
            .toLowerCase(Locale.ROOT)
            .replaceAll("[^a-z0-9._-]+", "-")
            .replaceAll("^[^a-z0-9]+", "");
    if (base.length() > 40) {
      base = base.substring(0, 40);
    }
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    return (base.isEmpty() ? "component" : base) + "-" + HexFormat.of().formatHex(suffix);
  }

  private Transport transport() {
    SecureRandom random = new SecureRandom();
    return new Transport(
        nodes, exchange, failoverTime, Backoff.DEFAULT, sleeper, nanoTime, random::nextDouble);
  }

  /** An administrator's access token by the password grant as client {@code vigil-cli}. */
  static final class PasswordToken implements Transport.Tokens {
    private final String username;
    private final String password;
    private String token;

    PasswordToken(String username, String password) {
      this.username = Objects.requireNonNull(username, "username");
      this.password = Objects.requireNonNull(password, "password");
    }

    @Override
    public synchronized String token(Transport transport) {
      if (token != null) {
        return token;
      }
      String form =
          "grant_type=password&client_id=vigil-cli&scope="
              + URLEncoder.encode("openid vigil.api", StandardCharsets.UTF_8)
              + "&username="
              + URLEncoder.encode(username, StandardCharsets.UTF_8)
              + "&password="
              + URLEncoder.encode(password, StandardCharsets.UTF_8);
      String access =
          TokenCache.request(transport, form, "sign in \"" + username + "\"")
              .path("access_token")
              .asText();
      token = access;
      return token;
    }

    @Override
    public synchronized boolean invalidate(String refused) {
      if (refused != null && refused.equals(token)) {
        token = null;
      }
      return true;
    }
  }

  /** Builds a {@link ComponentRegistration}. */
  public static final class Builder {
    private final List<URI> nodes = new ArrayList<>();
    private HttpClient http;
    private SSLContext ssl;
    private Duration failoverTime = Duration.ofSeconds(30);
    private Duration requestTimeout = Duration.ofSeconds(10);

    private Builder() {}

    /** The management server: the cluster's address, or every node's URL. */
    public Builder managementServer(String... urls) {
      for (String url : urls) {
        nodes.add(VigilClient.Builder.node(url));
      }
      return this;
    }

    /** The site's CA as well as the system's authorities; see {@link SiteTrust#withCa}. */
    public Builder trust(SSLContext ssl) {
      this.ssl = ssl;
      return this;
    }

    /** An HTTP client to use (never closed here). */
    public Builder httpClient(HttpClient http) {
      this.http = http;
      return this;
    }

    /** How long one call keeps retrying through a failover (default 30 s). */
    public Builder failoverTime(Duration failoverTime) {
      this.failoverTime = failoverTime;
      return this;
    }

    /** How long one attempt waits for its answer (default 10 s). */
    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    public ComponentRegistration build() {
      if (nodes.isEmpty()) {
        throw new IllegalStateException("set the management server's address");
      }
      HttpClient client = http;
      if (client == null) {
        HttpClient.Builder b =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(3));
        if (ssl != null) {
          b.sslContext(ssl);
        }
        client = b.build();
      }
      return new ComponentRegistration(
          nodes,
          new Transport.Http(client, requestTimeout),
          failoverTime,
          d -> Thread.sleep(d),
          System::nanoTime);
    }
  }
}
