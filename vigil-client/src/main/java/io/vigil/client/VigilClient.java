package io.vigil.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLContext;

/**
 * A component's connection to the Vigil management server: typed calls for what a component does
 * (heartbeats, events, its server's record and configuration, the live stream), authenticated with
 * the component's OAuth client. A component gets that client once, with {@link
 * ComponentRegistration}; {@code docs/sdk.md} walks through it all.
 *
 * <h2>During a failover</h2>
 *
 * Configure it with the cluster's address (a virtual IP or a load balancer) or with every node's
 * URL; a URL may carry a base path, such as {@code https://host/vigil} behind a reverse proxy.
 * While the active node fails over — typically a second or less after a kill, up to the lease time
 * when a node hangs — a call does not fail; it waits and retries within its failover time (default
 * 30 s), by these rules:
 *
 * <ul>
 *   <li>A standby answers with a 307 to the active node: the call goes there, and later calls go
 *       there first.
 *   <li>A node that refuses connections is down: the call goes to the next listed node.
 *   <li>A 503 that says the node did not act on the call ({@code no_active_node} while nobody owns
 *       the role, {@code resource_starting} while the new owner starts its services, …) and a 429
 *       are retried for every call, after the server's {@code Retry-After} or an exponential
 *       backoff with full jitter (100 ms doubling to 2 s), whichever is longer.
 *   <li>When the outcome is unknown (a timeout, a connection that broke during the exchange, any
 *       other 503), only idempotent calls are retried: reads (configuration polls included),
 *       heartbeats, and events — every event carries an idempotency key (the client gives one to
 *       each event that has none, before the first attempt), so a retried post never stores an
 *       event twice. Registering a server and {@link #post} are not retried then; they fail with
 *       the error.
 *   <li>Tokens are signed with keys every node shares, so a token stays valid across a failover;
 *       one refused with 401 is replaced once (with a {@link TokenSource}, when it says it can).
 *   <li>When the failover time runs out the call throws {@link VigilException} with code {@code
 *       unreachable} (no node answered) or {@code no_active_node} (nodes answered, none served).
 * </ul>
 *
 * An acknowledged call (one that returned) was committed by the node that owned the role, and a
 * failover keeps it. The configuration watch ({@link #watchConfiguration}) and the live stream
 * ({@link #subscribe}) go on by themselves after a failover outlasts the failover time: they retry
 * with the backoff until closed, and stop only on an answer retrying cannot change. TLS
 * certificates are verified against the system's trusted authorities and, when given, the site's
 * own CA ({@link Builder#trust}); host names are verified.
 *
 * <p>Thread-safe; one instance per component. Instances can share one {@link HttpClient} ({@link
 * Builder#httpClient}) when a process runs many components.
 */
public final class VigilClient implements AutoCloseable {

  private final Transport transport;
  private final HttpClient http;
  private final HttpClient ownedHttp;
  private final Duration requestTimeout;

  private VigilClient(
      Transport transport, HttpClient http, HttpClient ownedHttp, Duration requestTimeout) {
    this.transport = transport;
    this.http = http;
    this.ownedHttp = ownedHttp;
    this.requestTimeout = requestTimeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The node calls go to first: the active node as last seen. */
  public URI activeNode() {
    return transport.active();
  }

  /**
   * Registers a server. Not retried when its outcome is unknown (see the class comment): on a
   * {@link VigilException} with status 0, look the server up by name before registering again.
   *
   * @throws VigilException 409 {@code name_taken} when a server of that name exists
   */
  public RegisteredServer register(NewServer server) {
    return call("POST", "/api/v1/servers", server, false, RegisteredServer.class);
  }

  /** Reads a registered server. */
  public RegisteredServer server(UUID id) {
    return call("GET", "/api/v1/servers/" + id, null, true, RegisteredServer.class);
  }

  /**
   * Reports that the server is alive, with its load figures (null: none this time). Retried through
   * a failover like a read: a repeated heartbeat changes nothing a single one would not.
   *
   * @throws VigilException 409 {@code server_disabled} when an operator disabled the server
   */
  public RegisteredServer heartbeat(UUID serverId, Load load) {
    return call(
        "POST", "/api/v1/servers/" + serverId + "/heartbeat", load, true, RegisteredServer.class);
  }

  /** Sends one event; see {@link #sendEvents}. */
  public StoredEvents sendEvent(EventDraft event) {
    return sendEvents(List.of(event));
  }

  /**
   * Sends up to 1,000 events in one post, stored all or none. Each event without an idempotency key
   * gets a random one first, so retries through a failover store every event once; one without a
   * severity is sent as {@code info}.
   */
  public StoredEvents sendEvents(List<EventDraft> events) {
    if (events.isEmpty() || events.size() > 1000) {
      throw new IllegalArgumentException("send 1 to 1000 events, not " + events.size());
    }
    List<EventDraft> keyed = new ArrayList<>(events.size());
    for (EventDraft e : events) {
      EventDraft k = e.idempotencyKey() == null ? e.withIdempotencyKey(newKey()) : e;
      // The API requires a severity; a draft without one is "info", as EventDraft says.
      keyed.add(
          k.severity() == null
              ? new EventDraft(
                  k.type(), k.source(), "info", k.message(), k.data(), k.idempotencyKey(), k.time())
              : k);
    }
    return call("POST", "/api/v1/events", Map.of("events", keyed), true, StoredEvents.class);
  }

  /**
   * Subscribes to the live stream of events and alarm changes; see {@link EventSubscription}.
   *
   * @param lastEventId the id of the last message already handled, to resume after it; null to
   *     start with what is stored from now on
   * @param listener gets each message once, in order, on the subscription's thread
   * @param onError gets the error that ended the subscription for good (403, 400, …); may be null
   */
  public EventSubscription subscribe(
      EventSubscription.Filter filter,
      String lastEventId,
      java.util.function.Consumer<StreamMessage> listener,
      java.util.function.Consumer<VigilException> onError) {
    EventSubscription s =
        new EventSubscription(transport, http, filter, lastEventId, listener, onError);
    s.start();
    return s;
  }

  /**
   * Reads a server's configuration: its settings and the hardware and cameras assigned to it, with
   * the ETag it was served with ({@link ServerConfiguration#etag}).
   */
  public ServerConfiguration configuration(UUID serverId) {
    String path = "/api/v1/servers/" + serverId + "/configuration";
    Transport.Reply reply = transport.send(new Transport.Call("GET", path, null, null, true, true));
    if (reply.status() != 200) {
      throw error("GET", path, reply);
    }
    return ApiJson.read(reply.body(), ServerConfiguration.class).withEtag(reply.etag());
  }

  /**
   * Watches a server's configuration: {@code listener} gets the current one at once and then each
   * change, within a moment of its commit; see {@link ConfigurationWatch} for how it rides through
   * a failover. Close the watch to stop it.
   *
   * @param onError gets the error that ended the watch for good (404, 403, 401); may be null
   */
  public ConfigurationWatch watchConfiguration(
      UUID serverId,
      java.util.function.Consumer<ServerConfiguration> listener,
      java.util.function.Consumer<VigilException> onError) {
    ConfigurationWatch w =
        new ConfigurationWatch(
            transport,
            serverId,
            ConfigurationWatch.DEFAULT_WAIT,
            requestTimeout,
            listener,
            onError);
    w.start();
    return w;
  }

  /**
   * GETs any resource of the API as {@code type}, with the failover rules of the class comment.
   *
   * @param path such as {@code /api/v1/servers?limit=10}
   */
  public <T> T get(String path, Class<T> type) {
    return call("GET", path, null, true, type);
  }

  /**
   * POSTs {@code body} to any resource of the API and reads the answer as {@code type}, such as
   * adding hardware or a camera to the component's server. Not retried when its outcome is unknown
   * (see the class comment): on a {@link VigilException} with status 0, read what exists before
   * posting again (names are unique, so a repeated post that did succeed is a 409).
   */
  public <T> T post(String path, Object body, Class<T> type) {
    return call("POST", path, body, false, type);
  }

  /**
   * Sends any call of the API by the failover rules of the class comment and returns its answer
   * whatever its status: a success, or an error the caller reads itself (such as a 404, a 409, or a
   * 412 for an {@code If-Match} that no longer matches). Redirects and retried refusals are never
   * returned; a 401 is returned when the {@link TokenSource} could not get a fresh token.
   *
   * @throws VigilException when no answer could be had: {@code unreachable} or {@code
   *     no_active_node} after the failover time (its cause, when there is one, is the {@link
   *     java.io.IOException} of the last attempt, such as an {@link
   *     java.net.http.HttpTimeoutException}), {@code invalid_certificate} with the {@link
   *     javax.net.ssl.SSLException} as its cause, a retried refusal that outlasted the failover
   *     time (with the server's status and code), or what the token source threw
   */
  public ApiResponse send(ApiRequest request) {
    Transport.Reply reply =
        transport.send(
            new Transport.Call(
                request.method(),
                request.path(),
                request.body(),
                request.contentType(),
                request.idempotent(),
                request.authenticated(),
                request.headers(),
                null));
    return new ApiResponse(reply.status(), reply.etag(), reply.body());
  }

  private <T> T call(String method, String path, Object body, boolean idempotent, Class<T> type) {
    Transport.Reply reply =
        transport.send(
            new Transport.Call(
                method,
                path,
                body == null ? null : ApiJson.write(body),
                body == null ? null : "application/json",
                idempotent,
                true));
    if (reply.status() >= 300) {
      throw error(method, path, reply);
    }
    return ApiJson.read(reply.body(), type);
  }

  static VigilException error(String method, String path, Transport.Reply reply) {
    return new VigilException(
        reply.status(),
        Objects.requireNonNullElse(ApiJson.errorCode(reply.body()), "http_" + reply.status()),
        ApiJson.errorMessage(
            reply.body(), method + " " + path + " answered HTTP " + reply.status()));
  }

  private static String newKey() {
    return new UUID(ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong())
        .toString();
  }

  /** Closes the HTTP client this instance made (not one given to {@link Builder#httpClient}). */
  @Override
  public void close() {
    if (ownedHttp != null) {
      ownedHttp.close();
    }
  }

  /** Builds a {@link VigilClient}. */
  public static final class Builder {
    private final List<URI> nodes = new ArrayList<>();
    private ClientCredentials credentials;
    private TokenSource tokenSource;
    private HttpClient http;
    private SSLContext ssl;
    private Duration failoverTime = Duration.ofSeconds(30);
    private Duration requestTimeout = Duration.ofSeconds(10);
    private Transport.Sleeper sleeper = d -> Thread.sleep(d);

    private Builder() {}

    /**
     * The management server: the cluster's address, or every node's URL (calls try them in this
     * order until one answers, and follow a standby's redirect to the active node).
     */
    public Builder managementServer(String... urls) {
      for (String url : urls) {
        nodes.add(node(url));
      }
      return this;
    }

    /**
     * A node's base URL from its URL (scheme, host, port and any base path, such as {@code /vigil}
     * behind a reverse proxy); an address that is no http(s) URL with a host is refused.
     */
    static URI node(String url) {
      URI uri = URI.create(url.strip());
      String scheme = uri.getScheme();
      if ((!"http".equals(scheme) && !"https".equals(scheme)) || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "a management server address is an http or https URL with a host, not \"" + url + "\"");
      }
      return Transport.base(uri);
    }

    /** The component's OAuth client. Set this or a {@link #tokenSource}. */
    public Builder credentials(ClientCredentials credentials) {
      this.credentials = credentials;
      return this;
    }

    /**
     * Where tokens come from instead of a component's OAuth client: an operator's sign-in, say (see
     * {@link TokenSource}). Set this or {@link #credentials}.
     */
    public Builder tokenSource(TokenSource tokenSource) {
      this.tokenSource = tokenSource;
      return this;
    }

    /**
     * The certificates to trust for an {@code https} management server: the system's authorities
     * plus the site's CA, as {@link SiteTrust#withCa} makes. Without it, the system's alone.
     */
    public Builder trust(SSLContext ssl) {
      this.ssl = ssl;
      return this;
    }

    /** An HTTP client to share with other instances; this instance then never closes it. */
    public Builder httpClient(HttpClient http) {
      this.http = http;
      return this;
    }

    /** How long one call keeps retrying through a failover before it fails (default 30 s). */
    public Builder failoverTime(Duration failoverTime) {
      this.failoverTime = failoverTime;
      return this;
    }

    /** How long one attempt waits for its answer (default 10 s). */
    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    Builder sleeper(Transport.Sleeper sleeper) {
      this.sleeper = sleeper;
      return this;
    }

    public VigilClient build() {
      if (nodes.isEmpty()) {
        throw new IllegalStateException("set the management server's address");
      }
      if ((credentials == null) == (tokenSource == null)) {
        throw new IllegalStateException(
            "set either the component's client credentials or a token source");
      }
      HttpClient owned = null;
      HttpClient client = http;
      if (client == null) {
        HttpClient.Builder b =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(3));
        if (ssl != null) {
          b.sslContext(ssl);
        }
        owned = b.build();
        client = owned;
      }
      SecureRandom random = new SecureRandom();
      Transport transport =
          new Transport(
              nodes,
              new Transport.Http(client, requestTimeout),
              failoverTime,
              Backoff.DEFAULT,
              sleeper,
              System::nanoTime,
              random::nextDouble);
      VigilClient vigil = new VigilClient(transport, client, owned, requestTimeout);
      if (credentials != null) {
        transport.tokens(
            new TokenCache(credentials.clientId(), credentials.secret(), System::nanoTime));
      } else {
        TokenSource source = tokenSource;
        transport.tokens(
            new Transport.Tokens() {
              @Override
              public String token(Transport t) {
                return source.token(vigil);
              }

              @Override
              public boolean invalidate(String refused) {
                return source.invalidate(refused);
              }
            });
      }
      return vigil;
    }
  }
}
